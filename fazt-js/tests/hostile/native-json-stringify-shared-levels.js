// expect: timeout
// The same structure stringified: 2**40 values, in C.
let x = [1];
for (let i = 0; i < 40; i++) x = [x, x];
JSON.stringify(x).length
