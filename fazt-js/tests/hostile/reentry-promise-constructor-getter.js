// expect: value [200, 0]
// A getter on Promise.prototype.constructor sees every promise a species
// lookup inspects. The promise a web fetch's op settles is never among
// them: the script never holds it, and no script code runs between the
// op and the call's answer (a call alone in flight).
const C = Promise;
const seen = [];
Object.defineProperty(Promise.prototype, "constructor", {
  get() { seen.push(this); return C; },
  configurable: true,
});
const a = fetch("BASE/x");
const known = new Set([a]);
const result = a.then((r) => [r.status, seen.filter((p) => !known.has(p)).length]);
known.add(result);
result
