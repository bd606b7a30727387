// expect: uncaught (in promise) 1
// An unhandled rejection made deno_core convert an Error of its own (its
// rejection processing called disabled ops); a `cause` getter on
// Error.prototype ran during that conversion and planted call sites under
// deno_core's private key, named with Symbol.for: the host panicked.
const K = Symbol.for("v82jsc_private:deno_core::call_site_evals");
Object.defineProperty(Error.prototype, "cause", { configurable: true, get() {
  Object.defineProperty(this, K, { value: [1], writable: false, configurable: false });
  return undefined; } });
Promise.reject(1);
1
