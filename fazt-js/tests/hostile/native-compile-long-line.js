// expect: value 400001
// The parser found the column of every identifier and property name by
// walking back to the start of its line: quadratic in a line's length, in
// native code no time limit reaches (this 800 KB line compiled for over a
// minute; the run was abandoned while its thread went on compiling). The
// line's start is remembered now.
const f = new Function("var x = 1; return [" + "x,".repeat(400000) + "x]");
f().length
