// expect: value "rejected"
// deno_core copied an import's specifier with `unwrap` inside the engine's
// import callback; with the heap nearly full of the specifier, the copy
// failed and the process aborted. The sandbox refuses the import without
// reading it.
import("x".repeat(30 * 1024 * 1024)).then(() => "imported", () => "rejected")
