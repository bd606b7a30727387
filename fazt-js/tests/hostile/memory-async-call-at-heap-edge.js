// expect: oom
// Calling an async function on a full heap: when the reject function could
// not be made, the resolve function was freed and left in place, and the
// async call's failure path freed it again (SIGSEGV).
async function af() {}
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
  try { af(); } catch (e) {}
}
