// expect: uncaught Uncaught
// The engine turned a `message` that is an object into text (calling the
// script's toString) while the sandbox read the stack to describe the
// failure; only string data properties are trusted now.
Error.stackTraceLimit = 0;
const e = new Error();
e.name = "";
e.message = { toString() { for (;;) {} } };
throw e;
