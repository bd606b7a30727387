// expect: value "done"
try { fazt.net.fetch("BASE/x", { method: "POST", get body() { try { fazt.net.fetch("BASE/again"); } catch {} return "b"; } }); } catch {}
"done"
