// expect: value true
// DOMException captures its stack eagerly, through the engine's own
// captureStackTrace, while the object is built from the subclass.
class D extends DOMException {}
D.prototype.__v82_wasm_stack_frames = { length: 0x7fffffff };
typeof new D("m").stack === "string"
