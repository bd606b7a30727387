// expect: uncaught boom
// The engine layer's Message::get_stack_trace takes a raw pointer from this
// property, looked up through the prototypes of the thrown value. deno_core
// 0.413 never asks a message for its stack trace; this keeps it that way for
// a script's failures, which reach the host as strings.
String.prototype.__v8qjs_stack_ptr = 0x41414141;
Error.prototype.__v8qjs_stack_ptr = 0x41414141;
throw new Error("boom");
