// expect: value "done"
Array.prototype.map = function () { try { fazt.net.fetch("BASE/again"); } catch {} return []; };
Array.isArray = () => { try { fazt.net.fetch("BASE/again"); } catch {} return true; };
try { fazt.net.fetch("BASE/x", { headers: [["a", "b"]] }); } catch {}
"done"
