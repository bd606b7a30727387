// expect: timeout
// unshift moves every index of an array-like, in C.
Array.prototype.unshift.call({ length: 2 ** 53 - 10 }, 1)
