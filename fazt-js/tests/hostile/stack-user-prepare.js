// expect: value ["custom", "function", true]
Error.prepareStackTrace = () => "custom";
const a = new Error("x").stack;
Error.prepareStackTrace = undefined;
[a, typeof Error.prepareStackTrace, new Error("y").stack.startsWith("Error: y")]
