// expect: uncaught Uncaught Error: a
const e = new Error("a"); e.stack;
const k = Reflect.ownKeys(e).find((s) => typeof s === "symbol");
e[k] = [1, "str", null, undefined, Symbol()];
throw e;
