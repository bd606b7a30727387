//! Isolated runs: the script's engine in a child process that holds
//! nothing worth stealing.
//!
//! The engine is C code behind a young shim (QuickJS-ng under v8x), and a
//! script can still make it abort the process (see fazt-js/README.md). In
//! isolated mode ([`ScriptRunner::isolated`](crate::ScriptRunner::isolated))
//! each run happens in a child process, the host's own executable started
//! again with [`WORKER_ARG`]: `main` calls [`run_if_worker`] first thing.
//! The child owns the JS runtime and nothing else: it is started with a
//! cleared environment and only its three standard streams (everything
//! else the parent opens is close-on-exec), and it makes no call itself.
//! Its `fazt.net.fetch` sends the request as plain data on stdout; the
//! parent, which alone holds the client, the secrets, the database and the
//! budget, makes the call and answers on the child's stdin.
//!
//! The parent bounds every frame ([`MAX_FRAME`]), kills the child at the
//! run's limit plus [`STUCK_AFTER`], and answers a child
//! that dies, aborts or sends garbage with [`ScriptError::Engine`]: only
//! that run is lost.
//!
//! On Linux the child locks itself down before it runs anything (a seccomp
//! filter that refuses network calls, starting programs and writing files,
//! and resource limits; see `lockdown.rs` and [`LOCKED_DOWN`]). A worker
//! prepares its runtime as soon as it starts, before its run is asked for:
//! a [`ScriptPool`](crate::ScriptPool) over an isolated runner keeps some
//! started ahead.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use fazt_policy::{Limits, NetError};
use fazt_transport::SharedBudget;
use serde::{Deserialize, Serialize};

use crate::op::{error_parts, CallBody, FetchArgs, FetchContext, FetchResponse, RunSlots, Slot};
use crate::runner::{failed_run, Prepared};
use crate::{RunOutput, ScriptError, ScriptRunner, STUCK_AFTER};

/// Whether a worker locks itself down (seccomp filter, resource limits)
/// before it runs a script: on Linux. Elsewhere isolated runs still happen
/// in a process of their own, without the filter.
pub const LOCKED_DOWN: bool = cfg!(target_os = "linux");

/// CPU seconds a worker may use beyond its run's limit (runtime creation,
/// the result) before the kernel stops it; the parent kills it sooner.
const CPU_MARGIN_S: u64 = 5;

/// The argument that starts the host's executable as a worker.
pub const WORKER_ARG: &str = "--fazt-js-worker";

/// The largest frame either side accepts: a response body at the hard cap
/// (10 MiB), as JSON numbers, with room for the rest.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Runs the worker and exits when this process was started as one
/// (`argv[1]` is [`WORKER_ARG`]); returns at once otherwise. Call it first
/// thing in `main`, before any thread starts.
pub fn run_if_worker() {
    if std::env::args_os().nth(1).as_deref() != Some(OsStr::new(WORKER_ARG)) {
        return;
    }
    let code = match worker_main() {
        Ok(()) => 0,
        Err(_) => 1,
    };
    std::process::exit(code);
}

/// What the parent sends first, when it starts the worker: enough to lock
/// down and create the runtime before a run is asked for.
#[derive(Serialize, Deserialize)]
struct Prepare {
    /// The runner's limits, by name.
    limits: Vec<(String, u64)>,
    heap_limit: usize,
    /// The name the script is shown under.
    script_name: String,
    /// Whether the parent's startup snapshot follows, as a frame of raw
    /// bytes: the worker's runtime is then restored from it.
    snapshot: bool,
}

/// The run, sent when it is asked for.
#[derive(Serialize, Deserialize)]
struct Run {
    app: Option<String>,
    source: String,
}

/// What the parent sends after [`Prepare`].
#[derive(Serialize, Deserialize)]
enum ToChild {
    /// The run.
    Run(Run),
    /// The answer to the call the child numbered `id`.
    Reply { id: u64, reply: FetchReply },
}

/// What the child sends.
#[derive(Serialize, Deserialize)]
enum FromChild {
    /// A `fetch` call for the parent to make, numbered by the child. The
    /// parent makes each on a thread of its own: calls the web's `fetch`
    /// started together are in flight together, and the parent keeps
    /// reading (and keeps its deadline) whatever a call does.
    Fetch {
        id: u64,
        url: String,
        args: RemoteArgs,
        body: CallBody,
    },
    /// The run ended.
    Done(RunOutput),
}

/// [`FetchArgs`] on the wire.
#[derive(Serialize, Deserialize)]
pub(crate) struct RemoteArgs {
    method: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Option<f64>,
    redirect: Option<String>,
    auth: Option<String>,
}

/// The parent's answer to a `fetch`: the response, or the error's parts.
#[derive(Serialize, Deserialize)]
pub(crate) enum FetchReply {
    Ok(FetchResponse),
    Err {
        code: String,
        message: String,
        retryable: bool,
        retry_after_ms: Option<u64>,
    },
}

/// The size of `value` as a frame's JSON, measured without building it.
fn frame_size(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

fn write_frame(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    write_bytes_frame(out, &bytes)
}

fn write_bytes_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)?;
    out.flush()
}

fn read_frame<T: for<'de> Deserialize<'de>>(input: &mut impl Read) -> std::io::Result<T> {
    let bytes = read_bytes_frame(input)?;
    serde_json::from_slice(&bytes).map_err(std::io::Error::other)
}

fn read_bytes_frame(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "a frame of {len} bytes is over {MAX_FRAME}"
        )));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Who waits for the answer to a call, and the run slot the call holds:
/// given back as soon as the answer arrives, on the thread that reads it
/// (a blocked `fazt.net.fetch` may be waiting for that slot, with the
/// event loop stopped).
struct Waiter {
    to: To,
    _slot: Slot,
}

enum To {
    /// A blocked `fazt.net.fetch`.
    Blocking(mpsc::SyncSender<FetchReply>),
    /// A web `fetch` in the event loop.
    Async(tokio::sync::oneshot::Sender<FetchReply>),
}

impl Waiter {
    fn answer(self, reply: FetchReply) {
        match self.to {
            To::Blocking(tx) => {
                let _ = tx.send(reply);
            }
            To::Async(tx) => {
                let _ = tx.send(reply);
            }
        }
    }
}

/// The calls waiting for the parent's answer, by number; `closed` once the
/// parent can answer no more.
#[derive(Default)]
struct Waiting {
    next: u64,
    waiters: HashMap<u64, Waiter>,
    closed: bool,
}

/// In the child's `OpState`: where `fetch` goes instead of a client. Cheap
/// to clone; clones share the pipe.
#[derive(Clone)]
pub(crate) struct RemoteFetch {
    output: Arc<Mutex<std::io::Stdout>>,
    waiting: Arc<Mutex<Waiting>>,
    /// The limit the prelude measures bodies against.
    pub(crate) max_request_body: u64,
    /// Calls beyond `max_calls` are refused here, before anything is sent
    /// or queued; the parent counts (and refuses) again.
    budget: SharedBudget,
    /// The run's concurrency slots, waited for before a call is sent.
    pub(crate) slots: RunSlots,
}

impl RemoteFetch {
    fn new(limits: &Limits) -> Self {
        RemoteFetch {
            output: Arc::new(Mutex::new(std::io::stdout())),
            waiting: Arc::new(Mutex::new(Waiting::default())),
            max_request_body: limits.max_request_body,
            budget: SharedBudget::new(limits),
            slots: RunSlots::new(limits),
        }
    }

    /// Sends one call to the parent, answered to `waiter`; the error reply
    /// when it cannot be sent.
    /// Counts a call toward `max_calls` before it is queued or copied.
    pub(crate) fn count_call(&self) -> Result<(), NetError> {
        self.budget.count_call().map(drop)
    }

    /// The calls the worker counted.
    pub(crate) fn calls(&self) -> u32 {
        self.budget.calls()
    }

    fn send(&self, args: FetchArgs, body: CallBody, waiter: Waiter) {
        let id = {
            let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            if w.closed {
                drop(w);
                return waiter.answer(no_answer("the host closed the pipe"));
            }
            w.next += 1;
            let id = w.next;
            w.waiters.insert(id, waiter);
            id
        };
        let message = FromChild::Fetch {
            id,
            url: args.url.clone(),
            args: RemoteArgs {
                method: args.method,
                headers: args.headers,
                timeout: args.timeout,
                redirect: args.redirect,
                auth: args.auth,
            },
            body,
        };
        // A request the parent would refuse as a frame (a header of
        // millions of characters, each escaped in JSON) is refused here:
        // sent, it would end the run as an engine failure.
        let size = frame_size(&message);
        let sent = if size > MAX_FRAME {
            Err(error_reply(&NetError::InvalidOption {
                option: "fetch".into(),
                reason: format!(
                    "the request takes {size} bytes to send to the host, over {MAX_FRAME}"
                ),
            }))
        } else {
            match serde_json::to_vec(&message) {
                Ok(bytes) => {
                    let out = self.output.lock().unwrap_or_else(PoisonError::into_inner);
                    let mut out = out.lock();
                    write_bytes_frame(&mut out, &bytes).map_err(|e| no_answer(&e.to_string()))
                }
                Err(e) => Err(no_answer(&e.to_string())),
            }
        };
        if let Err(reply) = sent {
            self.answer(id, reply);
        }
    }

    /// Hands `reply` to the waiter of call `id`, if it still waits.
    fn answer(&self, id: u64, reply: FetchReply) {
        let waiter = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiters
            .remove(&id);
        if let Some(waiter) = waiter {
            waiter.answer(reply);
        }
    }

    /// Sends one call, holding `slot`, to the parent and blocks until it
    /// answers.
    pub(crate) fn call(&self, args: FetchArgs, body: CallBody, slot: Slot) -> FetchReply {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(
            args,
            body,
            Waiter {
                to: To::Blocking(tx),
                _slot: slot,
            },
        );
        rx.recv()
            .unwrap_or_else(|_| no_answer("the answer was lost"))
    }

    /// Sends one call to the parent, to be made concurrently, and waits
    /// for its answer without blocking the event loop.
    pub(crate) async fn call_async(
        &self,
        args: FetchArgs,
        body: CallBody,
        slot: Slot,
    ) -> FetchReply {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(
            args,
            body,
            Waiter {
                to: To::Async(tx),
                _slot: slot,
            },
        );
        rx.await
            .unwrap_or_else(|_| no_answer("the answer was lost"))
    }

    /// Hands each answer the parent sends to its waiter, until the pipe
    /// ends; then every waiter, and every later call, gets an error.
    fn read_answers(&self, mut input: impl Read) {
        while let Ok(ToChild::Reply { id, reply }) = read_frame::<ToChild>(&mut input) {
            self.answer(id, reply);
        }
        let left = {
            let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            w.closed = true;
            std::mem::take(&mut w.waiters)
        };
        for waiter in left.into_values() {
            waiter.answer(no_answer("the host closed the pipe"));
        }
    }
}

/// The error reply of a call the parent did not answer.
fn no_answer(why: &str) -> FetchReply {
    error_reply(&NetError::HostFailure {
        reason: format!("the host did not answer the call: {why}"),
    })
}

fn worker_main() -> std::io::Result<()> {
    crate::prepare_engine();
    let prepare: Prepare = read_frame(&mut std::io::stdin().lock())?;
    let snapshot = if prepare.snapshot {
        Some(crate::snapshot::adopt(read_bytes_frame(
            &mut std::io::stdin().lock(),
        )?))
    } else {
        None
    };
    let mut limits = Limits::default();
    for (name, value) in &prepare.limits {
        limits.set(name, *value).map_err(std::io::Error::other)?;
    }
    // Before any thread starts, so that every thread has the filter. A
    // worker that cannot lock itself down runs nothing.
    #[cfg(target_os = "linux")]
    crate::lockdown::lock_down(limits.exec_timeout_ms / 1000 + CPU_MARGIN_S)
        .map_err(std::io::Error::other)?;
    let remote = RemoteFetch::new(&limits);
    let fetch = remote.clone();
    let runner = std::thread::Builder::new()
        .name("fazt-script".into())
        .stack_size(crate::runner::RUN_STACK_SIZE)
        .spawn(move || -> std::io::Result<RunOutput> {
            // The runtime is made before the run is asked for.
            let prepared = Prepared::new_remote(
                limits,
                prepare.heap_limit,
                prepare.script_name,
                fetch.clone(),
                snapshot,
            );
            let mut input = std::io::stdin();
            let ToChild::Run(run) = read_frame::<ToChild>(&mut input)? else {
                return Err(std::io::Error::other("expected the run"));
            };
            // From here on the parent sends answers to calls, in any order.
            std::thread::Builder::new()
                .name("fazt-answers".into())
                .spawn(move || fetch.read_answers(input))?;
            Ok(match prepared {
                Ok(prepared) => prepared.run(run.app.as_deref(), &run.source),
                Err(message) => failed_run(message),
            })
        })?;
    let out = match runner.join() {
        Ok(out) => out?,
        Err(_) => failed_run(crate::runner::ENGINE_FAILED.into()),
    };
    let output = remote.output.lock().unwrap_or_else(PoisonError::into_inner);
    let mut output = output.lock();
    write_frame(&mut output, &FromChild::Done(out))
}

/// A worker process started and told to prepare its runtime, waiting for
/// its run.
pub(crate) struct Spawned {
    child: Arc<Mutex<Child>>,
    to_child: Arc<Mutex<ChildStdin>>,
    from_child: ChildStdout,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A worker is used for one run at most; one never used is stopped.
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a worker from `exe` and has it prepare a runtime for `runner`'s
/// limits.
pub(crate) fn spawn_worker(runner: &ScriptRunner, exe: &Path) -> std::io::Result<Spawned> {
    let limits = *runner.limits();
    let snapshot = runner.snapshot_for_next_runtime();
    let mut child = Command::new(exe)
        .arg(WORKER_ARG)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let (Some(mut to_child), Some(from_child)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other("the worker has no pipes"));
    };
    let prepare = Prepare {
        limits: Limits::schema()
            .iter()
            .filter_map(|f| limits.get(f.name).map(|v| (f.name.to_string(), v)))
            .collect(),
        heap_limit: runner.heap_limit_bytes(),
        script_name: runner.script_name_str().to_string(),
        snapshot: snapshot.is_some(),
    };
    let child = Arc::new(Mutex::new(child));
    let spawned = Spawned {
        child,
        to_child: {
            write_frame(&mut to_child, &prepare)?;
            if let Some(snapshot) = snapshot {
                write_bytes_frame(&mut to_child, snapshot)?;
            }
            Arc::new(Mutex::new(to_child))
        },
        from_child,
    };
    Ok(spawned)
}

/// Runs `source` for `app` in a child started from `exe`, making its calls
/// with `runner`'s client.
pub(crate) fn run_in_child(
    runner: &ScriptRunner,
    exe: &Path,
    app: Option<&str>,
    source: &str,
) -> RunOutput {
    match spawn_worker(runner, exe) {
        Ok(worker) => run_spawned(runner, worker, app, source),
        Err(e) => failed_run(format!("could not start a worker: {e}")),
    }
}

/// Runs `source` for `app` in `worker`, making its calls with `runner`'s
/// client; the worker is stopped after.
pub(crate) fn run_spawned(
    runner: &ScriptRunner,
    mut worker: Spawned,
    app: Option<&str>,
    source: &str,
) -> RunOutput {
    let limits = *runner.limits();
    let child = Arc::clone(&worker.child);
    // The parent's own deadline: a child that does not answer in time is
    // killed, whatever it is doing.
    let (done, watchdog) = {
        let (tx, rx) = mpsc::channel::<()>();
        let child = Arc::clone(&child);
        let allowed = Duration::from_millis(limits.exec_timeout_ms) + STUCK_AFTER;
        let thread = std::thread::spawn(move || {
            let expired = rx.recv_timeout(allowed) == Err(mpsc::RecvTimeoutError::Timeout);
            if expired {
                let _ = child.lock().unwrap_or_else(PoisonError::into_inner).kill();
            }
            expired
        });
        (tx, thread)
    };
    let run = ToChild::Run(Run {
        app: app.map(str::to_string),
        source: source.to_string(),
    });
    let ctx = FetchContext::new(runner.client().clone(), app.map(str::to_string), &limits);
    let to_child = Arc::clone(&worker.to_child);
    let answer = move |id: u64, reply: FetchReply| -> std::io::Result<()> {
        let mut out = to_child.lock().unwrap_or_else(PoisonError::into_inner);
        write_frame(&mut *out, &ToChild::Reply { id, reply })
    };
    let outcome = (|| -> std::io::Result<RunOutput> {
        {
            let mut out = worker
                .to_child
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            write_frame(&mut *out, &run)?;
        }
        loop {
            match read_frame::<FromChild>(&mut worker.from_child)? {
                FromChild::Done(out) => return Ok(out),
                FromChild::Fetch {
                    id,
                    url,
                    args,
                    body,
                } => {
                    let args = FetchArgs {
                        url,
                        method: args.method,
                        headers: args.headers,
                        timeout: args.timeout,
                        redirect: args.redirect,
                        auth: args.auth,
                    };
                    // Counted and checked here, in order, and made on a
                    // thread of its own. Threads per run are bounded by
                    // max_calls: a call beyond it is refused right here.
                    match ctx.start_body(args, body) {
                        Err(e) => answer(id, error_reply(&e))?,
                        Ok(call) => {
                            let answer_later = answer.clone();
                            let spawned = crate::op::on_call_thread(Box::new(move || {
                                // The child may be gone by then.
                                let _ = answer_later(id, reply_of(call.make()));
                            }));
                            if let Err(e) = spawned {
                                answer(
                                    id,
                                    error_reply(&NetError::HostFailure {
                                        reason: format!("no thread for the call: {e}"),
                                    }),
                                )?;
                            }
                        }
                    }
                }
            }
        }
    })();
    let _ = done.send(());
    let expired = watchdog.join().unwrap_or(false);
    let status = {
        let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
        if outcome.is_err() {
            let _ = child.kill();
        }
        child.wait()
    };
    let calls = ctx.budget.calls();
    match outcome {
        Ok(mut out) => {
            // The worker's count includes calls it refused itself; the
            // parent's, every call it was sent (a worker cannot lower it).
            out.calls = out.calls.max(calls);
            out.refusals = ctx.refusals.all();
            out
        }
        Err(_) if expired => RunOutput {
            result: Err(ScriptError::Abandoned {
                limit_ms: limits.exec_timeout_ms,
            }),
            console: Vec::new(),
            calls,
            refusals: ctx.refusals.all(),
        },
        Err(e) => RunOutput {
            result: Err(ScriptError::Engine {
                message: match status {
                    // It died: how is the news.
                    Ok(status)
                        if e.kind() == std::io::ErrorKind::UnexpectedEof && !status.success() =>
                    {
                        format!("the worker process ended without an answer ({status})")
                    }
                    // It answered something else than the protocol; it was
                    // killed for it.
                    _ => format!("the worker process sent an invalid message: {e}"),
                },
            }),
            console: Vec::new(),
            calls,
            refusals: ctx.refusals.all(),
        },
    }
}

fn reply_of(result: Result<FetchResponse, NetError>) -> FetchReply {
    match result {
        Ok(ok) => FetchReply::Ok(ok),
        Err(e) => error_reply(&e),
    }
}

fn error_reply(e: &NetError) -> FetchReply {
    let (code, message, retryable, retry_after_ms) = error_parts(e);
    FetchReply::Err {
        code,
        message,
        retryable,
        retry_after_ms,
    }
}
