// expect: value 1
// The engine layer sized a vector by this length: the process aborted.
Error.captureStackTrace({ __v82_wasm_stack_frames: { length: 0x7fffffff } });
1
