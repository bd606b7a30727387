// expect: result
// One shared 1000-element array, 2000 times: 4 MB of JSON from a small heap.
const a = Array(1000).fill(0);
Array(2000).fill(a)
