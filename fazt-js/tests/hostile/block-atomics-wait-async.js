// expect: uncaught Atomics.waitAsync
(async () => { await Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000).value; })()
