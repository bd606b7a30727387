// expect: uncaught not extensible
Object.defineProperty(Object.prototype, "0", { configurable: true, set(v) { fazt.net.fetch("BASE/again"); } });
fazt.net.fetch("BASE/x")
