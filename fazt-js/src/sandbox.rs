//! The op allowlist of the script sandbox.
//!
//! [`fazt_sandbox`](crate::fazt_sandbox) installs [`allow_op`] as an op
//! middleware: every op of every extension in the runtime, deno_core's own
//! included, is disabled unless it is named in [`ALLOWED_OPS`]. A disabled
//! op throws an `Error` when called; it never reaches its Rust body. The
//! preludes keep the ops they use in their closures and the sandbox removes
//! `Deno` from the global, so a script reaches no op directly at all: the
//! allowlist is the second wall, for whatever path to `Deno.core.ops` a
//! future engine or deno_core version opens.

use deno_core::OpDecl;

/// The ops a sandboxed runtime keeps: the ones fazt's preludes call, and
/// the ones deno_core's own JS calls while it starts a runtime and runs its
/// event loop.
pub const ALLOWED_OPS: &[&str] = &[
    // fazt_net (js/prelude.js, js/web.js)
    "op_fazt_fetch",
    "op_fazt_web_fetch",
    "op_fazt_web_fetch_abort",
    "op_fazt_timer_set",
    "op_fazt_timer_wait",
    "op_fazt_parse_url",
    "op_fazt_invalid_option",
    "op_fazt_console",
    "op_fazt_max_request_body",
    "op_fazt_request_rules",
    // fazt_sandbox (js/sandbox.js)
    "op_fazt_set_completion",
    "op_set_format_exception_callback",
    // deno_core's ext:core, while it starts
    "op_get_ext_import_meta_proto",
    "op_set_captured_bootstrap",
    "op_get_extras_binding_object",
    // deno_core's ext:core, when a promise was rejected with no handler
    // (processTicksAndRejections): its microtask checkpoint, and the list
    // of rejections, which it hands to the sandbox's handler. Disabled,
    // they threw errors of deno_core's own, which deno_core then
    // converted, running a script's getters on `Error.prototype`.
    "op_run_microtasks",
    "op_drain_pending_rejections",
];

/// The op middleware: `op` as it is if [`ALLOWED_OPS`] names it, disabled
/// otherwise.
pub fn allow_op(op: OpDecl) -> OpDecl {
    if ALLOWED_OPS.contains(&op.name) {
        op
    } else {
        op.disable()
    }
}
