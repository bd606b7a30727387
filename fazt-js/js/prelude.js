// fazt.net.fetch: the JS surface over the op_fazt_fetch op.
//
// The op returns plain data; this file turns it into the response object,
// or throws a NetError. It normalizes JS-only types (body as bytes, headers
// as pairs); every value check and every message is made in Rust.
import { core } from "ext:core/mod.js";

const ops = core.ops;
const METHOD_NAMES = ["get", "has", "getSetCookie", "entries", "keys"];

function throwOutcome(out) {
  const err = new Error(out.message);
  Object.defineProperty(err, "name", { value: "NetError", enumerable: true, writable: true, configurable: true });
  err.code = out.code;
  err.retryable = out.retryable === true;
  if (out.retryAfter !== null && out.retryAfter !== undefined) {
    err.retryAfter = out.retryAfter;
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
  constructor(pairs) {
    Object.defineProperty(this, "__pairs", { value: pairs, enumerable: false });
    for (const [name, value] of pairs) {
      if (METHOD_NAMES.includes(name) || Object.prototype.hasOwnProperty.call(this, name)) continue;
      Object.defineProperty(this, name, { value, enumerable: true, writable: false, configurable: false });
    }
  }
}

function all(headers, name) {
  const lower = String(name).toLowerCase();
  return headers.__pairs.filter((p) => p[0] === lower).map((p) => p[1]);
}

for (const [name, fn] of [
  ["get", function (name) {
    const values = all(this, name);
    return values.length === 0 ? null : values.join(", ");
  }],
  ["has", function (name) {
    return all(this, name).length > 0;
  }],
  ["getSetCookie", function () {
    return all(this, "set-cookie");
  }],
  ["entries", function () {
    return this.__pairs.map((p) => [p[0], p[1]]);
  }],
  ["keys", function () {
    return [...new Set(this.__pairs.map((p) => p[0]))];
  }],
]) {
  Object.defineProperty(Headers.prototype, name, { value: fn, enumerable: false });
}

class Response {
  constructor(out) {
    this.status = out.status;
    this.ok = out.status >= 200 && out.status < 300;
    this.statusText = out.statusText;
    this.url = out.url;
    this.redirected = out.redirected;
    // Built on first use: many callers only read the body.
    let headers = null;
    Object.defineProperty(this, "headers", {
      enumerable: true,
      get() {
        if (headers === null) headers = new Headers(out.headers);
        return headers;
      },
    });
    Object.defineProperty(this, "__body", { value: out.body, enumerable: false });
  }

  text() {
    return core.decode(this.__body);
  }

  json() {
    // A SyntaxError on bad JSON, as the web's Response.json() throws.
    return JSON.parse(this.text());
  }

  bytes() {
    return new Uint8Array(this.__body);
  }
}

function fetch(url, options) {
  if (typeof url !== "string") {
    return invalid("url", `expected a string, got ${describe(url)}`);
  }
  const o = options === undefined || options === null ? {} : options;
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
  const body = hasBody ? toBytes(o.body) : new Uint8Array(0);
  const args = {
    url,
    method: o.method ?? null,
    headers: toPairs(o.headers),
    timeout: o.timeout ?? null,
    redirect: o.redirect ?? null,
    auth: o.auth ?? null,
  };
  const out = ops.op_fazt_fetch(args, body, hasBody);
  if (out.kind === "error") throwOutcome(out);
  return new Response(out);
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
