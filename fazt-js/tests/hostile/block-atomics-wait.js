// expect: uncaught Atomics.wait
Atomics.wait(new Int32Array(new ArrayBuffer(16)), 0, 0, 30000)
