//! [`ScriptRunner`]: one script run in a fresh runtime, with a time limit,
//! a heap limit, a fresh network budget, and captured console output.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deno_core::{serde_v8, v8, JsRuntime, RuntimeOptions};
use fazt_policy::Limits;
use fazt_transport::EgressClient;
use serde::{Deserialize, Serialize};

use crate::op::{Completion, Console, FetchContext, RunDeadline};
use crate::worker::RemoteFetch;

/// Default heap limit for a run.
pub const DEFAULT_HEAP_LIMIT: usize = 64 * 1024 * 1024;

/// Heap granted once past the limit, for the run to unwind: the most a run
/// can use is its heap limit plus this (plus the engine's own headroom of an
/// eighth of the limit).
const OOM_UNWIND_MARGIN: usize = 8 * 1024 * 1024;

/// Runs scripts for apps.
///
/// Every run gets a new runtime: nothing a script leaves on `globalThis`
/// can reach the next run, and a runtime that was terminated or ran out of
/// memory is dropped with its run.
#[derive(Clone)]
pub struct ScriptRunner {
    client: EgressClient,
    limits: Limits,
    heap_limit: usize,
    /// The worker executable, in isolated mode.
    isolated: Option<PathBuf>,
    /// The name a script's stack frames and failures show.
    script_name: String,
    /// Whether runtimes are restored from the startup snapshot.
    snapshot: bool,
}

/// The name of a script whose runner was not given one.
pub const DEFAULT_SCRIPT_NAME: &str = "script.js";

/// Where a script failed: the file (the runner's script name), and the
/// line and column, from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptLocation {
    /// The script's name.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    /// The script's completion value as JSON (after awaiting it, if it is
    /// a promise), or why the run failed.
    pub result: Result<serde_json::Value, ScriptError>,
    /// Lines written with `console.*`, in order, within
    /// `max_console_bytes` (each line counting its text and one byte for
    /// its line break): a run that writes more ends its output with a
    /// `[console output truncated ...]` line.
    pub console: Vec<String>,
    /// `fetch` calls made (refused ones included).
    pub calls: u32,
    /// The refusals the run's calls met, caught by the script or not, the
    /// newest 32: their hosts, rules and limits, for a host to explain.
    #[serde(default)]
    pub refusals: Vec<fazt_policy::NetError>,
}

impl RunOutput {
    /// The newest refusal the run's calls met whose message is `message`
    /// (a script only ever sees a refusal's text).
    pub fn refusal(&self, message: &str) -> Option<&fazt_policy::NetError> {
        self.refusals
            .iter()
            .rev()
            .find(|e| e.to_string() == message)
    }

    /// The refusal behind the run's uncaught network error, if it ended
    /// with one: its host, rule and limits, to say what fixes it.
    pub fn uncaught_refusal(&self) -> Option<&fazt_policy::NetError> {
        match &self.result {
            Err(ScriptError::Net { message, .. }) => self.refusal(message),
            _ => None,
        }
    }
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ScriptError {
    /// Stopped at `exec_timeout_ms`.
    Timeout {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
    /// Stopped at the heap limit.
    OutOfMemory {
        /// The limit, in bytes.
        limit_bytes: usize,
    },
    /// An uncaught `fetch` error.
    Net {
        /// The refusal's code (`NET_...` on the wire).
        code: fazt_policy::ErrorCode,
        /// The full message.
        message: String,
        /// Where the call was made (the innermost frame in the script).
        /// The refusal itself is [`RunOutput::uncaught_refusal`].
        location: Option<ScriptLocation>,
    },
    /// Any other uncaught exception, or a syntax error.
    Uncaught {
        /// The exception as the engine prints it, then the script's stack
        /// frames (`    at f (charge.js:2:10)`), and for a syntax error the
        /// line with a caret under the column.
        message: String,
        /// Where it was thrown (the innermost frame in the script).
        location: Option<ScriptLocation>,
    },
    /// The completion value could not be turned into JSON.
    Result(String),
    /// The engine failed: a runtime could not be created, or the engine
    /// thread panicked. Only this run is lost.
    Engine {
        /// What failed.
        message: String,
    },
    /// The run went on past `exec_timeout_ms` plus [`STUCK_AFTER`]: its
    /// thread was blocked where no termination reaches (native work that
    /// never checks for it, or a call into host code that ignores its
    /// deadline, such as a resolver that hangs). The engine's known long
    /// native loops check for termination (fazt-js/patches/README.md), so
    /// this is a safety net. The caller got this answer; the run's thread
    /// is left to itself until it returns. Worth alerting on.
    Abandoned {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
}

impl ScriptRunner {
    /// A runner over `client`, with `limits` (for `exec_timeout_ms` and
    /// each run's budget).
    ///
    /// Prepares the engine (see [`prepare_engine`](crate::prepare_engine):
    /// no on-disk bytecode cache, no Temporal, no Intl stub); create the
    /// first runner early, before other threads start, or call that first.
    pub fn new(client: EgressClient, limits: Limits) -> Self {
        crate::prepare_engine();
        ScriptRunner {
            client,
            limits,
            heap_limit: DEFAULT_HEAP_LIMIT,
            isolated: None,
            script_name: DEFAULT_SCRIPT_NAME.to_string(),
            snapshot: true,
        }
    }

    /// Whether runs restore their runtime from the process's startup
    /// snapshot (the default; see
    /// [`build_startup_snapshot`](crate::build_startup_snapshot)) or create
    /// it from scratch. Either way each run gets a runtime of its own and
    /// the script sees the same global.
    pub fn startup_snapshot(mut self, restore: bool) -> Self {
        self.snapshot = restore;
        self
    }

    /// The snapshot this runner's next runtime is restored from, if any:
    /// counts the runtime towards building it (see
    /// [`note_runtime_wanted`](crate::snapshot::note_runtime_wanted)).
    pub(crate) fn snapshot_for_next_runtime(&self) -> Option<&'static [u8]> {
        if !self.snapshot {
            return None;
        }
        crate::snapshot::note_runtime_wanted();
        crate::snapshot::ready()
    }

    /// Runs every script in a child process started from `worker_exe`
    /// (see [`worker`](crate::worker)): the engine then holds no secret,
    /// no database and no socket, and an engine that aborts costs only its
    /// run ([`ScriptError::Engine`]). `worker_exe` must call
    /// [`worker::run_if_worker`](crate::worker::run_if_worker) first thing
    /// in `main`; a host passes its own executable
    /// (`std::env::current_exe()`).
    pub fn isolated(mut self, worker_exe: impl Into<PathBuf>) -> Self {
        self.isolated = Some(worker_exe.into());
        self
    }

    /// Whether runs happen in worker processes.
    pub fn is_isolated(&self) -> bool {
        self.isolated.is_some()
    }

    /// The worker executable, in isolated mode.
    pub(crate) fn worker_exe(&self) -> Option<&std::path::Path> {
        self.isolated.as_deref()
    }

    /// Names the scripts this runner runs (their stack frames and failure
    /// locations show it), e.g. the file a script was read from.
    pub fn script_name(mut self, name: impl Into<String>) -> Self {
        self.script_name = name.into();
        self
    }

    /// The name scripts run by this runner are shown under.
    pub(crate) fn script_name_str(&self) -> &str {
        &self.script_name
    }

    /// Sets the heap limit of each run.
    pub fn heap_limit(mut self, bytes: usize) -> Self {
        self.heap_limit = bytes;
        self
    }

    /// Runs `source` as a classic script for `app`.
    ///
    /// The completion value (the last expression) is the result; a promise
    /// is awaited. Top-level `await` needs an async function as the last
    /// expression: `(async () => { ... })()`.
    ///
    /// The run happens on a thread of its own, which ends with it: the
    /// caller waits at most until the deadline (a run the engine cannot
    /// stop is left on its thread), and the run stays apart from any
    /// runtime the caller has on its own thread. The runtime is restored
    /// from the process's startup snapshot once it is built (see
    /// [`build_startup_snapshot`](crate::build_startup_snapshot)), or
    /// created from scratch (~15 ms) until then; a
    /// [`ScriptPool`](crate::ScriptPool) prepares it ahead.
    ///
    /// The answer comes by `exec_timeout_ms` plus [`STUCK_AFTER`] at the
    /// latest. A run the engine cannot stop by then (see
    /// [`ScriptError::Abandoned`]) is answered as such, and its thread is
    /// left to itself.
    pub fn run(&self, app: Option<&str>, source: &str) -> RunOutput {
        if let Some(exe) = &self.isolated {
            return crate::worker::run_in_child(self, exe, app, source);
        }
        let this = self.clone();
        let app = app.map(str::to_string);
        let source = source.to_string();
        let (done, answer) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("fazt-script".into())
            .stack_size(RUN_STACK_SIZE)
            .spawn(move || {
                let out = match Prepared::new(&this) {
                    Ok(prepared) => prepared.run(app.as_deref(), &source),
                    Err(message) => failed_run(message),
                };
                end_event_loop();
                let _ = done.send(out);
            });
        if let Err(e) = spawned {
            return failed_run(format!("could not start the script thread: {e}"));
        }
        await_run(&answer, self.limits.exec_timeout_ms)
    }

    /// The limits runs are made with.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The client runs call through.
    pub(crate) fn client(&self) -> &EgressClient {
        &self.client
    }

    /// The heap limit of each run.
    pub(crate) fn heap_limit_bytes(&self) -> usize {
        self.heap_limit
    }
}

/// How long past `exec_timeout_ms` a caller waits for a run before it gives
/// the run up: the watchdog ends every run it can within milliseconds of
/// the limit, so a run still going after this is one it cannot end.
pub const STUCK_AFTER: Duration = Duration::from_secs(2);

/// Waits for the run that answers on `answer`: its output, an engine
/// failure if its thread ended without one (a panic), or
/// [`ScriptError::Abandoned`] once `limit_ms` plus [`STUCK_AFTER`] passed.
fn await_run(answer: &mpsc::Receiver<RunOutput>, limit_ms: u64) -> RunOutput {
    match answer.recv_timeout(Duration::from_millis(limit_ms) + STUCK_AFTER) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Disconnected) => failed_run(ENGINE_FAILED.into()),
        Err(mpsc::RecvTimeoutError::Timeout) => abandoned(limit_ms),
    }
}

/// The output of a run given up on at `limit_ms` plus [`STUCK_AFTER`].
pub(crate) fn abandoned(limit_ms: u64) -> RunOutput {
    RunOutput {
        result: Err(ScriptError::Abandoned { limit_ms }),
        console: Vec::new(),
        calls: 0,
        refusals: Vec::new(),
    }
}

/// Stack of a thread that runs scripts: what a process's main thread
/// usually gets.
pub(crate) const RUN_STACK_SIZE: usize = 8 * 1024 * 1024;

/// The message of a run whose engine thread panicked.
pub(crate) const ENGINE_FAILED: &str = "the engine thread panicked";

/// The output of a run that could not happen.
pub(crate) fn failed_run(message: String) -> RunOutput {
    RunOutput {
        result: Err(ScriptError::Engine { message }),
        console: Vec::new(),
        calls: 0,
        refusals: Vec::new(),
    }
}

/// A runtime created for exactly one run: the extension loaded, the heap
/// limit and its callback set. Creating it is most of a run's cost; a
/// [`ScriptPool`](crate::ScriptPool) does it before the run is asked for.
pub(crate) struct Prepared {
    runtime: JsRuntime,
    out_of_memory: Arc<AtomicBool>,
    backend: Backend,
    limits: Limits,
    heap_limit: usize,
    /// The script's name, for its frames and failures.
    name: String,
}

/// Where a run's calls go.
enum Backend {
    /// Through this client, in this process.
    Local(EgressClient),
    /// To the parent process (a worker's run).
    Remote(RemoteFetch),
}

impl Prepared {
    /// Creates the runtime on the calling thread, which must also run it.
    ///
    /// # Errors
    /// The engine's message when it cannot start or seal a runtime.
    pub(crate) fn new(runner: &ScriptRunner) -> Result<Prepared, String> {
        Prepared::with_backend(
            Backend::Local(runner.client.clone()),
            runner.limits,
            runner.heap_limit,
            runner.script_name.clone(),
            runner.snapshot_for_next_runtime(),
        )
    }

    /// A runtime whose calls go to the parent process, restored from
    /// `snapshot` (the parent's) if there is one.
    pub(crate) fn new_remote(
        limits: Limits,
        heap_limit: usize,
        name: String,
        remote: RemoteFetch,
        snapshot: Option<&'static [u8]>,
    ) -> Result<Prepared, String> {
        Prepared::with_backend(Backend::Remote(remote), limits, heap_limit, name, snapshot)
    }

    /// Restores the runtime from `snapshot`, or creates it from scratch,
    /// and seals its global.
    fn with_backend(
        backend: Backend,
        limits: Limits,
        heap_limit: usize,
        name: String,
        snapshot: Option<&'static [u8]>,
    ) -> Result<Prepared, String> {
        let mut runtime = JsRuntime::try_new(RuntimeOptions {
            extensions: crate::snapshot::extensions(),
            startup_snapshot: snapshot,
            create_params: Some(v8::CreateParams::default().heap_limits(0, heap_limit)),
            ..Default::default()
        })
        .map_err(|e| format!("could not create a script runtime: {e}"))?;
        let handle = runtime.v8_isolate().thread_safe_handle();
        let out_of_memory = Arc::new(AtomicBool::new(false));
        {
            let oom = Arc::clone(&out_of_memory);
            runtime.add_near_heap_limit_callback(move |current, _initial| {
                // Raise the limit once, by a fixed margin, so the host can
                // still describe the failure while the termination unwinds
                // (reading an exception allocates); later calls keep the
                // limit, so a script cannot grow the heap past it.
                let first = !oom.swap(true, Ordering::SeqCst);
                handle.terminate_execution();
                if first {
                    current.saturating_add(OOM_UNWIND_MARGIN)
                } else {
                    current
                }
            });
        }
        crate::sandbox::seal(&mut runtime)
            .map_err(|e| format!("could not create a script runtime: {e}"))?;
        Ok(Prepared {
            runtime,
            out_of_memory,
            backend,
            limits,
            heap_limit,
            name,
        })
    }

    /// Runs `source` for `app` with a fresh budget; the runtime is dropped
    /// with the run.
    pub(crate) fn run(mut self, app: Option<&str>, source: &str) -> RunOutput {
        let runtime = &mut self.runtime;
        let limit = Duration::from_millis(self.limits.exec_timeout_ms);
        let deadline = Instant::now() + limit;
        {
            let state = runtime.op_state();
            let mut state = state.borrow_mut();
            match self.backend {
                Backend::Local(client) => state.put(FetchContext::new(
                    client,
                    app.map(str::to_string),
                    &self.limits,
                )),
                Backend::Remote(remote) => state.put(remote),
            }
            state.put(Console::new(self.limits.max_console_bytes));
            state.put(RunDeadline(deadline));
        }
        let handle = runtime.v8_isolate().thread_safe_handle();
        let watch = match crate::watchdog::watch(handle, deadline) {
            Ok(watch) => watch,
            Err(e) => return failed_run(format!("could not start the watchdog: {e}")),
        };
        let result = evaluate(
            runtime,
            &self.name,
            source,
            deadline,
            self.limits.max_result_bytes,
        );
        let timed_out = watch.fired();
        drop(watch);

        let result = if self.out_of_memory.load(Ordering::SeqCst) {
            Err(ScriptError::OutOfMemory {
                limit_bytes: self.heap_limit,
            })
        } else if timed_out || matches!(result, Err(Stop::Deadline)) {
            Err(ScriptError::Timeout {
                limit_ms: self.limits.exec_timeout_ms,
            })
        } else {
            result.map_err(|stop| match stop {
                Stop::Error(e) => e,
                Stop::Deadline => ScriptError::Timeout {
                    limit_ms: self.limits.exec_timeout_ms,
                },
            })
        };
        let state = runtime.op_state();
        let mut state = state.borrow_mut();
        let console = state
            .try_take::<Console>()
            .map(|c| c.lines)
            .unwrap_or_default();
        let (calls, result, refusals) = match state.try_borrow::<FetchContext>() {
            Some(ctx) => (ctx.budget.calls(), result, ctx.refusals.all()),
            None => (
                state
                    .try_borrow::<RemoteFetch>()
                    .map_or(0, RemoteFetch::calls),
                result,
                Vec::new(),
            ),
        };
        drop(state);
        drop(self.runtime);
        settle_event_loop();
        RunOutput {
            result,
            console,
            calls,
            refusals,
        }
    }
}

/// Why [`evaluate`] stopped without a value.
enum Stop {
    /// The script failed.
    Error(ScriptError),
    /// The run reached its deadline while waiting (on a promise, a timer or
    /// an async op); the engine was not running JS, so the watchdog's
    /// termination could not end it.
    Deadline,
}

impl From<ScriptError> for Stop {
    fn from(e: ScriptError) -> Self {
        Stop::Error(e)
    }
}

/// Runs the script and converts its completion value, all before
/// `deadline`: JS that runs past it is terminated by the watchdog, and the
/// event loop (pending promises, async ops, timers) is given only the time
/// left.
fn evaluate(
    runtime: &mut JsRuntime,
    name: &str,
    source: &str,
    deadline: Instant,
    max_result: u64,
) -> Result<serde_json::Value, Stop> {
    let completion = runtime
        .op_state()
        .borrow_mut()
        .try_take::<Completion>()
        .ok_or_else(|| ScriptError::Engine {
            message: "the runtime has no sandbox (fazt_sandbox was not loaded)".into(),
        })?;
    let (source, max_units) = {
        deno_core::scope!(scope, runtime);
        let text = v8::String::new(scope, source).ok_or_else(|| ScriptError::Uncaught {
            message: "Uncaught RangeError: the script is too long".into(),
            location: None,
        })?;
        let name = v8::String::new(scope, name).ok_or_else(|| ScriptError::Engine {
            message: "the script's name is too long".into(),
        })?;
        let max = v8::Number::new(scope, max_result as f64);
        (
            [
                v8::Global::new(scope, v8::Local::<v8::Value>::from(text)),
                v8::Global::new(scope, v8::Local::<v8::Value>::from(name)),
            ],
            v8::Global::new(scope, v8::Local::<v8::Value>::from(max)),
        )
    };
    let json = with_event_loop(|driver| {
        driver.block_on(async {
            let run = async {
                // The script, and every promise it leaves, under the deadline.
                let call = runtime.call_with_args(&completion.evaluate, &source);
                let value = runtime
                    .with_event_loop_promise(call, Default::default())
                    .await
                    .map_err(core_error)?;
                // `complete` runs script code too (getters, toJSON): under the
                // same deadline, and its failures are the result's.
                let call = runtime.call_with_args(&completion.complete, &[value, max_units]);
                runtime
                    .with_event_loop_promise(call, Default::default())
                    .await
                    .map_err(|e| match core_error(e) {
                        ScriptError::Uncaught { message, .. } => ScriptError::Result(message),
                        other => other,
                    })
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, run).await {
                Ok(result) => result.map_err(Stop::Error),
                Err(_elapsed) => Err(Stop::Deadline),
            }
        })
    })??;
    deno_core::scope!(scope, runtime);
    let local = v8::Local::new(scope, json);
    let text = serde_v8::from_v8::<String>(scope, local)
        .map_err(|e| ScriptError::Result(e.to_string()))?;
    if text.len() as u64 > max_result {
        return Err(Stop::Error(ScriptError::Result(format!(
            "the result is {} bytes, over max_result_bytes ({max_result} bytes)",
            text.len()
        ))));
    }
    serde_json::from_str(&text).map_err(|e| Stop::Error(ScriptError::Result(e.to_string())))
}

thread_local! {
    /// The thread's event-loop driver, made at its first run and kept for
    /// the next ones (a run's futures live in its runtime and go with it).
    static EVENT_LOOP: std::cell::RefCell<Option<tokio::runtime::Runtime>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's event-loop driver (a current-thread tokio
/// runtime with timers), made on first use.
fn with_event_loop<R>(f: impl FnOnce(&tokio::runtime::Runtime) -> R) -> Result<R, ScriptError> {
    EVENT_LOOP.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|_| ScriptError::Engine {
            message: "the event loop is already running on this thread".into(),
        })?;
        let driver = match slot.as_mut() {
            Some(driver) => driver,
            None => slot.insert(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| ScriptError::Engine {
                        message: format!("could not start the event loop: {e}"),
                    })?,
            ),
        };
        Ok(f(driver))
    })
}

/// Most turns [`settle_event_loop`] gives the thread's event loop.
const SETTLE_TURNS: usize = 16;

/// Lets this thread's event loop free the tasks a dropped runtime left on
/// it. An async op still pending after its first poll runs as a task on the
/// event loop; dropping the runtime aborts it, but an aborted task is freed
/// only when the loop next runs its queue, and a run that failed before its
/// event loop turned (a script that starts a timer or a fetch and throws)
/// gives it no turn: each left ~20 KB queued for good on a kept loop.
fn settle_event_loop() {
    EVENT_LOOP.with(|cell| {
        let Ok(slot) = cell.try_borrow() else {
            return;
        };
        if let Some(driver) = slot.as_ref() {
            for _ in 0..SETTLE_TURNS {
                if driver.metrics().num_alive_tasks() == 0 {
                    break;
                }
                driver.block_on(tokio::task::yield_now());
            }
        }
    });
}

/// Drops this thread's event-loop driver, if it has one: before the thread
/// ends, rather than among its thread-local destructors.
pub(crate) fn end_event_loop() {
    let driver = EVENT_LOOP.with(|cell| cell.try_borrow_mut().ok().and_then(|mut d| d.take()));
    drop(driver);
}

/// A failure of the event loop as a [`ScriptError`].
fn core_error(e: deno_core::error::CoreError) -> ScriptError {
    match e.into_kind() {
        deno_core::error::CoreErrorKind::Js(e) => uncaught(&e),
        other => ScriptError::Uncaught {
            message: truncate(other.to_string()),
            location: None,
        },
    }
}

/// Longest error message kept from a script: a script controls its
/// exceptions' text, and it must not grow host memory.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// `message` cut to [`MAX_MESSAGE_BYTES`], on a character boundary, with a
/// marker when cut.
fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("... [truncated]");
    }
    message
}

/// An uncaught exception as a [`ScriptError`]. The sandbox throws every
/// script failure to the host as a string (`Name: message`), which deno_core
/// prefixes with `Uncaught ` (and `(in promise) `); a `NetError` becomes
/// [`ScriptError::Net`].
fn uncaught(e: &deno_core::error::JsError) -> ScriptError {
    let text = &e.exception_message;
    let described = text
        .strip_prefix("Uncaught ")
        .map(|t| t.strip_prefix("(in promise) ").unwrap_or(t));
    let location = location(text);
    if let Some(message) = described.and_then(|t| t.strip_prefix("NetError: ")) {
        // The refusal's own message, without the frames after it.
        let message = message.split_once("\n    at ").map_or(message, |(m, _)| m);
        if let Some(code) = message
            .split_once(':')
            .and_then(|(c, _)| c.parse::<fazt_policy::ErrorCode>().ok())
        {
            return ScriptError::Net {
                code,
                message: truncate(message.to_string()),
                location,
            };
        }
    }
    ScriptError::Uncaught {
        message: truncate(text.clone()),
        location,
    }
}

/// The innermost frame of a failure the sandbox described (its frames are
/// the script's only: `    at f (charge.js:2:10)` or `    at charge.js:5:1`).
fn location(text: &str) -> Option<ScriptLocation> {
    let frame = text.lines().find_map(|l| l.strip_prefix("    at "))?;
    let frame = frame
        .strip_suffix(')')
        .map_or(frame, |f| f.rsplit_once(" (").map_or(f, |(_, place)| place));
    let (rest, column) = frame.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some(ScriptLocation {
        file: file.to_string(),
        line: line.parse().ok()?,
        column: column.parse().ok()?,
    })
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Timeout { limit_ms } => {
                write!(
                    f,
                    "script stopped: ran longer than exec_timeout_ms ({limit_ms} ms)"
                )
            }
            ScriptError::OutOfMemory { limit_bytes } => {
                write!(
                    f,
                    "script stopped: out of memory (heap limit {limit_bytes} bytes)"
                )
            }
            ScriptError::Net {
                message, location, ..
            } => {
                write!(f, "uncaught {message}")?;
                if let Some(at) = location {
                    write!(f, "\n    at {}:{}:{}", at.file, at.line, at.column)?;
                }
                Ok(())
            }
            ScriptError::Uncaught { message, .. } => f.write_str(message),
            ScriptError::Result(e) => write!(f, "the script's result is not JSON: {e}"),
            ScriptError::Engine { message } => write!(f, "the script engine failed: {message}"),
            ScriptError::Abandoned { limit_ms } => write!(
                f,
                "script abandoned: the engine did not stop it at exec_timeout_ms ({limit_ms} ms)"
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

impl std::fmt::Debug for ScriptRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptRunner")
            .field("limits", &self.limits)
            .field("heap_limit", &self.heap_limit)
            .finish_non_exhaustive()
    }
}
