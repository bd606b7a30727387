// expect: value true
const m = "x".repeat(16 << 20);
const o = { name: m, message: m };
Error.captureStackTrace(o);
o.stack.length < 64 * 1024
