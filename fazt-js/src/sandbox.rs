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
//!
//! # Sealing
//! js/sandbox.js removes names from the global and registers its handlers
//! in a *seal*. A runtime created from scratch ([`Seal::OnLoad`]) is sealed
//! as the module loads. A runtime restored from a startup snapshot cannot
//! be: deno_core finds `Deno.core` on the global when it restores one, and
//! the engine its own helpers when it takes the snapshot. So the snapshot
//! is taken unsealed ([`Seal::ByHost`]), and [`seal`] seals each restored
//! runtime before anything else runs in it.

use deno_core::{op2, v8, JsRuntime, OpDecl};

/// The ops a sandboxed runtime keeps: the ones fazt's preludes call, and
/// the ones deno_core's own JS calls while it starts a runtime and runs its
/// event loop.
pub const ALLOWED_OPS: &[&str] = &[
    // fazt_net (js/prelude.js, js/web.js)
    "op_fazt_fetch",
    "op_fazt_web_fetch",
    "op_fazt_web_fetch_wait",
    "op_fazt_web_fetch_abort",
    "op_fazt_web_fetch_done",
    "op_fazt_timer_set",
    "op_fazt_timer_wait",
    "op_fazt_parse_url",
    "op_fazt_invalid_option",
    "op_fazt_console",
    "op_fazt_max_request_body",
    "op_fazt_request_rules",
    // fazt_sandbox (js/sandbox.js)
    "op_fazt_set_completion",
    "op_fazt_seal_later",
    "op_fazt_refuse_imports",
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

/// When js/sandbox.js seals a runtime's global; the option of
/// [`fazt_sandbox::init`](crate::fazt_sandbox::init).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seal {
    /// As the module loads: for a runtime created from scratch, such as an
    /// embedder's.
    OnLoad,
    /// When the host calls [`seal`]: for a runtime to be snapshotted. Every
    /// runtime restored from it must be sealed before it runs a script.
    ByHost,
}

/// The global name the unsealed sandbox leaves its seal under; the seal
/// removes it with the other names.
pub const SEAL_NAME: &str = "__faztSeal";

/// Why [`seal`] failed; the runtime must not run a script.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The global has no seal: the runtime has no `fazt_sandbox` extension
    /// with [`Seal::ByHost`], or it was sealed already.
    Missing,
    /// The seal threw (a global it could not remove): its message.
    Failed(String),
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Missing => write!(f, "the runtime has no sandbox seal ({SEAL_NAME})"),
            SealError::Failed(message) => write!(f, "the sandbox seal failed: {message}"),
        }
    }
}

impl std::error::Error for SealError {}

/// Seals a runtime whose sandbox was loaded with [`Seal::ByHost`] (one
/// restored from a startup snapshot): removes every name but ECMAScript's
/// and the documented ones from the global, and registers the sandbox's
/// handlers. Call it right after creating the runtime, before any script.
///
/// # Errors
/// [`SealError`]: the runtime must then be dropped.
pub fn seal(runtime: &mut JsRuntime) -> Result<(), SealError> {
    deno_core::scope!(scope, runtime);
    v8::tc_scope!(let scope, scope);
    let global = scope.get_current_context().global(scope);
    let name = v8::String::new(scope, SEAL_NAME).ok_or(SealError::Missing)?;
    let seal = global
        .get(scope, name.into())
        .and_then(|f| v8::Local::<v8::Function>::try_from(f).ok())
        .ok_or(SealError::Missing)?;
    let this = v8::undefined(scope).into();
    if seal.call(scope, this, &[]).is_some() {
        return Ok(());
    }
    let message = scope
        .exception()
        .map(|e| e.to_rust_string_lossy(scope))
        .unwrap_or_else(|| "terminated".to_string());
    Err(SealError::Failed(message))
}

/// The message a script's `import()` is refused with.
pub const IMPORT_REFUSED: &str = "import() is not available: a script is one file";

/// Takes `import()` from the runtime's scripts: the seal calls it. A
/// dynamic import is refused by the runtime's own callback, before
/// deno_core's: deno_core's copies the specifier, makes its promise and
/// reads its own error's `message` back with `unwrap`, inside an engine
/// callback that cannot unwind, where a script can make each fail (a
/// specifier filling the heap; a `message` rewritten by the script's
/// `Error.prepareStackTrace` while deno_core reads the error's stack), and
/// the process aborted. This callback reads nothing of the import and
/// unwraps nothing.
#[op2(nofast)]
pub(crate) fn op_fazt_refuse_imports(isolate: &mut v8::Isolate) {
    isolate.set_host_import_module_dynamically_callback(refuse_import);
    isolate.set_host_import_module_with_phase_dynamically_callback(refuse_import_with_phase);
}

/// A promise rejected with a `TypeError` saying [`IMPORT_REFUSED`], or
/// none if the heap cannot hold it (the engine then rejects the import
/// itself).
fn refuse_import<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _options: v8::Local<'s, v8::Data>,
    _referrer: v8::Local<'s, v8::Value>,
    _specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
    let resolver = v8::PromiseResolver::new(scope)?;
    let promise = resolver.get_promise(scope);
    let message = v8::String::new(scope, IMPORT_REFUSED)?;
    let error = v8::Exception::type_error(scope, message);
    resolver.reject(scope, error)?;
    Some(promise)
}

/// [`refuse_import`] for `import.source` and `import.defer`.
fn refuse_import_with_phase<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    options: v8::Local<'s, v8::Data>,
    referrer: v8::Local<'s, v8::Value>,
    specifier: v8::Local<'s, v8::String>,
    _phase: v8::ModuleImportPhase,
    attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
    refuse_import(scope, options, referrer, specifier, attributes)
}
