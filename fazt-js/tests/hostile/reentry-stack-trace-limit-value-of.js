// expect: value {"calls":0,"frames":true}
// The engine converted Error.stackTraceLimit with the script's `valueOf`
// for every error it made: from inside a compile (a syntax error in `new
// Function`) the script's code ran in the middle of the parser. A limit
// that is not a number now means no frames, as V8 reads it.
let calls = 0;
Error.stackTraceLimit = { valueOf() { calls++; return 10; } };
try { new Function("@"); } catch {}
try { null.x; } catch {}
Error.stackTraceLimit = 10;
const frames = new Error("x").stack.includes("\n");
({ calls, frames })
