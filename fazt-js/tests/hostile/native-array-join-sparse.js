// expect: timeout
// The same unchecked loop, over the holes of a sparse array.
Array(2 ** 32 - 1).join("")
