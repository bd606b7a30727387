// expect: value -1
// localeCompare normalizes both strings first: the same quadratic sort.
const m = "\u0301".repeat(1e6);
m.localeCompare(m + "b")
