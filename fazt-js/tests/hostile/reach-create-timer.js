// expect: uncaught ReferenceError
Deno.core.createTimer(() => {}, 1000)
