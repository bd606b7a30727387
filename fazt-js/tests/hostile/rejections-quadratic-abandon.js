// expect: uncaught (in promise) 0
// 40 000 unhandled rejections: the engine layer dropped each of deno_core's
// handles by a linear search of all of them, quadratic, in native code (7 s
// against a 5 s limit, abandoned). Its handles are keyed by address now.
for (let i = 0; i < 40000; i++) Promise.reject(0);
"ok";
