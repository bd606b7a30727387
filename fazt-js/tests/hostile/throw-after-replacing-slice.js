// expect: uncaught [truncated]
// The describer cuts long messages with a String.prototype.slice taken at
// start-up: replacing the global one changes nothing.
String.prototype.slice = () => { throw new Error("replaced"); };
throw new Error("y".repeat(20000));
