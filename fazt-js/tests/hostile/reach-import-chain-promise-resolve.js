// expect: value {"handed":[],"outcome":"rejected"}
// The engine layer chained deno_core's promise for a dynamic import to the
// script's with `Promise.resolve(d).then(...)`, looked up when the import
// ran: a replaced `Promise.resolve` was handed deno_core's own promise and
// the import's internal settling functions. The chain is made natively now.
const handed = [];
const original = Promise.resolve;
Promise.resolve = function (v) {
  handed.push(typeof v);
  return original.call(this, v);
};
const p = import("x");
Promise.resolve = original;
p.then(() => "imported", () => "rejected").then((outcome) => ({ handed, outcome }))
