// expect: oom
// Reading an error's stack on a full heap: the engine layer ignored failed
// allocations while it built the call-site list for deno_core, whose
// callback read the gaps as call sites with unwrap() inside an engine
// callback (abort); deno_core's callback also allocates and unwraps. The
// list is whole or not made, and the callback is skipped without room.
function at(d) { return d > 0 ? at(d - 1) : new Error("e").stack; }
const keep = [];
const reserves = [];
for (let i = 0; i < 300; i++) reserves.push(new ArrayBuffer(8 * (i % 8 + 1)));
let size = 1 << 24;
while (size >= 512) {
  try { keep.push(new ArrayBuffer(size)); } catch (e) { size >>= 1; }
}
for (let len = 400; len >= 1; len = (len * 3) >> 2) {
  let fails = 0;
  while (fails < 2) { try { keep.push("y".repeat(len) + len); } catch (e) { fails++; } }
}
for (let i = 0; i < reserves.length; i++) {
  reserves[i] = null;
  try { at(5 + (i % 8) * 5); } catch (e) {}
}
