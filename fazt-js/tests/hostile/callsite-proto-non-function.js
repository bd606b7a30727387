// expect: value true
// As callsite-proto-getter-throws.js, with a method that is not a function.
let proto;
Error.prepareStackTrace = (e, cs) => { proto = Object.getPrototypeOf(cs[0]); return "x"; };
new Error("x").stack;
Error.prepareStackTrace = undefined;
const K = Symbol.for("v82jsc_private:deno_core::original_call_site");
const fake = { [K]: { getThis: 42 } };
let r; try { r = proto.getThis.call(fake); } catch (e) { r = e instanceof TypeError; } r
