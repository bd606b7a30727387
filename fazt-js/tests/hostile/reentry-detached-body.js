// expect: value "done"
const buf = new ArrayBuffer(8);
const view = new Uint8Array(buf);
buf.transfer();
try { fazt.net.fetch("BASE/x", { method: "POST", body: view }); } catch {}
"done"
