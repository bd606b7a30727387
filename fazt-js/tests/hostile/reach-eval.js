// expect: value "ReferenceError"
try { eval("Deno.core.ops.op_panic(\"x\")"); "reached" } catch (e) { e.name }
