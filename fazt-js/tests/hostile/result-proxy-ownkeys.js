// expect: result
new Proxy({}, { ownKeys() { throw new Error("no keys"); } })
