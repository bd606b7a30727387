// expect: value "none"
const inner = [];
try {
  fazt.net.fetch("BASE/x", { get method() { try { fazt.net.fetch("BASE/y"); } catch (e) { inner.push(e.code); } return "GET"; } });
} catch (e) { inner.push(e.name); }
inner.length > 0 ? "NetError" : "none"
