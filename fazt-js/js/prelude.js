// fazt.net.fetch: the JS surface over the op_fazt_fetch op.
//
// The op returns plain data; this file turns it into the response object,
// or throws a NetError. It normalizes JS-only types (body as bytes, headers
// as pairs); every value check and every message is made in Rust.
//
// A script may replace any built-in, define getters on prototypes, and pass
// Proxies: the ops are taken here, once, and every option is read exactly
// once into a fresh object of primitives before an op is called, so no
// script code runs while an op converts its arguments (an op that re-enters
// itself that way gets a clean error, never a crash).
import { core } from "ext:core/mod.js";
import {
  BODY_NONE,
  describe,
  headersTooLarge,
  invalid,
  setBodyOps,
  throwOutcome,
  toBody,
} from "ext:fazt_net/body.js";
import { installWeb } from "ext:fazt_net/web.js";

const { op_fazt_fetch, op_fazt_console } = core.ops;
setBodyOps(core.ops);
installWeb(core.ops);
const ArrayIsArray = Array.isArray;
const ObjectKeys = Object.keys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectFreeze = Object.freeze;
const ObjectHasOwn = Object.hasOwn;
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;
const StringCtor = String;
const Uint8ArrayCtor = Uint8Array;
const ErrorCtor = Error;
const METHOD_NAMES = ["get", "has", "getSetCookie", "entries", "keys"];

function headerValue(v, option) {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return StringCtor(v);
  return invalid(option, `header values must be strings, got ${describe(v)}`);
}

// Headers as fresh [name, value] arrays of strings, in a fresh array.
function toPairs(headers) {
  const pairs = [];
  if (headers === undefined || headers === null) return pairs;
  if (ArrayIsArray(headers)) {
    const n = headers.length;
    for (let i = 0; i < n; i++) {
      const pair = headers[i];
      if (!ArrayIsArray(pair) || pair.length !== 2) {
        return invalid("headers", "expected [name, value] pairs");
      }
      const name = pair[0];
      const value = pair[1];
      if (typeof name !== "string") return invalid("headers", "expected [name, value] pairs");
      pairs[pairs.length] = [name, headerValue(value, "headers")];
    }
    return pairs;
  }
  if (typeof headers === "object") {
    const names = ObjectKeys(headers);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      pairs[pairs.length] = [StringCtor(name), headerValue(headers[name], "headers")];
    }
    return pairs;
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
      if (METHOD_NAMES.includes(name) || ObjectHasOwn(this, name)) continue;
      ObjectDefineProperty(this, name, { value: flat[i + 1], enumerable: true, writable: false, configurable: false });
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
  ObjectDefineProperty(Headers.prototype, name, { value: fn, enumerable: false });
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
    return this.#out[5];
  }

  json() {
    // A SyntaxError on bad JSON, as the web's Response.json() throws.
    return JSONParse(this.text());
  }

  bytes() {
    return new Uint8ArrayCtor(this.#out[6]);
  }
}

// `headers` is a plain enumerable property of a response, as a script sees
// it; JSON.stringify(response) includes it.
ObjectDefineProperty(Response.prototype, "toJSON", {
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

function outcome(out) {
  if (typeof out[0] === "string") throwOutcome(out);
  return new Response(out);
}

// Reads `key` of the options once: a getter runs exactly once.
function stringOption(o, key) {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") return invalid(key, `expected a string, got ${describe(v)}`);
  return v;
}

function fetch(url, options) {
  if (typeof url !== "string") {
    return invalid("url", `expected a string, got ${describe(url)}`);
  }
  if (options === undefined || options === null) {
    return outcome(op_fazt_fetch(url, null, "", BODY_NONE, 0));
  }
  const o = options;
  if (typeof o !== "object") return invalid("options", `expected an object, got ${describe(o)}`);
  const method = stringOption(o, "method");
  const redirect = stringOption(o, "redirect");
  const auth = stringOption(o, "auth");
  let timeout = o.timeout;
  if (timeout === undefined) timeout = null;
  if (timeout !== null && typeof timeout !== "number") {
    return invalid("timeout", `expected a number of milliseconds, got ${describe(timeout)}`);
  }
  const headers = toPairs(o.headers);
  const tooLarge = headersTooLarge(headers);
  if (tooLarge !== null) throwOutcome(tooLarge);
  const rawBody = o.body;
  const body = rawBody === undefined || rawBody === null
    ? [BODY_NONE, "", 0]
    : toBody(rawBody);
  // A fresh object without a prototype, holding primitives and fresh
  // arrays of strings: converting it runs no script code.
  const args = { __proto__: null, method, headers, timeout, redirect, auth };
  return outcome(op_fazt_fetch(url, args, body[1], body[0], body[2]));
}

// A console line is cut to what the op could keep at most before it leaves
// the engine, so a huge line is never copied out whole; once the op answers
// that the run's console budget is spent, nothing more is formatted.
const MAX_LINE_UNITS = 1024 * 1024;
let consoleOpen = true;

function formatOne(a) {
  if (typeof a === "string") return a;
  try {
    if (a instanceof ErrorCtor) return `${a.name}: ${a.message}`;
    const s = JSONStringify(a);
    return s === undefined ? StringCtor(a) : s;
  } catch {
    try {
      return StringCtor(a);
    } catch {
      return "[unprintable]";
    }
  }
}

function print(args) {
  if (!consoleOpen) return;
  let line = "";
  for (let i = 0; i < args.length; i++) {
    const part = formatOne(args[i]);
    line = i === 0 ? `${part}` : `${line} ${part}`;
    if (line.length > MAX_LINE_UNITS) break;
  }
  if (line.length > MAX_LINE_UNITS) line = line.slice(0, MAX_LINE_UNITS);
  consoleOpen = op_fazt_console(line);
}

const console = {};
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => print(args);
}

globalThis.console = console;
globalThis.fazt = ObjectFreeze({ net: ObjectFreeze({ fetch }) });
