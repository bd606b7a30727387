// expect: value 1
// 400 frames of 2 MiB each were copied out of the engine: 2.4 GiB RSS.
const src = "wasm://" + "x".repeat(1 << 20);
const row = [src, src, 0, 0, 0];
const rows = { length: 400 };
for (let i = 0; i < 400; i++) rows[i] = row;
Error.captureStackTrace({ __v82_wasm_stack_frames: rows });
1
