// expect: value true
// A Proxy in the prototype chain answers the engine's read, and only that.
const trap = new Proxy(Error.prototype, {
  get(target, key, receiver) {
    if (key === "__v82_wasm_stack_frames") return { length: 0x7fffffff };
    return Reflect.get(target, key, receiver);
  },
  has(target, key) {
    return key !== "__v82_wasm_stack_frames" && Reflect.has(target, key);
  },
});
const e = new Error("m");
Object.setPrototypeOf(e, trap);
typeof e.stack === "string"
