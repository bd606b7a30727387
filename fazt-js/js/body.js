// What both fetches share: how a body and a refusal cross the op boundary.
//
// The op receives every body as a string: text as it is, bytes as a binary
// string (one character per byte). No buffer object is ever handed to an
// op, because the engine layer reads a buffer's geometry (buffer,
// byteOffset, byteLength, resizable) through properties a script can
// redefine. Types are recognized by their internal slots (never by
// `instanceof`, which a Proxy passes), through getters taken here, before
// any script runs.
// The ops, handed over by prelude.js (only an extension's entry point
// imports deno_core's ext:core).
let op_fazt_invalid_option;
let op_fazt_max_request_body;
// fazt-policy's request rules: [max header bytes, framing a header,
// forbidden methods] (op_fazt_request_rules).
export let requestRules;

export function setBodyOps(ops) {
  op_fazt_invalid_option = ops.op_fazt_invalid_option;
  op_fazt_max_request_body = ops.op_fazt_max_request_body;
  requestRules = ops.op_fazt_request_rules();
}

// The refusal record of headers too large to send, or null: they are
// measured here (UTF-16 units, never more than the bytes sent, plus the
// framing of each header, as fazt-policy counts them), before a script's
// strings (one huge string many times, or very many empty ones) are copied
// out of the engine. The call counts, as every refused call does.
export function headersTooLarge(pairs) {
  const max = requestRules[0];
  const framing = requestRules[1];
  let total = 0;
  for (let i = 0; i < pairs.length; i++) {
    total += pairs[i][0].length + pairs[i][1].length + framing;
    if (total > max) {
      return op_fazt_invalid_option("headers", `the request's headers are over ${max} bytes`);
    }
  }
  return null;
}
const ArrayIsArray = Array.isArray;
const ArrayBufferIsView = ArrayBuffer.isView;
const ObjectDefineProperty = Object.defineProperty;
const StringFromCharCode = String.fromCharCode;
const ReflectApply = Reflect.apply;
const ArrayCtor = Array;
const Uint8ArrayCtor = Uint8Array;
const ErrorCtor = Error;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const FunctionCall = Function.prototype.call;
export const uncurry = (fn) => FunctionCall.bind(fn);
export const viewByteLength = uncurry(getter(TypedArrayPrototype, "byteLength"));
const viewBuffer = uncurry(getter(TypedArrayPrototype, "buffer"));
const viewByteOffset = uncurry(getter(TypedArrayPrototype, "byteOffset"));
const dataViewByteLength = uncurry(getter(DataView.prototype, "byteLength"));
const dataViewBuffer = uncurry(getter(DataView.prototype, "buffer"));
const dataViewByteOffset = uncurry(getter(DataView.prototype, "byteOffset"));
const bufferByteLength = uncurry(getter(ArrayBuffer.prototype, "byteLength"));

// How the ops receive a body (see op_fazt_fetch in src/op.rs).
export const BODY_NONE = 0;
export const BODY_TEXT = 1;
export const BODY_BYTES = 2;
export const BODY_OVER_LIMIT = 3;

// The op's records are arrays (see Outcome in src/op.rs): a response is
// [status, statusText, url, redirected, [name, value, ...], text, bytes],
// an error [code, message, retryable, retryAfterMs | null].

// Puts an error record's fields on `err`: name "NetError", code,
// retryable, and retryAfter where known.
export function netErrorFields(err, out) {
  ObjectDefineProperty(err, "name", { value: "NetError", enumerable: true, writable: true, configurable: true });
  err.code = out[0];
  err.retryable = out[2] === true;
  if (out[3] !== null && out[3] !== undefined) {
    err.retryAfter = out[3];
  }
  return err;
}

export function throwOutcome(out) {
  throw netErrorFields(new ErrorCtor(out[1]), out);
}

export function invalid(option, reason) {
  throwOutcome(op_fazt_invalid_option(option, reason));
}

export function describe(v) {
  if (v === null) return "null";
  if (ArrayIsArray(v)) return "an array";
  return typeof v;
}

// The largest body the ops accept, asked for once: a larger one is refused
// by its size, before it is copied out of the engine.
let maxBody = -1;

function maxRequestBody() {
  if (maxBody < 0) maxBody = op_fazt_max_request_body();
  return maxBody;
}

// The bytes of an ArrayBuffer or a view, as a fresh Uint8Array over the
// same memory, or undefined if `v` is neither.
export function bytesOf(v) {
  if (ArrayBufferIsView(v)) {
    try {
      return new Uint8ArrayCtor(viewBuffer(v), viewByteOffset(v), viewByteLength(v));
    } catch {
      return new Uint8ArrayCtor(dataViewBuffer(v), dataViewByteOffset(v), dataViewByteLength(v));
    }
  }
  if (isArrayBuffer(v)) return new Uint8ArrayCtor(v);
  return undefined;
}

// `bytes` (a Uint8Array made by this file or web.js) as a body for the op.
export function bytesBody(bytes) {
  const size = viewByteLength(bytes);
  if (size > maxRequestBody()) return [BODY_OVER_LIMIT, "", size];
  return [BODY_BYTES, binaryString(bytes), size];
}

// A `fazt.net.fetch` body as [kind, string, size]: a string, a view or an
// ArrayBuffer; anything else is refused naming the option.
export function toBody(body) {
  if (typeof body === "string") {
    // UTF-16 units: never more than the UTF-8 bytes the op will send.
    if (body.length > maxRequestBody()) return [BODY_OVER_LIMIT, "", body.length];
    return [BODY_TEXT, body, body.length];
  }
  const bytes = bytesOf(body);
  if (bytes === undefined) {
    return invalid("body", `expected a string, Uint8Array or ArrayBuffer, got ${describe(body)}`);
  }
  return bytesBody(bytes);
}

const BINARY_CHUNK = 8192;

// `bytes` (a Uint8Array this file made) as one character per byte. Its
// length comes from the getter taken at start-up, and reading its elements
// or a fresh array's length runs no script code.
function binaryString(bytes) {
  const size = viewByteLength(bytes);
  let out = "";
  for (let start = 0; start < size; start += BINARY_CHUNK) {
    const end = start + BINARY_CHUNK < size ? start + BINARY_CHUNK : size;
    const codes = new ArrayCtor(end - start);
    for (let i = start; i < end; i++) codes[i - start] = bytes[i];
    out += ReflectApply(StringFromCharCode, null, codes);
  }
  return out;
}

function isArrayBuffer(v) {
  try {
    bufferByteLength(v);
    return true;
  } catch {
    return false;
  }
}
