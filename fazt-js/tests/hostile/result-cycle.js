// expect: result
const a = {}; a.a = a; a
