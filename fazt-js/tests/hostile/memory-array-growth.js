// expect: oom
const a = []; while (true) a.push({ a: [1, 2, 3] });
