// expect: oom
// Compiling on a full heap: when the parser could not grow its list of
// labels it went on with label -1, and a `switch` with a `default`, a
// destructuring pattern and `for...of` indexed the list with it (writes and
// reads before the list: SIGSEGV). The parser's labels grow past the limit.
let src = "";
for (let j = 0; j < 40; j++) {
  src += "function s" + j + "(a){switch(a){default:}}\n";
  src += "function d" + j + "([a]){try{}catch([b]){}}\n";
  src += "async function o" + j + "(a){for (const x of a) {} for await (const y of a) {}}\n";
}
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
  try { (0, eval)(src); } catch (e) {}
}
