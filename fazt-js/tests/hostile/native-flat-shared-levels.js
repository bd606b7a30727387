// expect: timeout
// An array holding one empty array twice at each of 40 levels flattens in
// 2**40 steps, in C, through the engine's fast path: past every limit.
let x = [];
for (let i = 0; i < 40; i++) x = [x, x];
x.flat(Infinity).length
