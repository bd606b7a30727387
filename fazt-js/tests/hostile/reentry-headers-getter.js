// expect: value "done"
const h = { get "x-a"() { try { fazt.net.fetch("BASE/again"); } catch {} return "v"; } };
try { fazt.net.fetch("BASE/x", { headers: h }); } catch {}
"done"
