// expect: value [0, false, false]
// The engine's private keys are neither listed, nor named with Symbol.for,
// nor handed to a Proxy trap.
let sites;
Error.prepareStackTrace = (e, cs) => { sites = cs; return "x"; };
new Error("x").stack;
Error.prepareStackTrace = undefined;
const listed = Reflect.ownKeys(sites[0]).filter((k) => typeof k === "symbol").length;
const K = Symbol.for("v82jsc_private:deno_core::original_call_site");
const named = Object.prototype.hasOwnProperty.call(sites[0], K);
let trapped = false;
const p = new Proxy({}, { get(t, k) { if (typeof k === "symbol" && String(k).includes("deno_core")) trapped = true; return undefined; } });
try { Object.getPrototypeOf(sites[0]).getFileName.call(p); } catch {}
[listed, named, trapped]
