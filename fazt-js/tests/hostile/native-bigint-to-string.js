// expect: timeout
// Turning a million-bit BigInt into decimal text is quadratic, in C.
(1n << 1000000n).toString().length
