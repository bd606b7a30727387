// expect: value -1
// Numeric collation is quadratic in a run of digits: 3e5 of them took
// minutes. A run over 64 digits is compared by code point.
const a = "1".repeat(3e5);
a.localeCompare(a + "1", undefined, { numeric: true })
