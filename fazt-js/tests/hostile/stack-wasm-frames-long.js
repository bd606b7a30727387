// expect: value true
// Short of an allocation failure, a long list kept the engine's native loop
// busy where the watchdog cannot reach.
const e = new Error("m");
e.__v82_wasm_stack_frames = { length: 200000000 };
typeof e.stack === "string"
