// expect: uncaught (in promise) 1
// As rejection-callsite-evals-cast.js, with a call site that formats another
// stack while deno_core holds its source-map state: a double borrow, an abort.
const K = Symbol.for("v82jsc_private:deno_core::call_site_evals");
let armed = true;
const site = { getFileName: () => "f.js", getLineNumber() { if (armed) { armed = false; new Error("inner").stack; } return 1; }, getColumnNumber: () => 1 };
Object.defineProperty(Error.prototype, "cause", { configurable: true, get() {
  Object.defineProperty(this, K, { value: [site], writable: false, configurable: false });
  return undefined; } });
Promise.reject(1);
1
