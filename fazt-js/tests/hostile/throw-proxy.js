// expect: uncaught [object]
throw new Proxy({}, { get() { throw 1; } })
