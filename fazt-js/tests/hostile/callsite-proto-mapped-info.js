// expect: value true
// As callsite-proto-getter-throws.js, through the cached source-mapped
// location (another private key), an array whose index getter throws.
let proto;
Error.prepareStackTrace = (e, cs) => { proto = Object.getPrototypeOf(cs[0]); return "x"; };
new Error("x").stack;
Error.prepareStackTrace = undefined;
const K = Symbol.for("v82jsc_private:deno_core::original_call_site");
const M = Symbol.for("v82jsc_private:deno_core::source_mapped_call_site_info");
const arr = [];
Object.defineProperty(arr, 0, { get() { throw new Error("boom"); } });
const fake = { [K]: {}, [M]: arr };
let r; try { r = proto.getFileName.call(fake); } catch (e) { r = e instanceof TypeError; } r
