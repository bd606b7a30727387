// expect: value "debug,error,info,log,warn"
// A runtime restored from the snapshot got the engine's native
// console.trace added back when it was restored: a function that copies
// every argument into host memory, outside the heap limit and the console
// budget, and never checks the time limit.
Object.getOwnPropertyNames(console).sort().join()
