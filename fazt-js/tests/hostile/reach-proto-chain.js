// expect: value []
const names = [];
for (let o = globalThis; o; o = Object.getPrototypeOf(o)) names.push(...Object.getOwnPropertyNames(o));
names.filter((n) => /v8x|^op_|Deno|bootstrap/.test(n))
