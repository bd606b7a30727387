// expect: value "done"
const p = new Proxy({}, { get(t, k) { try { fazt.net.fetch("BASE/again"); } catch {} return undefined; } });
try { fazt.net.fetch("BASE/x", p); } catch {}
"done"
