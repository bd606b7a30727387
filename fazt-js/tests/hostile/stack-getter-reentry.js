// expect: value 1
// A getter of the error's name read the same error's stack while the engine
// formatted it: the nested read freed the call sites the outer one was still
// walking (use after free, SIGSEGV).
const e = new Error("x");
let d = 0;
Object.defineProperty(e, "name", { get() { if (d++ === 0) e.stack; return "N"; } });
Error.captureStackTrace(e);
e.stack;
1
