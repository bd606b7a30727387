// expect: value "ok"
// Typed-array geometry getters that lie: the op neither reads nor writes a
// buffer through them.
const proto = Object.getPrototypeOf(Uint8Array.prototype);
for (const name of ["byteLength", "byteOffset", "length"]) {
  Object.defineProperty(proto, name, { configurable: true, get() { return 1e9; } });
}
Object.defineProperty(proto, "buffer", { configurable: true, get() { return new ArrayBuffer(8); } });
const res = fazt.net.fetch("BASE/x", { method: "POST", body: new Uint8Array([1, 2]) });
res.text()
