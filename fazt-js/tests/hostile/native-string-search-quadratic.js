// expect: timeout
// A search for a 1 MiB needle compares it at every position: quadratic,
// in C. (indexOf, includes, split and replaceAll search this way.)
const a = "a".repeat(1 << 21), b = "a".repeat(1 << 20) + "b";
[a.indexOf(b), a.includes(b), a.split(b).length, a.replaceAll(b, "").length]
