// expect: result
(() => 1)
