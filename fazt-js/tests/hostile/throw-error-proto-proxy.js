// expect: timeout
throw new Proxy({}, { getPrototypeOf() { return Error.prototype; }, get() { while (true) {} } })
