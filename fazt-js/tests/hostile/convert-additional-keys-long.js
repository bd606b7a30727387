// expect: uncaught Uncaught Error: boom
const e = new Error("boom");
const keys = [];
keys.length = 1 << 20;
e[Symbol.for("errorAdditionalPropertyKeys")] = keys;
throw e;
