// expect: uncaught Atomics.waitAsync
(async () => { await Atomics.waitAsync(new Int32Array(new ArrayBuffer(16)), 0, 0, 30000).value; })()
