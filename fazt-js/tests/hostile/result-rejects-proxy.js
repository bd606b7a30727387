// expect: uncaught [object]
(async () => { throw new Proxy({}, { get() { throw 1; } }); })()
