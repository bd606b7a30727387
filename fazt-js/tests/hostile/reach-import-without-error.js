// expect: value "rejected"
// A refused dynamic import is turned into an error by deno_core, which
// asks the engine for an `Error` made by the global constructor: with the
// global gone, that panicked inside an engine callback (the process
// aborted). The global cannot be removed.
try { globalThis.Error = undefined; } catch {}
try { delete globalThis.Error; } catch {}
import("x").then(() => "imported", () => "rejected")
