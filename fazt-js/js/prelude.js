// fazt.net.fetch: the JS surface over the op_fazt_fetch op.
//
// The op returns plain data; this file turns it into the response object,
// or throws a NetError. It normalizes JS-only types (body as bytes, headers
// as pairs); every value check and every message is made in Rust.
import { core } from "ext:core/mod.js";

const ops = core.ops;
const METHOD_NAMES = ["get", "has", "getSetCookie", "entries", "keys"];

// The op's records are arrays (see Outcome in src/op.rs): a response is
// [status, statusText, url, redirected, [name, value, ...], body], an error
// [code, message, retryable, retryAfterMs | null].
function throwOutcome(out) {
  const err = new Error(out[1]);
  Object.defineProperty(err, "name", { value: "NetError", enumerable: true, writable: true, configurable: true });
  err.code = out[0];
  err.retryable = out[2] === true;
  if (out[3] !== null && out[3] !== undefined) {
    err.retryAfter = out[3];
  }
  throw err;
}

function invalid(option, reason) {
  throwOutcome(ops.op_fazt_invalid_option(option, reason));
}

function toBytes(body) {
  if (typeof body === "string") return core.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) {
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  return invalid("body", `expected a string, Uint8Array or ArrayBuffer, got ${describe(body)}`);
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

function headerValue(v, option) {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return invalid(option, `header values must be strings, got ${describe(v)}`);
}

function toPairs(headers) {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) {
    return headers.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string") {
        return invalid("headers", "expected [name, value] pairs");
      }
      return [pair[0], headerValue(pair[1], "headers")];
    });
  }
  if (typeof headers === "object") {
    return Object.keys(headers).map((name) => [name, headerValue(headers[name], "headers")]);
  }
  return invalid("headers", `expected an object or [name, value] pairs, got ${describe(headers)}`);
}

class Headers {
  // Lowercase names as plain, enumerable properties holding the first
  // value; the methods are non-enumerable and always win over a header of
  // the same name (read such a header with get()).
  #flat;

  constructor(flat) {
    this.#flat = flat;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i];
      if (METHOD_NAMES.includes(name) || Object.prototype.hasOwnProperty.call(this, name)) continue;
      Object.defineProperty(this, name, { value: flat[i + 1], enumerable: true, writable: false, configurable: false });
    }
  }

  static values(headers, name) {
    const lower = String(name).toLowerCase();
    const flat = headers.#flat;
    const values = [];
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] === lower) values.push(flat[i + 1]);
    }
    return values;
  }

  static pairs(headers) {
    const flat = headers.#flat;
    const pairs = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
    return pairs;
  }
}

for (const [name, fn] of [
  ["get", function (name) {
    const values = Headers.values(this, name);
    return values.length === 0 ? null : values.join(", ");
  }],
  ["has", function (name) {
    return Headers.values(this, name).length > 0;
  }],
  ["getSetCookie", function () {
    return Headers.values(this, "set-cookie");
  }],
  ["entries", function () {
    return Headers.pairs(this);
  }],
  ["keys", function () {
    return [...new Set(Headers.pairs(this).map((p) => p[0]))];
  }],
]) {
  Object.defineProperty(Headers.prototype, name, { value: fn, enumerable: false });
}

class Response {
  // The op's record; the body and the headers are reachable only through
  // the methods and the `headers` getter.
  #out;
  #headers = null;

  constructor(out) {
    this.status = out[0];
    this.ok = out[0] >= 200 && out[0] < 300;
    this.statusText = out[1];
    this.url = out[2];
    this.redirected = out[3];
    this.#out = out;
  }

  // Built on first use: many callers only read the body.
  get headers() {
    if (this.#headers === null) this.#headers = new Headers(this.#out[4]);
    return this.#headers;
  }

  text() {
    return core.decode(this.#out[5]);
  }

  json() {
    // A SyntaxError on bad JSON, as the web's Response.json() throws.
    return JSON.parse(this.text());
  }

  bytes() {
    return new Uint8Array(this.#out[5]);
  }
}

// `headers` is a plain enumerable property of a response, as a script sees
// it; JSON.stringify(response) includes it.
Object.defineProperty(Response.prototype, "toJSON", {
  value: function () {
    return {
      status: this.status,
      ok: this.ok,
      statusText: this.statusText,
      url: this.url,
      redirected: this.redirected,
      headers: this.headers,
    };
  },
  enumerable: false,
});

const NO_BODY = new Uint8Array(0);

function outcome(out) {
  if (typeof out[0] === "string") throwOutcome(out);
  return new Response(out);
}

function fetch(url, options) {
  if (typeof url !== "string") {
    return invalid("url", `expected a string, got ${describe(url)}`);
  }
  if (options === undefined || options === null) {
    return outcome(ops.op_fazt_fetch(url, null, NO_BODY, false));
  }
  const o = options;
  if (typeof o !== "object") return invalid("options", `expected an object, got ${describe(o)}`);
  for (const key of ["method", "redirect", "auth"]) {
    if (o[key] !== undefined && o[key] !== null && typeof o[key] !== "string") {
      return invalid(key, `expected a string, got ${describe(o[key])}`);
    }
  }
  if (o.timeout !== undefined && o.timeout !== null && typeof o.timeout !== "number") {
    return invalid("timeout", `expected a number of milliseconds, got ${describe(o.timeout)}`);
  }
  const hasBody = o.body !== undefined && o.body !== null;
  const body = hasBody ? toBytes(o.body) : NO_BODY;
  const args = {
    method: o.method ?? null,
    headers: toPairs(o.headers),
    timeout: o.timeout ?? null,
    redirect: o.redirect ?? null,
    auth: o.auth ?? null,
  };
  return outcome(ops.op_fazt_fetch(url, args, body, hasBody));
}

function format(args) {
  return args
    .map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return `${a.name}: ${a.message}`;
      try {
        const s = JSON.stringify(a);
        return s === undefined ? String(a) : s;
      } catch {
        return String(a);
      }
    })
    .join(" ");
}

const console = {};
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => ops.op_fazt_console(format(args));
}

globalThis.console = console;
globalThis.fazt = Object.freeze({ net: Object.freeze({ fetch }) });
