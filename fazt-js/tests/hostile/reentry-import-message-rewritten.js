// expect: value "rejected"
// deno_core turned a refused dynamic import into an error whose `message`
// it read back with `unwrap` inside the engine's import callback; reading
// its `stack` ran the script's Error.prepareStackTrace, which could make
// `message` a number: the unwrap panicked there and the process aborted.
// Scripts have no dynamic import: the sandbox refuses it itself, before
// deno_core sees it.
Error.prepareStackTrace = (e) => { e.message = 42; return "s"; };
import("./x.js").then(() => "imported", () => "rejected")
