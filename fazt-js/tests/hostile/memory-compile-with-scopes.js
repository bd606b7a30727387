// expect: oom
// Compiling code whose size grows with the product of two counts: every
// reference inside N `with` scopes tests each of them (here 200 × 50 001,
// about 840 MB of compiler output from 101 KB of source). The compiler's
// output stays under the heap limit: the run ends out of memory.
new Function("o", "with(o)".repeat(200) + "{" + "x,\n".repeat(50000) + "x}");
"compiled"
