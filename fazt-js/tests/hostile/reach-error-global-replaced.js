// expect: value ["function", "function", "function", true]
// The engine layer and deno_core look up the global `Error` (and its
// kin) by name while the host works: deno_core reads
// `globalThis.Error.prepareStackTrace` for every stack (an `Error` without
// it made deno_core format a stack itself, running the script's getters
// and panicking on a huge one), and the engine makes host errors with the
// global constructors. None of these globals can be replaced.
try { globalThis.Error = {}; } catch {}
try { globalThis.TypeError = undefined; } catch {}
try { Object.defineProperty(globalThis, "RangeError", { value: 1 }); } catch {}
const e = new RangeError("m");
[typeof Error, typeof TypeError, typeof RangeError, typeof e.stack === "string"]
