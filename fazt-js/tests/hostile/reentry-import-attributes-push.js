// expect: value "rejected"
// The engine layer turned a dynamic import's attributes into a list with a
// JS helper that called `Array.prototype.push`; a replaced `push` gave
// deno_core a list of odd length, whose assertion panicked inside an engine
// callback (the process aborted). The list is built natively now.
Array.prototype.push = function (x) { this[this.length] = x; return this.length; };
import("./x.js", { with: { a: "b" } }).then(() => "imported", () => "rejected")
