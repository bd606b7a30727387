// expect: value true
// The engine layer read this property of the error it formats and sized a
// vector by it: the process aborted.
const e = new Error("m");
Object.defineProperty(e, "__v82_wasm_stack_frames", { value: { length: 0x7fffffff } });
typeof e.stack === "string"
