// expect: value true
// deno_core's call-site methods find the engine's call site under a
// private key; the engine layer made such keys with Symbol.for, so a script
// could build a fake call site whose getter threw: the host panicked inside
// a callback and aborted. Private keys are now private to the engine.
let proto;
Error.prepareStackTrace = (e, cs) => { proto = Object.getPrototypeOf(cs[0]); return "x"; };
new Error("x").stack;
Error.prepareStackTrace = undefined;
const K = Symbol.for("v82jsc_private:deno_core::original_call_site");
const fake = { [K]: { get getThis() { throw new Error("boom"); } } };
let r; try { r = proto.getThis.call(fake); } catch (e) { r = e instanceof TypeError; } r
