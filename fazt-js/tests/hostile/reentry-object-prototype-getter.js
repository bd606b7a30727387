// expect: uncaught not extensible
Object.defineProperty(Object.prototype, "method", { get() { try { fazt.net.fetch("BASE/again"); } catch {} return undefined; }, configurable: true });
Object.defineProperty(Object.prototype, "headers", { get() { return undefined; }, configurable: true });
try { fazt.net.fetch("BASE/x", {}); } catch {}
"done"
