// expect: value [400000, true]
// The engine sorted a run of combining marks by insertion, quadratic in its
// length, in C where the watchdog cannot reach: this took minutes.
const s = "\u0301\u0316".repeat(2e5).normalize();
[s.length, s.startsWith("\u0316")]
