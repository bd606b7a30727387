// expect: value "done"
const big = { s: "y".repeat(4 << 20) };
for (let i = 0; i < 20; i++) console.log(big, big, big);
"done"
