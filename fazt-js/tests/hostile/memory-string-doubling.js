// expect: uncaught string too long
let s = "x"; while (true) s = s + s;
