// expect: value true
// deno_core formatted this 40 MiB header and aborted when the text did not
// fit in the heap; the sandbox formats stacks within bounds.
const m = "x".repeat(16 << 20);
const e = new Error(m);
e.name = m;
e.stack.length < 64 * 1024
