// expect: uncaught boom
fazt.net.fetch("BASE/x", { headers: new Proxy({}, { ownKeys() { throw new Error("boom"); } }) })
