// expect: timeout
// Sorting collects a sparse array's elements in the same kind of loop.
const a = [];
a.length = 2 ** 32 - 1;
a.sort();
1
