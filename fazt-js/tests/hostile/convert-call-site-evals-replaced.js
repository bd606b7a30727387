// expect: uncaught Uncaught Error: a
// deno_core keeps an error s call sites under a symbol a script can see and
// overwrite; converting the error then panicked the engine thread.
const e = new Error("a"); e.stack;
const k = Reflect.ownKeys(e).find((s) => typeof s === "symbol");
const arr = [1];
Object.defineProperty(arr, 0, { get() { throw new Error("x"); } });
e[k] = arr;
throw e;
