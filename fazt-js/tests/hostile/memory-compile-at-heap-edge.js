// expect: oom
// Compiling code on a full heap: the compiler did not survive an allocation
// failing halfway (the engine layer patched coverage records in place where
// a failed emit never wrote them, 4 bytes past the buffer's end; a failed
// push_scope was ignored and the matching pop left the scope list): heap
// corruption, SIGSEGV. The parser's code buffer and scope list now grow
// past the limit (they are linear in the source, and still counted).
let src = "";
for (let j = 0; j < 40; j++) src += "if (a > " + j + ") { return " + j + " }\n";
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
  try { new Function("a", src); } catch (e) {}
}
