// Conformance by difference: small cases over the web's Headers, Response,
// Request, AbortController, AbortSignal and fetch. tests/conformance.rs
// runs this file in Node (which ships the WHATWG classes) and through
// ScriptRunner, and compares the outputs case by case; a difference is a
// failure unless it is a documented deviation listed there.
//
// Outputs are data a script depends on; error messages differ between
// implementations, so an error is compared by its name.
const cases = [];
const test = (name, fn) => cases.push([name, fn]);
const threw = (fn) => {
  try {
    fn();
    return "no error";
  } catch (e) {
    return { threw: e.name };
  }
};
const rejects = async (p) => {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return { rejected: e.name };
  }
};
const tag = (v) => Object.prototype.toString.call(v);
const bytes = (u8) => Array.from(u8);

// --- Headers: construction and normalisation.
test("headers from a record", () => [...new Headers({ b: "2", a: "1" })]);
test("headers from pairs", () => [...new Headers([["b", "2"], ["a", "1"]])]);
test("headers from headers", () => [...new Headers(new Headers({ x: "1" }))]);
test("headers copy is independent", () => {
  const a = new Headers({ x: "1" });
  const b = new Headers(a);
  b.set("x", "2");
  return [a.get("x"), b.get("x")];
});
test("headers empty", () => [...new Headers()]);
test("headers from undefined", () => [...new Headers(undefined)]);
test("headers from null", () => threw(() => new Headers(null)));
test("headers from a string", () => threw(() => new Headers("a")));
test("headers from a number", () => threw(() => new Headers(1)));
test("headers pair of one", () => threw(() => new Headers([["a"]])));
test("headers pair of three", () => threw(() => new Headers([["a", "1", "2"]])));
test("headers pair not a sequence", () => threw(() => new Headers([1])));
test("names are lowercased", () => [...new Headers({ "X-Custom": "v" })]);
test("values are trimmed", () => new Headers({ a: " \t v \t " }).get("a"));
test("inner whitespace kept", () => new Headers({ a: "x  y\tz" }).get("a"));
test("number values", () => new Headers({ a: 1 }).get("a"));
test("undefined value", () => new Headers({ a: undefined }).get("a"));
test("latin-1 value", () => new Headers({ a: "\u00e9" }).get("a"));
test("value above latin-1", () => threw(() => new Headers({ a: "\u20ac" })));
test("name with a space", () => threw(() => new Headers({ "a b": "1" })));
test("empty name", () => threw(() => new Headers({ "": "1" })));
test("name with a colon", () => threw(() => new Headers([["a:", "1"]])));
test("value with a newline", () => threw(() => new Headers({ a: "x\ny" })));
test("value with a NUL", () => threw(() => new Headers({ a: "x\0y" })));
test("trailing newline trimmed", () => new Headers({ a: "x\r\n" }).get("a"));
test("token characters in names", () => [...new Headers({ "!#$%&'*+-.^_`|~": "1" })]);

// --- Headers: combining and methods.
test("get combines", () => {
  const h = new Headers();
  h.append("a", "1");
  h.append("A", "2");
  return h.get("a");
});
test("get missing", () => new Headers().get("a"));
test("get with an invalid name", () => threw(() => new Headers().get("a b")));
test("has is case-insensitive", () => new Headers({ a: "1" }).has("A"));
test("has missing", () => new Headers().has("x"));
test("set replaces all", () => {
  const h = new Headers([["a", "1"], ["a", "2"], ["b", "3"]]);
  h.set("A", "9");
  return [...h];
});
test("set adds", () => {
  const h = new Headers();
  h.set("a", "1");
  return [...h];
});
test("delete removes all", () => {
  const h = new Headers([["a", "1"], ["a", "2"], ["b", "3"]]);
  h.delete("A");
  return [...h];
});
test("delete missing", () => {
  const h = new Headers({ b: "1" });
  h.delete("a");
  return [...h];
});
test("append invalid value", () => threw(() => new Headers().append("a", "\n")));
test("set-cookie kept apart in iteration", () =>
  [...new Headers([["set-cookie", "a=1"], ["Set-Cookie", "b=2"], ["x", "1"]])]);
test("set-cookie combined by get", () =>
  new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"]]).get("set-cookie"));
test("getSetCookie", () => new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2, c=3"]]).getSetCookie());
test("getSetCookie empty", () => new Headers({ a: "1" }).getSetCookie());

// --- Headers: iteration.
test("iteration is sorted", () => [...new Headers([["c", "3"], ["a", "1"], ["b", "2"]])]);
test("iteration sorts by code unit", () => [...new Headers([["b", "1"], ["B-", "2"], ["a_", "3"], ["a-", "4"]])]);
test("keys", () => [...new Headers([["b", "1"], ["a", "2"], ["a", "3"]]).keys()]);
test("values", () => [...new Headers([["b", "1"], ["a", "2"], ["a", "3"]]).values()]);
test("entries", () => [...new Headers({ a: "1" }).entries()]);
test("forEach", () => {
  const seen = [];
  const h = new Headers([["b", "2"], ["a", "1"], ["a", "0"]]);
  h.forEach(function (value, name, headers) {
    seen.push([value, name, headers === h, this.t]);
  }, { t: "this" });
  return seen;
});
test("forEach needs a function", () => threw(() => new Headers().forEach(1)));
test("iterator is live", () => {
  const h = new Headers({ a: "1", c: "3" });
  const it = h.keys();
  const first = it.next().value;
  h.append("b", "2");
  return [first, it.next().value, it.next().value, it.next().done];
});
test("iterator tag", () => tag(new Headers().entries()));
test("iterator is iterable", () => {
  const it = new Headers({ a: "1" }).keys();
  return it[Symbol.iterator]() === it;
});
test("headers tag", () => tag(new Headers()));
test("headers spread into an object", () => Object.fromEntries(new Headers({ A: "1", b: "2" })));

// --- Response.
test("response defaults", () => {
  const r = new Response();
  return [r.status, r.ok, r.statusText, r.type, r.url, r.redirected, r.bodyUsed, [...r.headers]];
});
test("response with status", () => {
  const r = new Response("x", { status: 404, statusText: "Not Found" });
  return [r.status, r.ok, r.statusText];
});
test("response status 299 is ok", () => new Response(null, { status: 299 }).ok);
test("response status 300 is not ok", () => new Response(null, { status: 300 }).ok);
test("response status 199", () => threw(() => new Response(null, { status: 199 })));
test("response status 600", () => threw(() => new Response(null, { status: 600 })));
test("response 204 with a body", () => threw(() => new Response("x", { status: 204 })));
test("response 204 without a body", () => new Response(null, { status: 204 }).status);
test("response invalid statusText", () => threw(() => new Response(null, { statusText: "a\nb" })));
test("response text content type", () => new Response("x").headers.get("content-type"));
test("response bytes have no content type", () => new Response(new Uint8Array([1])).headers.get("content-type"));
test("response keeps a given content type", () =>
  new Response("x", { headers: { "Content-Type": "text/html" } }).headers.get("content-type"));
test("response headers from pairs", () => [...new Response(null, { headers: [["a", "1"]] }).headers]);
test("response text", async () => await new Response("h\u00e9llo").text());
test("response text of nothing", async () => await new Response().text());
test("response json", async () => await new Response('{"a":[1,2]}').json());
test("response bad json", async () => await rejects(new Response("{").json()));
test("response arrayBuffer", async () => bytes(new Uint8Array(await new Response("ab").arrayBuffer())));
test("response bytes", async () => bytes(await new Response("\u00e9").bytes()));
test("response body is single use", async () => {
  const r = new Response("x");
  const first = await r.text();
  return [first, r.bodyUsed, await rejects(r.text())];
});
test("response body used across methods", async () => {
  const r = new Response("{}");
  await r.json();
  return await rejects(r.arrayBuffer());
});
test("empty response can be read twice", async () => {
  const r = new Response();
  return [await r.text(), await r.text(), r.bodyUsed];
});
test("response from a number", async () => await new Response(123).text());
test("response from an object", async () => await new Response({}).text());
test("response from an ArrayBuffer is copied", async () => {
  const buf = new Uint8Array([1, 2]);
  const r = new Response(buf.buffer);
  buf[0] = 9;
  return bytes(new Uint8Array(await r.arrayBuffer()));
});
test("response from a view", async () => bytes(await new Response(new Uint8Array([5, 6, 7]).subarray(1)).bytes()));
test("utf-8 invalid byte", async () => await new Response(new Uint8Array([0x61, 0xff, 0x62])).text());
test("utf-8 truncated sequence", async () => await new Response(new Uint8Array([0xe2, 0x82])).text());
test("utf-8 overlong", async () => await new Response(new Uint8Array([0xc0, 0xaf])).text());
test("utf-8 surrogate bytes", async () => await new Response(new Uint8Array([0xed, 0xa0, 0x80])).text());
test("utf-8 four bytes", async () => await new Response(new Uint8Array([0xf0, 0x9f, 0x98, 0x80])).text());
test("utf-8 bom removed", async () => await new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])).text());
test("lone surrogate encoded", async () => bytes(await new Response("\ud800").bytes()));
test("surrogate pair encoded", async () => bytes(await new Response("\ud83d\ude00").bytes()));
test("Response.json", async () => {
  const r = Response.json({ a: 1 }, { status: 201 });
  return [r.status, r.headers.get("content-type"), await r.json()];
});
test("Response.json keeps a content type", () =>
  Response.json(1, { headers: { "content-type": "application/x" } }).headers.get("content-type"));
test("Response.json of undefined", () => threw(() => Response.json(undefined)));
test("Response.json of a BigInt", () => threw(() => Response.json(1n)));
test("Response.redirect", () => {
  const r = Response.redirect("https://a.test/x", 301);
  return [r.status, r.headers.get("location")];
});
test("Response.redirect default status", () => Response.redirect("https://a.test/").status);
test("Response.redirect bad status", () => threw(() => Response.redirect("https://a.test/", 200)));
test("Response.redirect relative", () => threw(() => Response.redirect("/x")));
test("Response.redirect headers immutable", () => threw(() => Response.redirect("https://a.test/").headers.set("a", "b")));
test("Response.error", () => {
  const r = Response.error();
  return [r.type, r.status, r.ok, r.statusText];
});
test("Response.error headers immutable", () => threw(() => Response.error().headers.append("a", "b")));
test("response clone", async () => {
  const a = new Response("x", { status: 201, headers: { h: "1" } });
  const b = a.clone();
  return [await a.text(), await b.text(), b.status, b.headers.get("h")];
});
test("response clone after use", async () => {
  const r = new Response("x");
  await r.text();
  return threw(() => r.clone());
});
test("response tag", () => tag(new Response()));
test("response body of nothing", () => new Response().body);
test("response body of text", () => new Response("x").body === null);

// --- Request.
test("request defaults", () => {
  const r = new Request("https://example.com");
  return [r.method, r.url, r.redirect, r.bodyUsed, [...r.headers]];
});
test("request url is serialized", () => new Request("https://EXAMPLE.com:443/a/./b/../c?x=1#f").url);
test("request relative url", () => threw(() => new Request("/x")));
test("request bad url", () => threw(() => new Request("http://")));
test("request url with credentials", () => threw(() => new Request("https://u:p@example.com/")));
test("request method normalized", () => new Request("https://a.test", { method: "post" }).method);
test("request method kept", () => new Request("https://a.test", { method: "Patch" }).method);
test("request forbidden method", () => threw(() => new Request("https://a.test", { method: "CONNECT" })));
test("request invalid method", () => threw(() => new Request("https://a.test", { method: "a b" })));
test("request GET with a body", () => threw(() => new Request("https://a.test", { body: "x" })));
test("request HEAD with a body", () => threw(() => new Request("https://a.test", { method: "HEAD", body: "x" })));
test("request body", async () => {
  const r = new Request("https://a.test", { method: "POST", body: "hi" });
  return [r.headers.get("content-type"), await r.text(), r.bodyUsed];
});
test("request json body", async () =>
  await new Request("https://a.test", { method: "PUT", body: '{"a":1}' }).json());
test("request headers", () =>
  new Request("https://a.test", { headers: { "X-A": "1" } }).headers.get("x-a"));
test("request redirect", () => new Request("https://a.test", { redirect: "manual" }).redirect);
test("request bad redirect", () => threw(() => new Request("https://a.test", { redirect: "x" })));
test("request from a request", () => {
  const a = new Request("https://a.test/x", { method: "DELETE", headers: { a: "1" } });
  const b = new Request(a);
  return [b.url, b.method, b.headers.get("a")];
});
test("request from a request with init", () => {
  const b = new Request(new Request("https://a.test/x", { headers: { a: "1" } }), { method: "PUT" });
  return [b.method, b.headers.get("a")];
});
test("request from a request takes its body", async () => {
  const a = new Request("https://a.test", { method: "POST", body: "x" });
  const b = new Request(a);
  return [a.bodyUsed, await b.text()];
});
test("request from a used request", async () => {
  const a = new Request("https://a.test", { method: "POST", body: "x" });
  await a.text();
  return threw(() => new Request(a));
});
test("request clone", async () => {
  const a = new Request("https://a.test", { method: "POST", body: "x" });
  const b = a.clone();
  return [await a.text(), await b.text(), b.method];
});
test("request signal", () => {
  const r = new Request("https://a.test");
  return [r.signal instanceof AbortSignal, r.signal.aborted];
});
test("request signal follows", () => {
  const c = new AbortController();
  const r = new Request("https://a.test", { signal: c.signal });
  const before = r.signal.aborted;
  c.abort("stop");
  return [before, r.signal.aborted, r.signal.reason];
});
test("request bad signal", () => threw(() => new Request("https://a.test", { signal: {} })));
test("request browser fields", () => {
  const r = new Request("https://a.test");
  return [r.mode, r.credentials, r.cache, r.referrer, r.integrity, r.keepalive, r.destination];
});
test("request needs an argument", () => threw(() => new Request()));
test("request tag", () => tag(new Request("https://a.test")));

// --- AbortController and AbortSignal.
test("signal starts clear", () => {
  const c = new AbortController();
  return [c.signal.aborted, c.signal.reason];
});
test("abort default reason", () => {
  const c = new AbortController();
  c.abort();
  const r = c.signal.reason;
  return [c.signal.aborted, r.name, r.message, r instanceof DOMException, r.code];
});
test("abort with a reason", () => {
  const c = new AbortController();
  c.abort({ why: 1 });
  return c.signal.reason;
});
test("abort twice keeps the first reason", () => {
  const c = new AbortController();
  c.abort("first");
  c.abort("second");
  return c.signal.reason;
});
test("abort listeners", () => {
  const c = new AbortController();
  const seen = [];
  c.signal.addEventListener("abort", (e) => seen.push(["listener", e.type, e.target === c.signal]));
  c.signal.onabort = (e) => seen.push(["onabort", e.type]);
  c.abort();
  c.abort();
  return seen;
});
test("abort event", () => {
  const c = new AbortController();
  let event;
  c.signal.addEventListener("abort", (e) => {
    event = [e.type, e.target === c.signal, e.currentTarget === c.signal, tag(e)];
  });
  c.abort();
  return event;
});
test("abort listener removed", () => {
  const c = new AbortController();
  const seen = [];
  const f = () => seen.push("f");
  c.signal.addEventListener("abort", f);
  c.signal.removeEventListener("abort", f);
  c.abort();
  return seen;
});
test("abort listener added twice runs once", () => {
  const c = new AbortController();
  let n = 0;
  const f = () => n++;
  c.signal.addEventListener("abort", f);
  c.signal.addEventListener("abort", f);
  c.abort();
  return n;
});
test("throwIfAborted", () => {
  const c = new AbortController();
  const before = threw(() => c.signal.throwIfAborted());
  c.abort("r");
  let thrown;
  try {
    c.signal.throwIfAborted();
  } catch (e) {
    thrown = e;
  }
  return [before, thrown];
});
test("AbortSignal.abort", () => {
  const s = AbortSignal.abort();
  return [s.aborted, s.reason.name];
});
test("AbortSignal.abort with a reason", () => AbortSignal.abort(42).reason);
test("AbortSignal.timeout", async () => {
  const s = AbortSignal.timeout(5);
  const before = s.aborted;
  await new Promise((resolve) => s.addEventListener("abort", resolve));
  return [before, s.aborted, s.reason.name, s.reason.message, s.reason instanceof DOMException];
});
test("AbortSignal.timeout order", async () => {
  const seen = [];
  const a = AbortSignal.timeout(30);
  const b = AbortSignal.timeout(5);
  await new Promise((resolve) => {
    a.addEventListener("abort", () => {
      seen.push("a");
      resolve();
    });
    b.addEventListener("abort", () => seen.push("b"));
  });
  return seen;
});
test("AbortSignal.timeout negative", () => threw(() => AbortSignal.timeout(-1)));
test("AbortSignal.any", () => {
  const a = new AbortController();
  const b = new AbortController();
  const s = AbortSignal.any([a.signal, b.signal]);
  const before = s.aborted;
  b.abort("b");
  return [before, s.aborted, s.reason];
});
test("AbortSignal.any of an aborted signal", () => AbortSignal.any([AbortSignal.abort("x")]).reason);
test("AbortSignal is not constructible", () => threw(() => new AbortSignal()));
test("signal tags", () => [tag(new AbortController()), tag(new AbortController().signal)]);

// --- fetch (no network: every case settles before a call is made).
test("fetch returns a promise", () => {
  const p = fetch("not a url");
  p.catch(() => {});
  return p instanceof Promise;
});
test("fetch a relative url", async () => await rejects(fetch("/x")));
test("fetch GET with a body", async () => await rejects(fetch("https://a.test", { body: "x" })));
test("fetch with an aborted signal", async () => {
  try {
    await fetch("https://a.test", { signal: AbortSignal.abort() });
    return "resolved";
  } catch (e) {
    return [e.name, e instanceof DOMException];
  }
});
test("fetch with an aborted signal and a reason", async () => {
  try {
    await fetch("https://a.test", { signal: AbortSignal.abort("mine") });
    return "resolved";
  } catch (e) {
    return e;
  }
});
test("fetch with a bad method", async () => await rejects(fetch("https://a.test", { method: "a b" })));
test("fetch with bad headers", async () => await rejects(fetch("https://a.test", { headers: [["a"]] })));

(async () => {
  const out = {};
  for (const [name, fn] of cases) {
    try {
      out[name] = { ok: await fn() };
    } catch (e) {
      out[name] = { threw: e === null || e === undefined ? String(e) : e.name };
    }
  }
  return out;
})();
