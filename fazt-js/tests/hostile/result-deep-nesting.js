// expect: result
let v = []; for (let i = 0; i < 200000; i++) v = [v]; v
