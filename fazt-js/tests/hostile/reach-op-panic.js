// expect: uncaught ReferenceError
Deno.core.ops.op_panic("x")
