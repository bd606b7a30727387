// expect: uncaught Uncaught Error: boom
// deno_core sized a vector by this array s length: 4 294 967 295 entries
// aborted the process.
const e = new Error("boom");
const keys = [];
keys.length = 4294967295;
e[Symbol.for("errorAdditionalPropertyKeys")] = keys;
throw e;
