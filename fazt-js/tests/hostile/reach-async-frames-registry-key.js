// expect: value {"reads":0}
// The registry symbol the engine kept async stack frames under could be
// named by a script, which planted a getter for it and was called from
// inside the engine's stack bookkeeping (and could hand it any list).
let reads = 0;
for (const name of ["deno_core::call_site_evals", "skip_next_async_frame"]) {
  Object.defineProperty(Error.prototype, Symbol.for("v82jsc_private:" + name), {
    get() { reads++; return undefined; },
    set(v) { reads++; },
    configurable: true,
  });
}
(async () => {
  async function inner() { await null; throw new Error("x"); }
  async function outer() { await inner(); }
  try { await outer(); } catch (e) { String(e.stack); }
  try { await Promise.all([inner()]); } catch (e) { String(e.stack); }
  return { reads };
})()
