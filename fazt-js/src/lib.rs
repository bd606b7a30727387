//! `fazt.net.fetch` for serverless JavaScript: a deno_core op crate.
//!
//! # In scope
//! - The `fazt_net` deno_core [extension](fazt_net): fetch ops over
//!   `fazt-transport` and an ESM prelude that builds `fazt.net.fetch`, its
//!   response object and the `NetError` it throws, and the web's `fetch`
//!   with `Headers`, `Request`, `Response`, `AbortController` and
//!   `AbortSignal` (js/web.js). Embed it in any `JsRuntime` and put a
//!   [`FetchContext`] in the runtime's `OpState`.
//! - Concurrent calls: a web `fetch` is counted and checked on the
//!   script's thread ([`FetchContext::start`]) and waits for the end of
//!   the script's turn. Calls then in flight together wait for one of the
//!   run's [`RunSlots`] and are each made on a thread of their own
//!   ([`StartedCall::make`], through an async op) against the run's shared
//!   budget; a call alone in flight is made on the script's thread. In an
//!   isolated run the worker sends each call to the parent, which does the
//!   same.
//! - [`fetch`]: the op's body as a plain Rust function, engine-neutral and
//!   tested without an engine.
//! - The `fazt_sandbox` [extension](fazt_sandbox), loaded last: a global of
//!   the ECMAScript built-ins and the documented names only, every op the
//!   preludes do not use disabled ([`sandbox::allow_op`]), `Atomics.wait`
//!   refused, uncaught values described without running them.
//! - [`ScriptRunner`]: a script run in a sandboxed runtime with a fresh
//!   budget, a watchdog that terminates it at `exec_timeout_ms`
//!   (uncatchable; the event loop and each fetch get only the time left),
//!   a heap limit, and `console` output within `max_console_bytes`;
//!   [`ScriptPool`]: the same runs on worker threads that create each run's
//!   runtime before it is asked for.
//!
//! # Out of scope
//! Policy (fazt-policy), HTTP (fazt-transport), persistence (fazt-secrets),
//! and the rest of a JS runtime (`setTimeout`, modules, streams, `URL`,
//! other web APIs).
//!
//! # Central decision
//! The op returns plain data — a response record or an error record — and
//! the prelude builds the JS objects from it. The Rust side never touches
//! engine types beyond the op signature, so the same code serves both
//! deno_core backends: QuickJS-ng (feature `quickjs`, the default, builds
//! offline) and V8 (feature `v8`).
//!
//! Secrets never reach JS: the op returns the response, and the transport
//! injects secrets into the outgoing request only.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(all(feature = "quickjs", feature = "v8"))]
compile_error!("features `quickjs` and `v8` select deno_core backends and are mutually exclusive");

// The op2 macro expands to code that uses `unsafe` internally.
#[cfg(target_os = "linux")]
mod lockdown;
#[allow(unsafe_code, missing_docs, unreachable_pub)]
mod op;
mod pool;
mod runner;
pub mod sandbox;
mod snapshot;
mod watchdog;
#[allow(unsafe_code, missing_docs, unreachable_pub)]
mod web;
pub mod worker;

pub use op::{
    fetch, FetchArgs, FetchContext, FetchResponse, Refusals, RunDeadline, RunSlots, StartedCall,
};
pub use pool::ScriptPool;
pub use runner::{
    RunOutput, ScriptError, ScriptLocation, ScriptRunner, DEFAULT_HEAP_LIMIT, DEFAULT_SCRIPT_NAME,
    STUCK_AFTER,
};
pub use snapshot::{build_startup_snapshot, make_startup_snapshot, use_startup_snapshot};

/// The environment variable that turns off the QuickJS backend's on-disk
/// bytecode cache.
pub const NO_BYTECODE_CACHE_VAR: &str = "V82JSC_NO_BC_CACHE";

/// Turns off the QuickJS backend's on-disk bytecode cache for this process.
///
/// Left on, the backend writes the compiled bytecode of every distinct
/// script it runs to `$XDG_CACHE_HOME/v8x/quickjs-bytecode` (or
/// `~/.cache/...`) as files of mode 0644 and loads them back, unverified,
/// the next time it sees the same source: the directory grows with every
/// app script, holds the apps' source, and anyone who can write to it can
/// run arbitrary bytecode inside the host. Runtimes start ~5 ms slower
/// without it (the engine's own modules are parsed each time).
///
/// [`ScriptRunner::new`] calls this. Embedders who create runtimes
/// themselves call it at the top of `main`, before any runtime exists and
/// before other threads start: the engine reads the setting once, when it
/// first compiles, and it lives in the process environment, which must not
/// change while other threads may read it. Does nothing if
/// [`NO_BYTECODE_CACHE_VAR`] is already set, or on the V8 backend.
pub fn disable_bytecode_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if cfg!(feature = "quickjs") && std::env::var_os(NO_BYTECODE_CACHE_VAR).is_none() {
            std::env::set_var(NO_BYTECODE_CACHE_VAR, "1");
        }
    });
}

/// The engine options script runtimes are made with: no Temporal (V8's
/// `--no-harmony-temporal`; QuickJS gets a 440 KB polyfill otherwise, a
/// fifth of a fresh runtime), no `WebAssembly` (`--no-expose-wasm`; its
/// QuickJS shim was parsed for every runtime), and on QuickJS no Intl stub
/// (QuickJS has no `Intl`; the backend's stand-in answers with made-up
/// text). Scripts are promised none of them (see [`sandbox`]).
pub const ENGINE_FLAGS: &[&str] = &[
    "--no-harmony-temporal",
    "--no-expose-wasm",
    "--no-intl-stub",
];

/// Prepares the engine for script runs, once per process: turns off the
/// on-disk bytecode cache ([`disable_bytecode_cache`]) and sets
/// [`ENGINE_FLAGS`]. Call it at the top of `main`, before any runtime
/// exists and before other threads start; [`ScriptRunner::new`] calls it.
pub fn prepare_engine() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        disable_bytecode_cache();
        // The first element is the program name; flags the backend does
        // not know come back and are ignored (V8 has no Intl stub).
        let mut args = vec![String::new()];
        args.extend(ENGINE_FLAGS.iter().map(|f| f.to_string()));
        let _unrecognized = deno_core::v8_set_flags(args);
    });
}

deno_core::extension!(
    fazt_net,
    ops = [
        op::op_fazt_fetch,
        web::op_fazt_web_fetch,
        web::op_fazt_web_fetch_wait,
        web::op_fazt_web_fetch_abort,
        web::op_fazt_web_fetch_done,
        op::op_fazt_invalid_option,
        op::op_fazt_console,
        op::op_fazt_max_request_body,
        op::op_fazt_request_rules,
        op::op_fazt_timer_set,
        op::op_fazt_timer_wait,
        op::op_fazt_parse_url,
    ],
    esm_entry_point = "ext:fazt_net/prelude.js",
    esm = [dir "js", "prelude.js", "body.js", "web.js"],
    docs = "fazt.net.fetch: egress through the fazt policy and transport."
);

deno_core::extension!(
    fazt_sandbox,
    ops = [
        op::op_fazt_set_completion,
        op::op_fazt_seal_later,
        sandbox::op_fazt_refuse_imports
    ],
    esm_entry_point = "ext:fazt_sandbox/sandbox.js",
    esm = [dir "js", "sandbox.js"],
    options = { seal: sandbox::Seal },
    middleware = sandbox::allow_op,
    state = |state, options| state.put(options.seal),
    docs = "The script sandbox: a global of ECMAScript and the documented names only, and every op the preludes do not use disabled. Load it last; `init(Seal::OnLoad)` for a runtime created from scratch."
);
