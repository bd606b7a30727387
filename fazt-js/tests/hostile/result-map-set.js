// expect: value [{},{}]
[new Map([[1, 2]]), new Set([1])]
