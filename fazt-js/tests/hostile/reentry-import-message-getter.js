// expect: value "rejected"
// As reentry-import-message-rewritten.js, with a `message` that throws.
Error.prepareStackTrace = (e) => {
  Object.defineProperty(e, "message", { get() { throw new Error("no"); } });
  return "s";
};
import("./x.js").then(() => "imported", () => "rejected")
