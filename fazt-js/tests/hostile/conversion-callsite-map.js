// expect: uncaught outer
// Replacing Array.prototype.map made the engine build stack call sites from
// the script s objects, which re-entered the host while it held a borrow.
const map = Array.prototype.map;
let armed = false;
const site = { getFileName: () => "f.js", getLineNumber() { if (armed) { armed = false; new Error("inner").stack; } return 1; }, getColumnNumber: () => 1 };
Array.prototype.map = function () {
  return this.length && Array.isArray(this[0]) && this[0].length === 10 ? map.call(this, () => site) : map.apply(this, arguments);
};
Array[Symbol.species];
const e = new Error("outer");
e.stack;
armed = true;
throw e;
