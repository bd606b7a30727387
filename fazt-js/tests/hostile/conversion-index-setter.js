// expect: uncaught not extensible
// An index setter on Array.prototype ran script code while an op converted
// its arguments and its result.
Object.defineProperty(Array.prototype, "0", { configurable: true, set(v) { fazt.net.fetch("BASE/again"); } });
fazt.net.fetch("BASE/x", { headers: { x: "y" } })
