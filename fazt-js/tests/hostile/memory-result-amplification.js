// expect: result
// One shared 1000-element array, 5000 times: 10 MB of JSON from a small heap.
const a = Array(1000).fill(0);
Array(5000).fill(a)
