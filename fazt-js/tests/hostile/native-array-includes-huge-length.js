// expect: timeout
// The engine looped over a script-chosen length in C, where it never
// checked for termination: this ran past every limit.
Array.prototype.includes.call({ length: 2 ** 40 }, 1)
