// expect: value "done"
const line = "x".repeat(8 << 20);
for (let i = 0; i < 40; i++) console.log(line);
"done"
