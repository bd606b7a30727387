// expect: value {"calls":0,"stack":"string"}
// The engine's async stack frames were kept under registry symbols it made
// with `globalThis.Symbol.for`, read when a stack was built: a replaced
// `Symbol.for` ran inside the engine's stack bookkeeping and chose the key
// it wrote (here `stack`, which then held the engine's call sites). The
// keys are private keys of the engine now.
let calls = 0;
const original = Symbol.for;
Symbol.for = function () { calls++; return "stack"; };
(async () => {
  async function inner() { await null; throw new Error("x"); }
  async function outer() { await inner(); }
  let stack;
  try { await outer(); } catch (e) { stack = e.stack; }
  Symbol.for = original;
  return { calls, stack: typeof stack };
})()
