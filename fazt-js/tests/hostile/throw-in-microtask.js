// expect: value 2
queueMicrotask(() => { throw new Proxy({}, { get() { throw 1; } }); }); 2
