// expect: uncaught not a function
// 60 references to one 16 MiB string (within the 64 MiB heap): the
// engine's console.trace copied each into host memory, ~2 GB.
const s = "a".repeat(2 ** 24);
console.trace(...new Array(60).fill(s));
