// expect: uncaught ReferenceError
Deno.core.print("raw bytes to the host\n")
