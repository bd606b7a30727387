// The web's fetch: `fetch`, `Headers`, `Request`, `Response`,
// `AbortController` and `AbortSignal`, in their WHATWG shapes, over the same
// policy, transport, budget and secrets as `fazt.net.fetch`.
//
// Deviations from the standard, each tested (tests/conformance): bodies are
// whole byte strings, not streams (`body` is null, there is no `Blob` or
// `FormData`); an abort listener receives a plain `{ type, target }` event;
// `redirect: "manual"` answers the 3xx itself, as `fazt.net.fetch` does,
// not an opaque response; `credentials`, `mode`, `cache` and the other
// browser options are accepted and have no effect.
//
// The op boundary is where the host is exposed: `op_fazt_web_fetch` gets
// strings, numbers and a prototype-less object of them, built here from
// this file's own records, so no script code runs while it converts them.
// Everything else here is the script's own business: it may tamper with
// these classes and only breaks its own calls.
import {
  BODY_NONE,
  bytesBody,
  bytesOf,
  headersTooLarge,
  netErrorFields,
  requestRules,
  uncurry,
  viewByteLength,
} from "ext:fazt_net/body.js";

// The ops, handed over by prelude.js (see installWeb).
let op_fazt_web_fetch;
let op_fazt_web_fetch_wait;
let op_fazt_web_fetch_abort;
let op_fazt_web_fetch_done;
let op_fazt_timer_set;
let op_fazt_timer_wait;
let op_fazt_parse_url;

const ArrayIsArray = Array.isArray;
const ArrayPrototypePush = uncurry(Array.prototype.push);
const ArrayPrototypeSort = uncurry(Array.prototype.sort);
const ArrayPrototypeSplice = uncurry(Array.prototype.splice);
const ArrayPrototypeJoin = uncurry(Array.prototype.join);
const ArrayPrototypeIndexOf = uncurry(Array.prototype.indexOf);
const StringPrototypeToLowerCase = uncurry(String.prototype.toLowerCase);
const StringPrototypeToUpperCase = uncurry(String.prototype.toUpperCase);
const StringPrototypeCharCodeAt = uncurry(String.prototype.charCodeAt);
const StringPrototypeSlice = uncurry(String.prototype.slice);
const StringFromCharCode = String.fromCharCode;
const StringCtor = String;
const NumberCtor = Number;
const NumberIsFinite = Number.isFinite;
const MathTrunc = Math.trunc;
const MathMax = Math.max;
const DateNow = Date.now;
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;
const ObjectDefineProperty = Object.defineProperty;
const ObjectDefineProperties = Object.defineProperties;
const ObjectFreeze = Object.freeze;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ReflectOwnKeys = Reflect.ownKeys;
const ReflectApply = Reflect.apply;
const PromiseCtor = Promise;
// Taken now: a script may replace Promise.resolve, reject and withResolvers.
const PromiseResolveStatic = Promise.resolve;
const PromiseRejectStatic = Promise.reject;
const PromiseResolve = (v) => ReflectApply(PromiseResolveStatic, PromiseCtor, [v]);
const PromiseReject = (e) => ReflectApply(PromiseRejectStatic, PromiseCtor, [e]);
const PromiseWithResolversStatic = Promise.withResolvers;
const PromiseWithResolvers = () => ReflectApply(PromiseWithResolversStatic, PromiseCtor, []);
const PromisePrototypeThen = uncurry(Promise.prototype.then);
const QueueMicrotask = globalThis.queueMicrotask;
const SymbolIterator = Symbol.iterator;
const SymbolToStringTag = Symbol.toStringTag;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const SyntaxErrorCtor = SyntaxError;
const Uint8ArrayCtor = Uint8Array;
const ArrayBufferCtor = ArrayBuffer;
const DOMExceptionCtor = globalThis.DOMException;
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// --- Text: UTF-8 both ways, as the web's TextEncoder and TextDecoder do.

// `s` as UTF-8 bytes; a lone surrogate becomes U+FFFD (USVString).
function encodeUTF8(s) {
  const n = s.length;
  const out = new Uint8ArrayCtor(n * 3);
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = StringPrototypeCharCodeAt(s, i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? StringPrototypeCharCodeAt(s, i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 0x3f);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return new Uint8ArrayCtor(out.buffer, 0, o).slice();
}

const DECODE_CHUNK = 8192;

// `bytes` decoded as the web's `text()` does: UTF-8 with a leading BOM
// removed and each maximal invalid subpart replaced by U+FFFD (the
// WHATWG UTF-8 decoder).
function decodeUTF8(bytes) {
  const n = viewByteLength(bytes);
  let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let out = "";
  let codes = [];
  const emit = (c) => {
    if (c > 0xffff) {
      c -= 0x10000;
      codes[codes.length] = 0xd800 + (c >> 10);
      codes[codes.length] = 0xdc00 + (c & 0x3ff);
    } else {
      codes[codes.length] = c;
    }
    if (codes.length >= DECODE_CHUNK) {
      out += ReflectApply(StringFromCharCode, null, codes);
      codes = [];
    }
  };
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      emit(b);
      i++;
      continue;
    }
    let need;
    let c;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      c = b & 0xf;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      c = b & 0x7;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      emit(0xfffd);
      i++;
      continue;
    }
    let j = i + 1;
    let ok = true;
    for (let k = 0; k < need; k++, j++) {
      const t = j < n ? bytes[j] : -1;
      if (t < lower || t > upper) {
        ok = false;
        break;
      }
      lower = 0x80;
      upper = 0xbf;
      c = (c << 6) | (t & 0x3f);
    }
    emit(ok ? c : 0xfffd);
    i = j;
  }
  return out + ReflectApply(StringFromCharCode, null, codes);
}

// --- Headers.

// RFC 9110 token characters.
function isToken(s) {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d ||
      c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
    if (!ok) return false;
  }
  return true;
}

// WebIDL ByteString: a string of characters up to U+00FF.
function byteString(v, what) {
  const s = StringCtor(v);
  for (let i = 0; i < s.length; i++) {
    if (StringPrototypeCharCodeAt(s, i) > 0xff) {
      throw new TypeErrorCtor(`${what}: ${JSONStringify(s)} is not a ByteString`);
    }
  }
  return s;
}

const isHTTPWhitespace = (c) => c === 0x09 || c === 0x0a || c === 0x0d || c === 0x20;

// A header value normalized (HTTP whitespace trimmed) and checked.
function headerValue(v) {
  const s = byteString(v, "header value");
  let a = 0;
  let b = s.length;
  while (a < b && isHTTPWhitespace(StringPrototypeCharCodeAt(s, a))) a++;
  while (b > a && isHTTPWhitespace(StringPrototypeCharCodeAt(s, b - 1))) b--;
  const value = StringPrototypeSlice(s, a, b);
  for (let i = 0; i < value.length; i++) {
    const c = StringPrototypeCharCodeAt(value, i);
    if (c === 0 || c === 0x0a || c === 0x0d) {
      throw new TypeErrorCtor(`${JSONStringify(value)} is an invalid header value`);
    }
  }
  return value;
}

// A header name lowercased and checked.
function headerName(v) {
  const s = byteString(v, "header name");
  if (!isToken(s)) throw new TypeErrorCtor(`${JSONStringify(s)} is an invalid header name`);
  return StringPrototypeToLowerCase(s);
}

const GUARD_NONE = 0;
const GUARD_IMMUTABLE = 1;

// Reach into the classes' private state; set by their static blocks.
let headersList;
let setGuard;
let signalCreate;
let signalAbort;
let responseState;
let requestState;
let requestParts;
let headersOf;

class Headers {
  // [name, value] pairs, names lowercased, in the order they were added.
  #list = [];
  #guard = GUARD_NONE;

  constructor(init = undefined) {
    if (init !== undefined) fillHeaders(this, init);
  }

  static {
    headersList = (h) => h.#list;
    headersOf = (list) => {
      const h = new Headers();
      h.#list = list;
      return h;
    };
    setGuard = (h, guard) => {
      h.#guard = guard;
    };
  }

  #mutable() {
    if (this.#guard === GUARD_IMMUTABLE) throw new TypeErrorCtor("Headers are immutable");
  }

  append(name, value) {
    const n = headerName(name);
    const v = headerValue(value);
    this.#mutable();
    ArrayPrototypePush(this.#list, [n, v]);
  }

  delete(name) {
    const n = headerName(name);
    this.#mutable();
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i][0] === n) ArrayPrototypeSplice(list, i, 1);
    }
  }

  get(name) {
    const n = headerName(name);
    const values = [];
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === n) ArrayPrototypePush(values, list[i][1]);
    }
    return values.length === 0 ? null : ArrayPrototypeJoin(values, ", ");
  }

  getSetCookie() {
    const values = [];
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === "set-cookie") ArrayPrototypePush(values, list[i][1]);
    }
    return values;
  }

  has(name) {
    const n = headerName(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === n) return true;
    }
    return false;
  }

  set(name, value) {
    const n = headerName(name);
    const v = headerValue(value);
    this.#mutable();
    const list = this.#list;
    let found = false;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== n) continue;
      if (found) {
        ArrayPrototypeSplice(list, i, 1);
        i--;
      } else {
        list[i] = [n, v];
        found = true;
      }
    }
    if (!found) ArrayPrototypePush(list, [n, v]);
  }

  forEach(callback, thisArg = undefined) {
    if (typeof callback !== "function") {
      throw new TypeErrorCtor("Headers.forEach: the callback is not a function");
    }
    for (let i = 0; ; i++) {
      const pairs = sortAndCombine(this.#list);
      if (i >= pairs.length) return;
      ReflectApply(callback, thisArg, [pairs[i][1], pairs[i][0], this]);
    }
  }

  entries() {
    return new HeadersIterator(this, ITER_ENTRIES);
  }

  keys() {
    return new HeadersIterator(this, ITER_KEYS);
  }

  values() {
    return new HeadersIterator(this, ITER_VALUES);
  }

  [SymbolIterator]() {
    return this.entries();
  }

  get [SymbolToStringTag]() {
    return "Headers";
  }
}

// The pairs a script iterates over: sorted by name, values of one name
// joined with ", ", except `set-cookie`, whose values stay apart.
// Whether a list of [name, value] pairs (names lowercased) has `name`.
function listHas(list, name) {
  for (let i = 0; i < list.length; i++) {
    if (list[i][0] === name) return true;
  }
  return false;
}

function sortAndCombine(list) {
  const names = [];
  for (let i = 0; i < list.length; i++) {
    if (ArrayPrototypeIndexOf(names, list[i][0]) < 0) ArrayPrototypePush(names, list[i][0]);
  }
  ArrayPrototypeSort(names, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const values = [];
    for (let j = 0; j < list.length; j++) {
      if (list[j][0] === name) ArrayPrototypePush(values, list[j][1]);
    }
    if (name === "set-cookie") {
      for (let j = 0; j < values.length; j++) ArrayPrototypePush(out, [name, values[j]]);
    } else {
      ArrayPrototypePush(out, [name, ArrayPrototypeJoin(values, ", ")]);
    }
  }
  return out;
}

function fillHeaders(headers, init) {
  if (init === null || (typeof init !== "object" && typeof init !== "function")) {
    throw new TypeErrorCtor("Headers: init must be an object, an iterable of pairs or a Headers");
  }
  const iterate = init[SymbolIterator];
  if (iterate !== undefined && iterate !== null) {
    if (typeof iterate !== "function") throw new TypeErrorCtor("Headers: init is not iterable");
    for (const pair of { [SymbolIterator]: () => ReflectApply(iterate, init, []) }) {
      if (pair === null || (typeof pair !== "object" && typeof pair !== "function")) {
        throw new TypeErrorCtor("Headers: each pair must be a sequence");
      }
      const items = [];
      for (const item of pair) ArrayPrototypePush(items, item);
      if (items.length !== 2) {
        throw new TypeErrorCtor("Headers: each pair must hold exactly a name and a value");
      }
      headers.append(items[0], items[1]);
    }
    return;
  }
  const keys = ReflectOwnKeys(init);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key === "symbol") throw new TypeErrorCtor("Headers: a record key cannot be a symbol");
    const desc = ObjectGetOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    headers.append(key, init[key]);
  }
}

const ITER_ENTRIES = 0;
const ITER_KEYS = 1;
const ITER_VALUES = 2;

class HeadersIterator {
  #headers;
  #kind;
  #index = 0;

  constructor(headers, kind) {
    this.#headers = headers;
    this.#kind = kind;
  }

  next() {
    const pairs = sortAndCombine(headersList(this.#headers));
    if (this.#index >= pairs.length) return { value: undefined, done: true };
    const pair = pairs[this.#index++];
    const value = this.#kind === ITER_KEYS ? pair[0] : this.#kind === ITER_VALUES ? pair[1] : pair;
    return { value, done: false };
  }

  get [SymbolToStringTag]() {
    return "Headers Iterator";
  }
}
Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
ObjectDefineProperty(HeadersIterator.prototype, SymbolIterator, {
  value: function () {
    return this;
  },
  writable: true,
  configurable: true,
});

// --- Timers: one op pending at a time, however many timers a script makes
// (they are entries of `timers`, in its heap).

const timers = [];
let waiting = false;

function schedule(ms, fn) {
  const due = DateNow() + ms;
  const entry = { due, fn };
  let i = timers.length;
  while (i > 0 && timers[i - 1].due > due) i--;
  ArrayPrototypeSplice(timers, i, 0, entry);
  if (i === 0) op_fazt_timer_set(ms);
  if (!waiting) {
    waiting = true;
    wait();
  }
}

async function wait() {
  try {
    while (timers.length > 0) {
      await op_fazt_timer_wait();
      const now = DateNow();
      while (timers.length > 0 && timers[0].due <= now) {
        const entry = ArrayPrototypeSplice(timers, 0, 1)[0];
        try {
          entry.fn();
        } catch (e) {
          QueueMicrotask(() => {
            throw e;
          });
        }
      }
      // A timer already due re-arms at 0 (a negative delay means none).
      op_fazt_timer_set(timers.length > 0 ? MathMax(0, timers[0].due - DateNow()) : -1);
    }
  } finally {
    waiting = false;
  }
}

// --- AbortController and AbortSignal.

let constructing = false;

function abortError() {
  return new DOMExceptionCtor("This operation was aborted", "AbortError");
}

class AbortSignal {
  #aborted = false;
  #reason = undefined;
  #listeners = [];
  #onabort = null;

  constructor() {
    if (!constructing) throw new TypeErrorCtor("Illegal constructor");
  }

  static #make() {
    constructing = true;
    try {
      return new AbortSignal();
    } finally {
      constructing = false;
    }
  }

  static {
    signalCreate = () => AbortSignal.#make();
    signalAbort = (signal, reason) => AbortSignal.#signalAbort(signal, reason);
  }

  static #signalAbort(signal, reason) {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined ? abortError() : reason;
    const event = ObjectFreeze({ type: "abort", target: signal, currentTarget: signal });
    const listeners = signal.#listeners;
    signal.#listeners = [];
    for (let i = 0; i < listeners.length; i++) {
      const l = listeners[i];
      try {
        if (typeof l === "function") ReflectApply(l, signal, [event]);
        else if (l !== null && typeof l === "object" && typeof l.handleEvent === "function") l.handleEvent(event);
      } catch (e) {
        QueueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  static abort(reason = undefined) {
    const signal = AbortSignal.#make();
    AbortSignal.#signalAbort(signal, reason);
    return signal;
  }

  static timeout(ms) {
    const n = NumberCtor(ms);
    if (!NumberIsFinite(n) || n < 0 || n > 9007199254740991) {
      throw new TypeErrorCtor("AbortSignal.timeout: milliseconds must be a non-negative number");
    }
    const signal = AbortSignal.#make();
    schedule(MathTrunc(n), () =>
      AbortSignal.#signalAbort(
        signal,
        new DOMExceptionCtor("The operation was aborted due to timeout", "TimeoutError"),
      ));
    return signal;
  }

  static any(signals) {
    const list = [];
    for (const s of signals) {
      if (!(s instanceof AbortSignal)) throw new TypeErrorCtor("AbortSignal.any: expected AbortSignals");
      ArrayPrototypePush(list, s);
    }
    const signal = AbortSignal.#make();
    for (let i = 0; i < list.length; i++) {
      if (list[i].#aborted) {
        AbortSignal.#signalAbort(signal, list[i].#reason);
        return signal;
      }
    }
    for (let i = 0; i < list.length; i++) {
      const source = list[i];
      ArrayPrototypePush(source.#listeners, () => AbortSignal.#signalAbort(signal, source.#reason));
    }
    return signal;
  }

  get aborted() {
    return this.#aborted;
  }

  get reason() {
    return this.#reason;
  }

  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }

  get onabort() {
    return this.#onabort;
  }

  set onabort(handler) {
    if (this.#onabort !== null) {
      const i = ArrayPrototypeIndexOf(this.#listeners, this.#onabort);
      if (i >= 0) ArrayPrototypeSplice(this.#listeners, i, 1);
    }
    this.#onabort = typeof handler === "function" ? handler : null;
    if (this.#onabort !== null) ArrayPrototypePush(this.#listeners, this.#onabort);
  }

  addEventListener(type, listener, options = undefined) {
    if (StringCtor(type) !== "abort" || listener === null || listener === undefined) return;
    if (ArrayPrototypeIndexOf(this.#listeners, listener) >= 0) return;
    const once = options !== null && typeof options === "object" && options.once === true;
    if (once) {
      const wrapped = (event) => {
        this.removeEventListener("abort", wrapped);
        return typeof listener === "function" ? ReflectApply(listener, this, [event]) : listener.handleEvent(event);
      };
      ArrayPrototypePush(this.#listeners, wrapped);
      return;
    }
    ArrayPrototypePush(this.#listeners, listener);
  }

  removeEventListener(type, listener) {
    if (StringCtor(type) !== "abort") return;
    const i = ArrayPrototypeIndexOf(this.#listeners, listener);
    if (i >= 0) ArrayPrototypeSplice(this.#listeners, i, 1);
  }

  get [SymbolToStringTag]() {
    return "AbortSignal";
  }
}

class AbortController {
  #signal = signalCreate();

  get signal() {
    return this.#signal;
  }

  abort(reason = undefined) {
    signalAbort(this.#signal, reason);
  }

  get [SymbolToStringTag]() {
    return "AbortController";
  }
}


// --- Bodies.

// A body: its bytes, and their text where it is known already (a fetched
// response's, decoded in Rust).
function extractBody(init) {
  if (typeof init === "string") {
    return { bytes: encodeUTF8(init), text: null, type: "text/plain;charset=UTF-8" };
  }
  const bytes = bytesOf(init);
  if (bytes !== undefined) {
    // A copy: later writes to the script's buffer do not change the body.
    return { bytes: bytes.slice(), text: null, type: null };
  }
  if (init instanceof Request || init instanceof Response) {
    throw new TypeErrorCtor("a Request or Response cannot be a body; use await r.arrayBuffer()");
  }
  return { bytes: encodeUTF8(StringCtor(init)), text: null, type: "text/plain;charset=UTF-8" };
}

// The body methods shared by Request and Response, given how to reach a
// body's record and its "used" flag.
function bodyMethods(proto, state) {
  // A body is used once read; a null body is never used (it reads as
  // empty every time). The whole body is here already, so `read` turns it
  // into what the method returns at once and settles with that.
  const consume = (self, read) => {
    const s = state(self);
    if (s.used) return PromiseReject(new TypeErrorCtor("Body has already been consumed"));
    if (s.body !== null) s.used = true;
    try {
      return PromiseResolve(read(s.body));
    } catch (e) {
      return PromiseReject(e);
    }
  };
  const text = (body) => {
    if (body === null) return "";
    if (body.text === null) body.text = decodeUTF8(body.bytes);
    return body.text;
  };
  const parseJSON = (body) => JSONParse(text(body));
  const emptyBytes = () => new Uint8ArrayCtor(0);
  ObjectDefineProperties(proto, {
    body: { get() { state(this); return null; }, configurable: true, enumerable: true },
    bodyUsed: { get() { return state(this).used; }, configurable: true, enumerable: true },
    text: {
      value: function textMethod() {
        return consume(this, text);
      },
      writable: true, configurable: true, enumerable: true,
    },
    json: {
      value: function json() {
        return consume(this, parseJSON);
      },
      writable: true, configurable: true, enumerable: true,
    },
    arrayBuffer: {
      value: function arrayBuffer() {
        return consume(this, (body) => (body === null ? new ArrayBufferCtor(0) : body.bytes.slice().buffer));
      },
      writable: true, configurable: true, enumerable: true,
    },
    bytes: {
      value: function bytes() {
        return consume(this, (body) => (body === null ? emptyBytes() : body.bytes.slice()));
      },
      writable: true, configurable: true, enumerable: true,
    },
  });
}

// --- Response.

const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];
const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
let responseRecord = null;

function isReasonPhrase(s) {
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff))) return false;
  }
  return true;
}

class Response {
  #type = "default";
  #url = "";
  #redirected = false;
  #status = 200;
  #statusText = "";
  #headers = null;
  // A fetched response's headers as the op's flat [name, value, ...] list,
  // made into #headers when first read: many callers read only the body.
  #flat = null;
  #state = { body: null, used: false };

  constructor(body = null, init = undefined) {
    // A response fetched by this file, built from the op's record.
    if (responseRecord !== null) {
      const out = responseRecord;
      responseRecord = null;
      this.#type = "basic";
      this.#status = out[0];
      this.#statusText = out[1];
      this.#url = out[2];
      this.#redirected = out[3];
      this.#flat = out[4];
      this.#state.body = { bytes: new Uint8ArrayCtor(out[6]), text: out[5], type: null };
      return;
    }
    this.#headers = new Headers();
    if (init !== undefined && init !== null && typeof init !== "object") {
      throw new TypeErrorCtor("Response: init must be an object");
    }
    const status = init?.status === undefined ? 200 : NumberCtor(init.status);
    const statusText = init?.statusText === undefined ? "" : byteString(init.statusText, "statusText");
    if (!(status >= 200 && status <= 599) || MathTrunc(status) !== status) {
      throw new RangeErrorCtor(`Response: status ${status} is not in the range 200 to 599`);
    }
    if (!isReasonPhrase(statusText)) throw new TypeErrorCtor("Response: invalid statusText");
    this.#status = status;
    this.#statusText = statusText;
    if (init?.headers !== undefined) fillHeaders(this.#headers, init.headers);
    if (body !== null && body !== undefined) {
      if (ArrayPrototypeIndexOf(NULL_BODY_STATUSES, status) >= 0) {
        throw new TypeErrorCtor(`Response: a ${status} response cannot have a body`);
      }
      const extracted = extractBody(body);
      if (extracted.type !== null && !this.#headers.has("content-type")) {
        ArrayPrototypePush(headersList(this.#headers), ["content-type", extracted.type]);
      }
      this.#state.body = extracted;
    }
  }

  static {
    responseState = (r) => r.#state;
  }

  static error() {
    const r = new Response();
    r.#type = "error";
    r.#status = 0;
    setGuard(r.#headers, GUARD_IMMUTABLE);
    return r;
  }

  static json(data, init = undefined) {
    const text = JSONStringify(data);
    if (text === undefined) throw new TypeErrorCtor("Response.json: the value is not JSON serializable");
    const r = new Response(text, init);
    const list = headersList(r.#headers);
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === "content-type" && list[i][1] === "text/plain;charset=UTF-8") {
        list[i] = ["content-type", "application/json"];
      }
    }
    return r;
  }

  static redirect(url, status = 302) {
    const parsed = op_fazt_parse_url(StringCtor(url));
    if (parsed === null) throw new TypeErrorCtor(`Response.redirect: ${JSONStringify(StringCtor(url))} is not a URL`);
    const code = NumberCtor(status);
    if (ArrayPrototypeIndexOf(REDIRECT_STATUSES, code) < 0) {
      throw new RangeErrorCtor(`Response.redirect: ${code} is not a redirect status`);
    }
    const r = new Response(null, { status: code });
    ArrayPrototypePush(headersList(r.#headers), ["location", parsed[0]]);
    setGuard(r.#headers, GUARD_IMMUTABLE);
    return r;
  }

  get type() {
    return this.#type;
  }

  get url() {
    return this.#url;
  }

  get redirected() {
    return this.#redirected;
  }

  get status() {
    return this.#status;
  }

  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }

  get statusText() {
    return this.#statusText;
  }

  get headers() {
    return this.#headersNow();
  }

  #headersNow() {
    if (this.#headers === null) {
      const h = new Headers();
      const list = headersList(h);
      const flat = this.#flat;
      for (let i = 0; i < flat.length; i += 2) ArrayPrototypePush(list, [flat[i], flat[i + 1]]);
      setGuard(h, GUARD_IMMUTABLE);
      this.#headers = h;
      this.#flat = null;
    }
    return this.#headers;
  }

  clone() {
    if (this.#state.used) throw new TypeErrorCtor("Response.clone: the body has already been consumed");
    const r = new Response();
    r.#type = this.#type;
    r.#url = this.#url;
    r.#redirected = this.#redirected;
    r.#status = this.#status;
    r.#statusText = this.#statusText;
    fillHeaders(r.#headers, this.#headersNow());
    if (this.#type !== "default") setGuard(r.#headers, GUARD_IMMUTABLE);
    const body = this.#state.body;
    r.#state.body = body === null ? null : { bytes: body.bytes, text: body.text, type: body.type };
    return r;
  }

  get [SymbolToStringTag]() {
    return "Response";
  }
}
bodyMethods(Response.prototype, (r) => responseState(r));

// --- Request.

const NORMALIZED_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
const REDIRECT_MODES = ["follow", "error", "manual"];

function parseRequestURL(input) {
  const parsed = op_fazt_parse_url(StringCtor(input));
  if (parsed === null) throw new TypeErrorCtor(`Failed to parse URL from ${StringCtor(input)}`);
  if (parsed[1]) throw new TypeErrorCtor("Request cannot be constructed from a URL that includes credentials");
  return parsed[0];
}

class Request {
  #method = "GET";
  #url;
  #headers;
  #redirect = "follow";
  #signal;
  #auth = null;
  #timeout = null;
  #state = { body: null, used: false };

  constructor(input, init = undefined) {
    if (arguments.length === 0) throw new TypeErrorCtor("Request: 1 argument required");
    const parts = requestParts(input, init);
    this.#url = parts.url;
    this.#method = parts.method;
    this.#redirect = parts.redirect;
    this.#auth = parts.auth;
    this.#timeout = parts.timeout;
    this.#headers = headersOf(parts.headers);
    this.#state.body = parts.body;
    // A request's own signal follows the one it was given.
    this.#signal = signalCreate();
    const signal = parts.signal;
    if (signal !== null) {
      if (signal.aborted) signalAbort(this.#signal, signal.reason);
      else signal.addEventListener("abort", () => signalAbort(this.#signal, signal.reason));
    }
  }

  static {
    requestState = (r) => r.#state;
    // What a request is made of, from the constructor's arguments, by the
    // constructor's rules: `fetch` calls this without making the object.
    // Taking the body of a Request `input` marks that body used.
    requestParts = (input, init) => {
      if (init !== undefined && init !== null && typeof init !== "object") {
        throw new TypeErrorCtor("Request: init must be an object");
      }
      const parts = {
        url: "",
        method: "GET",
        headers: null,
        redirect: "follow",
        signal: null,
        auth: null,
        timeout: null,
        body: null,
      };
      let inputBody = null;
      if (input instanceof Request) {
        parts.url = input.#url;
        parts.method = input.#method;
        parts.redirect = input.#redirect;
        parts.auth = input.#auth;
        parts.timeout = input.#timeout;
        parts.signal = input.#signal;
        parts.headers = headersList(new Headers(input.#headers));
        if (input.#state.body !== null && input.#state.used) {
          throw new TypeErrorCtor("Request: the input's body has already been consumed");
        }
        inputBody = input.#state.body;
      } else {
        parts.url = parseRequestURL(input);
      }
      const o = init ?? {};
      if (o.method !== undefined) {
        const m = byteString(o.method, "method");
        if (!isToken(m)) throw new TypeErrorCtor(`Request: ${JSONStringify(m)} is not a valid method`);
        const upper = StringPrototypeToUpperCase(m);
        if (ArrayPrototypeIndexOf(requestRules[2], upper) >= 0) {
          throw new TypeErrorCtor(`Request: ${JSONStringify(m)} is a forbidden method`);
        }
        parts.method = ArrayPrototypeIndexOf(NORMALIZED_METHODS, upper) >= 0 ? upper : m;
      }
      if (o.redirect !== undefined) {
        const r = StringCtor(o.redirect);
        if (ArrayPrototypeIndexOf(REDIRECT_MODES, r) < 0) {
          throw new TypeErrorCtor(`Request: ${JSONStringify(r)} is not a valid redirect mode`);
        }
        parts.redirect = r;
      }
      if (o.signal !== undefined) {
        if (o.signal !== null && !(o.signal instanceof AbortSignal)) {
          throw new TypeErrorCtor("Request: signal must be an AbortSignal");
        }
        parts.signal = o.signal;
      }
      if (o.auth !== undefined && o.auth !== null) parts.auth = StringCtor(o.auth);
      if (o.timeout !== undefined && o.timeout !== null) parts.timeout = NumberCtor(o.timeout);
      if (o.headers !== undefined) parts.headers = headersList(new Headers(o.headers));
      else if (parts.headers === null) parts.headers = [];
      let body = inputBody;
      if (o.body !== undefined && o.body !== null) body = extractBody(o.body);
      else if (o.body === null) body = null;
      if (body !== null && (parts.method === "GET" || parts.method === "HEAD")) {
        throw new TypeErrorCtor("Request with GET/HEAD method cannot have body.");
      }
      if (body !== null && body.type !== null && !listHas(parts.headers, "content-type")) {
        ArrayPrototypePush(parts.headers, ["content-type", body.type]);
      }
      parts.body = body;
      // Checked again at the end, as the web's constructor does: a getter
      // of init may have used the input's body meanwhile.
      if (inputBody !== null && body === inputBody) {
        if (input.#state.used) throw new TypeErrorCtor("Request: the input's body has already been consumed");
        input.#state.used = true;
      }
      return parts;
    };
  }

  get method() {
    return this.#method;
  }

  get url() {
    return this.#url;
  }

  get headers() {
    return this.#headers;
  }

  get redirect() {
    return this.#redirect;
  }

  get signal() {
    return this.#signal;
  }

  get cache() { return "default"; }
  get credentials() { return "same-origin"; }
  get destination() { return ""; }
  get integrity() { return ""; }
  get keepalive() { return false; }
  get mode() { return "cors"; }
  get referrer() { return "about:client"; }
  get referrerPolicy() { return ""; }
  get duplex() { return "half"; }

  clone() {
    if (this.#state.used) throw new TypeErrorCtor("Request.clone: the body has already been consumed");
    const r = new Request(this);
    // `new Request(this)` took this body; a clone leaves it usable.
    this.#state.used = false;
    return r;
  }

  get [SymbolToStringTag]() {
    return "Request";
  }
}
bodyMethods(Request.prototype, (r) => requestState(r));

// --- fetch.

// Numbers a run's calls, for op_fazt_web_fetch_abort.
let lastCall = 0;
// The op's body arguments for a request without one.
const NO_BODY = ObjectFreeze([BODY_NONE, "", 0]);

function fetch(input, init = undefined) {
  // The request's parts, by the Request constructor's rules, without the
  // object (nothing of it is reachable from the call).
  let call;
  try {
    call = requestParts(input, init);
  } catch (e) {
    return PromiseReject(e);
  }
  const signal = call.signal;
  if (signal !== null && signal.aborted) return PromiseReject(signal.reason);
  const body = call.body === null ? NO_BODY : bytesBody(call.body.bytes);
  const list = call.headers;
  const headers = [];
  for (let i = 0; i < list.length; i++) headers[i] = [list[i][0], list[i][1]];
  const tooLarge = headersTooLarge(headers);
  if (tooLarge !== null) return PromiseReject(netErrorFields(new TypeErrorCtor(tooLarge[1]), tooLarge));
  // A fresh object without a prototype, holding primitives and fresh
  // arrays of strings: converting it runs no script code. None at all for
  // a plain GET, as fazt.net.fetch passes none without options.
  const plain = call.method === "GET" && headers.length === 0 && call.timeout === null &&
    call.redirect === "follow" && call.auth === null;
  const args = plain ? null : {
    __proto__: null,
    method: call.method,
    headers,
    timeout: call.timeout,
    redirect: call.redirect,
    auth: call.auth,
  };
  const id = ++lastCall;
  // Settled by the op with the call's outcome record, or with null once
  // the call has been handed on to be made on a thread of its own.
  const { promise: made, resolve: settleMade } = PromiseWithResolvers();
  try {
    op_fazt_web_fetch(call.url, args, body[1], body[0], body[2], id, settleMade);
  } catch (e) {
    return PromiseReject(e);
  }
  const answered = (settle) => PromisePrototypeThen(made, (out) =>
    out !== null ? settle(out) : PromisePrototypeThen(op_fazt_web_fetch_wait(id), settle));
  if (signal === null) {
    return answered((out) => {
      op_fazt_web_fetch_done(id);
      return fetched(out);
    });
  }
  return new PromiseCtor((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      op_fazt_web_fetch_abort(id);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort);
    answered((out) => {
      op_fazt_web_fetch_done(id);
      signal.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      try {
        resolve(fetched(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

// The Response for the op's record, or the refusal it holds, thrown.
function fetched(out) {
  if (typeof out[0] === "string") throw netErrorFields(new TypeErrorCtor(out[1]), out);
  responseRecord = out;
  return new Response();
}

// Takes the ops and puts the web's names on the global.
export function installWeb(ops) {
  op_fazt_web_fetch = ops.op_fazt_web_fetch;
  op_fazt_web_fetch_wait = ops.op_fazt_web_fetch_wait;
  op_fazt_web_fetch_abort = ops.op_fazt_web_fetch_abort;
  op_fazt_web_fetch_done = ops.op_fazt_web_fetch_done;
  op_fazt_timer_set = ops.op_fazt_timer_set;
  op_fazt_timer_wait = ops.op_fazt_timer_wait;
  op_fazt_parse_url = ops.op_fazt_parse_url;
  for (const [name, value] of [
    ["fetch", fetch],
    ["Headers", Headers],
    ["Request", Request],
    ["Response", Response],
    ["AbortController", AbortController],
    ["AbortSignal", AbortSignal],
  ]) {
    ObjectDefineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
  }
}
