// expect: uncaught Atomics.wait
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000)
