// expect: value "done"
const pair = ["x-a", "v"];
Object.defineProperty(pair, 1, { get() { try { fazt.net.fetch("BASE/again"); } catch {} return "v"; } });
try { fazt.net.fetch("BASE/x", { headers: [pair] }); } catch {}
"done"
