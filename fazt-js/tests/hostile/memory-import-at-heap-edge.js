// expect: oom
// The heap filled to its limit, then an import() after each small release.
// deno_core's import callback copied the specifier and made its promise
// with `unwrap` (the process aborted when the heap could not hold them);
// with that callback gone, the engine's stack building freed a call site
// twice when the heap could not grow the list of call sites (SIGSEGV).
// The run ends out of memory.
const keep = [];
const reserves = [];
for (let i = 0; i < 400; i++) reserves.push(new ArrayBuffer(8 * (i % 8 + 1)));
let size = 1 << 24;
while (size >= 512) {
  try { keep.push(new ArrayBuffer(size)); } catch (e) { size >>= 1; }
}
// small fill: strings of various lengths (arena classes)
for (let len = 400; len >= 1; len = (len * 3) >> 2) {
  let fails = 0;
  while (fails < 2) { try { keep.push("y".repeat(len) + len); } catch (e) { fails++; } }
}
let tried = 0;
for (let i = 0; i < reserves.length; i++) {
  reserves[i] = null;
  try { import("./x" + (i & 1) + ".js"); tried++; } catch (e) {}
}
tried
