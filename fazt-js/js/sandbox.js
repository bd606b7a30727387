// The script's global: the ECMAScript built-ins and the documented names,
// nothing of deno_core or the engine.
//
// Runs after every other extension's JS (fazt_sandbox is the last extension
// of a ScriptRunner's runtime), so what the other preludes need is already
// held in their closures; this file deletes the rest. Everything it needs
// later is captured here, before the clean-up.
import { core } from "ext:core/mod.js";

const {
  op_fazt_set_completion,
  op_fazt_seal_later,
  op_fazt_refuse_imports,
  op_set_format_exception_callback,
} = core.ops;
const JSONStringify = JSON.stringify;
const TypeErrorCtor = TypeError;
const StringCtor = String;
const ErrorIsError = Error.isError;
const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
const ReflectGetPrototypeOf = Reflect.getPrototypeOf;
const ReflectOwnKeys = Reflect.ownKeys;
const ReflectDeleteProperty = Reflect.deleteProperty;
const ObjectDefineProperty = Object.defineProperty;
const ObjectPreventExtensions = Object.preventExtensions;
const ObjectHasOwn = Object.hasOwn;
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const PromisePrototype = Promise.prototype;
const FunctionPrototype = Function.prototype;
const SymbolSpecies = Symbol.species;
const RangeErrorCtor = RangeError;
const IndirectEval = eval;
const ReflectApply = Reflect.apply;
const StringSlice = String.prototype.slice;
const StringPrototypeSlice = (s, a, b) => ReflectApply(StringSlice, s, [a, b]);
const PromiseCtor = Promise;
const PromiseResolveStatic = Promise.resolve;
const PromisePrototypeThen = Promise.prototype.then;
const PromiseResolve = (v) => ReflectApply(PromiseResolveStatic, PromiseCtor, [v]);
const PromiseThen = (p, ok, err) => ReflectApply(PromisePrototypeThen, p, [ok, err]);
const StringSplit = String.prototype.split;
const StringIndexOf = String.prototype.indexOf;
const StringLastIndexOf = String.prototype.lastIndexOf;
const StringRepeat = String.prototype.repeat;
const NumberParseInt = Number.parseInt;
const SyntaxErrorPrototype = SyntaxError.prototype;
const ErrorStackGetter = Reflect.getOwnPropertyDescriptor(Error.prototype, "stack")?.get;

// ECMAScript (ECMA-262 and ECMA-402) globals the engine provides.
const ECMASCRIPT = [
  "AggregateError", "Array", "ArrayBuffer", "AsyncDisposableStack", "Atomics",
  "BigInt", "BigInt64Array", "BigUint64Array", "Boolean", "DataView", "Date",
  "DisposableStack", "Error", "EvalError", "FinalizationRegistry",
  "Float16Array", "Float32Array", "Float64Array", "Function", "Infinity",
  "Int16Array", "Int32Array", "Int8Array", "Intl" /* V8 only */, "Iterator", "JSON", "Map",
  "Math", "NaN", "Number", "Object", "Promise", "Proxy", "RangeError",
  "ReferenceError", "Reflect", "RegExp", "Set", "String",
  "SuppressedError", "Symbol", "SyntaxError", "TypeError", "URIError",
  "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap",
  "WeakRef", "WeakSet", "decodeURI", "decodeURIComponent", "encodeURI",
  "encodeURIComponent", "escape", "eval", "globalThis", "isFinite", "isNaN",
  "parseFloat", "parseInt", "undefined", "unescape",
];

// The documented names a script may use besides ECMAScript.
const DOCUMENTED = [
  "fazt", "console", "queueMicrotask", "atob", "btoa", "DOMException",
  "fetch", "Headers", "Request", "Response", "AbortController", "AbortSignal",
];

const KEEP = new Set([...ECMASCRIPT, ...DOCUMENTED]);

// An allowlist, not a denylist: a name a new deno_core or engine version
// adds (`Deno`, `__bootstrap`, `gc`, `__v8x*`, `performance`, `ShadowRealm`,
// `WebAssembly`, `Temporal` and its slot symbols today) is removed without
// anyone having to know it exists. `SharedArrayBuffer` goes too, as on the
// web without cross-origin isolation: no other agent can share it, and the
// engine counts its memory against the heap limit only late. A property
// that cannot be deleted makes the seal throw, and the runtime fails to
// start: it fails closed. The seal keeps the global's names this way, and
// the console's methods (below).
function keepOnly(object, keep, what) {
  for (const key of ReflectOwnKeys(object)) {
    if (keep.has(key)) continue;
    if (!ReflectDeleteProperty(object, key)) {
      throw new TypeErrorCtor(`cannot remove ${what}${String(key)}`);
    }
  }
}

// The console's methods are the prelude's, named here as the module loads
// (before any snapshot is taken). A runtime restored from a snapshot gets
// the engine's own console methods added back where the prelude has none
// (`trace`: a native that copies its arguments into host memory, outside
// the heap limit and the console budget); the seal removes them.
const CONSOLE_METHODS = new Set(ReflectOwnKeys(globalThis.console));

// The agent a script runs in cannot block (as on the web's main thread,
// ECMA-262 [[CanBlock]] false): a blocked thread would not see the
// execution time limit, which the engine enforces only while JS runs. No
// other agent exists to notify a waiter, so waitAsync is refused as well,
// and notify wakes no one (the engine's versions need helpers the clean-up
// above removed).
const AtomicsLoad = Atomics.load;
const atomics = {
  wait() {
    throw new TypeErrorCtor("Atomics.wait is not available: a script cannot wait");
  },
  waitAsync() {
    throw new TypeErrorCtor("Atomics.waitAsync is not available: a script cannot wait");
  },
  notify(typedArray, index) {
    // Checks the array and the index as notify does; no agent waits.
    AtomicsLoad(typedArray, index);
    return 0;
  },
};
function replaceAtomicsWaits() {
  for (const name of ["wait", "waitAsync", "notify"]) {
    ObjectDefineProperty(Atomics, name, {
      value: atomics[name],
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}

// How a thrown value is described: `Name: message` for an Error, the text
// of a primitive, `[object]` for anything else. It never calls into the
// value (no toString, no getters, no Proxy traps: only data properties of
// a real Error and its prototypes), so describing it runs no script code
// and cannot fail; the text is cut at MAX_DESCRIPTION units.
const MAX_DESCRIPTION = 16 * 1024;

function describe(e) {
  let text;
  switch (typeof e) {
    case "string":
      text = e;
      break;
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      text = StringCtor(e);
      break;
    case "symbol":
      text = "Symbol()";
      break;
    case "function":
      text = "[function]";
      break;
    default:
      if (e === null) {
        text = "null";
      } else if (!ErrorIsError(e)) {
        text = "[object]";
      } else {
        try {
          const name = cut(dataProperty(e, "name") ?? "Error");
          const message = cut(dataProperty(e, "message") ?? "");
          text = message === "" ? name : `${name}: ${message}`;
        } catch {
          text = "Error";
        }
      }
  }
  return cut(text);
}

function cut(text) {
  return text.length > MAX_DESCRIPTION ? `${StringPrototypeSlice(text, 0, MAX_DESCRIPTION)}... [truncated]` : text;
}

// A string data property of `o` or of its first prototypes; getters are
// not called.
function dataProperty(o, key) {
  for (let depth = 0; o !== null && depth < 8; depth++) {
    const desc = ReflectGetOwnPropertyDescriptor(o, key);
    if (desc !== undefined) {
      return typeof desc.value === "string" ? desc.value : undefined;
    }
    o = ReflectGetPrototypeOf(o);
  }
  return undefined;
}

// Only strings reach the host: deno_core reads an uncaught Error's
// properties, call sites and internal slots while it converts it, and a
// script can plant values there that make that conversion panic or abort.
// A script's failure therefore crosses as the string `describe` made, and
// the host's own description of an uncaught value is the same text.
//
// An exception thrown by a queueMicrotask callback is reported, as a
// browser reports it, on the console, and the run goes on.
//
// A promise rejected with no handler ends the run, as it ends a Deno or
// Node process: `Uncaught (in promise) <reason>`, described here (the
// reason is the script's value) so that deno_core only ever sees a string.
const consoleError = globalThis.console.error;
function installHandlers() {
  op_set_format_exception_callback((e) => `Uncaught ${describe(e)}`);
  core.setReportExceptionCallback((e) => consoleError(`Uncaught ${describe(e)}`));
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    throw `(in promise) ${failure(reason)}`;
  });
}

// The stack a script reads is formatted here, within bounds, instead of by
// deno_core (which aborts when the text does not fit in the heap): a
// script may still set its own Error.prepareStackTrace, and setting it to
// anything else restores this one.
const MAX_FRAMES = 32;
let userPrepareStackTrace;

function prepareStackTrace(error, callsites) {
  let out = describe(error);
  const n = callsites.length < MAX_FRAMES ? callsites.length : MAX_FRAMES;
  for (let i = 0; i < n; i++) {
    let frame;
    try {
      frame = cut(StringCtor(callsites[i]));
    } catch {
      frame = "<unknown>";
    }
    out += `\n    at ${frame}`;
  }
  return out;
}

function installPrepareStackTrace() {
  ObjectDefineProperty(Error, "prepareStackTrace", {
    get() {
      return userPrepareStackTrace ?? prepareStackTrace;
    },
    set(f) {
      userPrepareStackTrace = typeof f === "function" && f !== prepareStackTrace ? f : undefined;
    },
    enumerable: false,
    configurable: false,
  });
}

// The engine layer runs JS of its own while the host holds internal state:
// it builds stack-trace call sites with `rows.map(...)`, and it fills
// arrays (an op's result, those rows) by assignment. A script that
// replaced `map` or put an index accessor on an array's prototypes could
// run its code inside those steps and make the host re-enter itself (a
// double borrow, which aborts the process). So nothing can be added to
// Object.prototype or Array.prototype, and `map`, `constructor` and the
// species getter that `map` consults cannot be replaced. Existing
// properties stay writable, so assigning `toString` or `constructor` on
// ordinary objects keeps working. deno_core's async-op stub chains on a
// promise of its own with `catch`, whose species lookup reads
// Promise.prototype.constructor and Promise[Symbol.species]: a script that
// replaced either would be handed that promise, or would make the promise
// the op returns and settle it with an answer of its own while the call
// is in flight. So neither can be replaced either (subclasses of Promise
// keep their own), and nothing can be added to Promise.prototype (a setter
// there for the id deno_core stores on an op's promise was handed the
// promise). deno_core's async-op stub and the engine layer's own JS call
// functions through `call`, looked up on Function.prototype each time: a
// script that replaced it was handed deno_core's raw ops, which it could
// then call at will. So `call` cannot be replaced. The engine layer makes
// host errors and other values with global constructors it looks up by
// name at the time, and deno_core reads `globalThis.Error.prepareStackTrace`
// for every stack: a script that replaced or removed `Error` made deno_core
// format stacks itself (running the script's getters, panicking on a huge
// one) and the engine fail where the host expects a value (a panic inside
// an engine callback, which aborts the process). So those global bindings
// cannot be replaced or removed either.
const ENGINE_GLOBALS = [
  "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError",
  "AggregateError", "Object", "Function", "Array", "Promise", "Symbol", "RegExp", "Reflect",
  "Proxy", "Math", "Date", "ArrayBuffer", "DataView", "Map", "Set",
];

function fixEnginePaths() {
  for (const name of ENGINE_GLOBALS) {
    if (ObjectHasOwn(globalThis, name)) {
      ObjectDefineProperty(globalThis, name, { writable: false, configurable: false });
    }
  }
  ObjectPreventExtensions(ObjectPrototype);
  ObjectPreventExtensions(ArrayPrototype);
  ObjectDefineProperty(ArrayPrototype, "map", { writable: false, configurable: false });
  ObjectDefineProperty(ArrayPrototype, "constructor", { writable: false, configurable: false });
  ObjectDefineProperty(Array, SymbolSpecies, { configurable: false });
  ObjectDefineProperty(PromisePrototype, "constructor", { writable: false, configurable: false });
  ObjectDefineProperty(Promise, SymbolSpecies, { configurable: false });
  ObjectPreventExtensions(PromisePrototype);
  ObjectDefineProperty(FunctionPrototype, "call", { writable: false, configurable: false });
}

// The script's name and source, for the locations of its failures.
let scriptName = "script.js";
let scriptSource = "";
const MAX_STACK_LINES = 16;

// Whether `key` of `o` is a string data property, or absent, up its first
// prototypes: reading it, and turning it into text, runs no script code.
// A chain longer than that is not trusted.
function plain(o, key) {
  for (let depth = 0; depth < 8; depth++) {
    if (o === null) return true;
    const desc = ReflectGetOwnPropertyDescriptor(o, key);
    if (desc !== undefined) {
      return desc.get === undefined && desc.set === undefined &&
        (desc.value === undefined || typeof desc.value === "string");
    }
    o = ReflectGetPrototypeOf(o);
  }
  return false;
}

// A failure as the host shows it: `describe`'s text, then, for an error,
// the frames of its stack that are in the script (the engine names the
// script's code "<script>"; the sandbox's own frames are left out), at
// most MAX_STACK_LINES; for a syntax error, also the line it is on, with
// a caret under the column. As `describe`, it runs no script code: the
// stack is read only when the engine would format it from data properties
// with the sandbox's own prepareStackTrace (a script that set its own, or
// gave its error a `name` or `message` getter, gets the description alone).
function failure(e) {
  const text = describe(e);
  if (!ErrorIsError(e) || ErrorStackGetter === undefined || userPrepareStackTrace !== undefined) {
    return text;
  }
  try {
    if (!plain(e, "name") || !plain(e, "message")) return text;
  } catch {
    return text;
  }
  let stack;
  try {
    stack = ReflectApply(ErrorStackGetter, e, []);
  } catch {
    return text;
  }
  if (typeof stack !== "string") return text;
  const lines = ReflectApply(StringSplit, stack, ["\n"]);
  let frames = "";
  let first = null;
  let kept = 0;
  for (let i = 1; i < lines.length && kept < MAX_STACK_LINES; i++) {
    const line = lines[i];
    const at = ReflectApply(StringIndexOf, line, ["<script>:"]);
    if (at < 0) continue;
    const frame = cut(`${StringPrototypeSlice(line, 0, at)}${scriptName}:${StringPrototypeSlice(line, at + 9)}`);
    if (first === null) first = StringPrototypeSlice(line, at + 9);
    frames += `\n${frame}`;
    kept++;
  }
  if (first !== null && ReflectGetPrototypeOf(e) === SyntaxErrorPrototype) {
    frames += sourceLine(first);
  }
  return text + frames;
}

// For a frame's "LINE:COLUMN" (perhaps followed by ")"): the script's line
// and a caret under the column, or "".
function sourceLine(position) {
  const colon = ReflectApply(StringLastIndexOf, position, [":"]);
  const line = NumberParseInt(StringPrototypeSlice(position, 0, colon), 10);
  const column = NumberParseInt(StringPrototypeSlice(position, colon + 1), 10);
  if (!(line >= 1 && column >= 1)) return "";
  const text = ReflectApply(StringSplit, scriptSource, ["\n"])[line - 1];
  if (typeof text !== "string" || column > text.length + 1) return "";
  const shown = cut(text);
  return `\n${shown}\n${ReflectApply(StringRepeat, " ", [column - 1])}^`;
}

// The script runs here, as global code (an indirect eval: top-level
// declarations land on the global, the completion value is returned), and
// settles with its completion value, awaited if it is a promise or a
// thenable. What it throws, or rejects with, reaches the host as the
// string `failure` made.
function evaluate(source, name) {
  scriptName = typeof name === "string" ? name : scriptName;
  scriptSource = source;
  // The engine remembers the backtrace of a value thrown and not yet
  // caught by script code, and skips building one for the next throw while
  // it does: a runtime restored from the snapshot starts with one left
  // from its restoring, a fresh runtime without. Catching a throw here
  // forgets it, so every script starts from the same state.
  try {
    throw 0;
  } catch {
    // Nothing: the catch is the point.
  }
  let value;
  try {
    // The engine names the script's code "<script>" (QuickJS, patched);
    // V8 takes the name from the sourceURL comment.
    value = IndirectEval(`${source}\n//# sourceURL=<script>`);
  } catch (e) {
    throw failure(e);
  }
  return PromiseThen(PromiseResolve(value), undefined, (e) => {
    throw failure(e);
  });
}

// The completion value as JSON text, through the engine's JSON.stringify
// captured above (a script may replace the global one). `undefined` (a
// script ending in a statement) is null; anything else JSON cannot carry
// (a function, a symbol, a toJSON returning undefined) is a TypeError, like
// a cycle or a BigInt. Text longer than `maxUnits` UTF-16 units is a
// RangeError: it would be over max_result_bytes in any encoding, and is
// not copied out of the engine.
function complete(value, maxUnits) {
  try {
    if (value === undefined) return "null";
    const text = JSONStringify(value);
    if (typeof text !== "string") {
      throw new TypeErrorCtor(`a ${typeof value} cannot be represented as JSON`);
    }
    if (text.length > maxUnits) {
      throw new RangeErrorCtor(`the result is over max_result_bytes (${maxUnits} bytes)`);
    }
    return text;
  } catch (e) {
    throw describe(e);
  }
}

// The seal: everything above that changes the global or deno_core's state,
// and the registration of the two functions the host runs a script with.
// A runtime restored from a startup snapshot was snapshotted unsealed
// (deno_core finds `Deno.core` on the global when it restores, and the
// engine its own helpers), so the host seals each runtime right after
// creating it, before any script runs (sandbox::seal, through the name the
// op gives, which the seal removes with the other names). An embedder's runtime
// seals as this module loads.
function seal() {
  keepOnly(globalThis, KEEP, "global ");
  keepOnly(globalThis.console, CONSOLE_METHODS, "console.");
  replaceAtomicsWaits();
  installHandlers();
  installPrepareStackTrace();
  fixEnginePaths();
  op_fazt_refuse_imports();
  op_fazt_set_completion(evaluate, complete);
}

const sealName = op_fazt_seal_later();
if (sealName === null) {
  seal();
} else {
  ObjectDefineProperty(globalThis, sealName, { value: seal, configurable: true });
}
