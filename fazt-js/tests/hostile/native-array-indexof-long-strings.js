// expect: timeout
// indexOf over a fast array compares 8 MiB strings that differ in their
// last character, 1e5 times, in C.
const a = "a".repeat(8 << 20), b = "a".repeat((8 << 20) - 1) + "b";
new Array(1e5).fill(a).indexOf(b)
