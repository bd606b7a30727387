// expect: value true
// Planted on Error.prototype, the property reached every error's stack.
Error.prototype.__v82_wasm_stack_frames = { length: 0x7fffffff };
const e = new TypeError("m");
typeof e.stack === "string"
