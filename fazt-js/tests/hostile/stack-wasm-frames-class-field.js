// expect: value true
// A class field is defined on the instance, past any setter a prelude could
// put on the prototypes.
class E extends Error {
  __v82_wasm_stack_frames = { length: 0x7fffffff };
}
typeof new E("m").stack === "string"
