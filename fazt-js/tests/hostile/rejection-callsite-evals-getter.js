// expect: uncaught (in promise) 1
// As rejection-callsite-evals-cast.js, with call sites whose index getter throws.
const K = Symbol.for("v82jsc_private:deno_core::call_site_evals");
const frames = [];
Object.defineProperty(frames, 0, { get() { throw new Error("no frame"); } });
Object.defineProperty(Error.prototype, "cause", { configurable: true, get() {
  Object.defineProperty(this, K, { value: frames, writable: false, configurable: false });
  return undefined; } });
Promise.reject(1);
1
