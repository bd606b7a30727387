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

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use fazt_policy::{Limits, NetError, RequestBudget};
use serde::{Deserialize, Serialize};

use crate::op::{error_parts, refuse_kept_body, FetchArgs, FetchContext, FetchOk};
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
}

/// The run, sent when it is asked for.
#[derive(Serialize, Deserialize)]
struct Run {
    app: Option<String>,
    source: String,
}

/// What the child sends.
#[derive(Serialize, Deserialize)]
enum FromChild {
    /// A `fetch` call for the parent to make.
    Fetch {
        url: String,
        args: RemoteArgs,
        body: RemoteBody,
    },
    /// The run ended.
    Done(RunOutput),
}

/// A call's body on the wire.
#[derive(Serialize, Deserialize)]
pub(crate) enum RemoteBody {
    /// No body.
    None,
    /// The bytes.
    Bytes(Vec<u8>),
    /// Over the request body limit: only its size crosses (the parent
    /// counts the call and refuses it).
    OverLimit(u64),
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
    Ok(FetchOk),
    Err {
        code: String,
        message: String,
        retryable: bool,
        retry_after_ms: Option<u64>,
    },
}

fn write_frame(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&bytes)?;
    out.flush()
}

fn read_frame<T: for<'de> Deserialize<'de>>(input: &mut impl Read) -> std::io::Result<T> {
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
    serde_json::from_slice(&bytes).map_err(std::io::Error::other)
}

/// The child's pipe to the parent, shared with the fetch op.
pub(crate) struct ParentPipe {
    input: std::io::Stdin,
    output: std::io::Stdout,
}

/// In the child's `OpState`: where `fetch` goes instead of a client.
pub(crate) struct RemoteFetch {
    pipe: Arc<Mutex<ParentPipe>>,
    /// The limit the prelude measures bodies against.
    pub(crate) max_request_body: u64,
}

impl RemoteFetch {
    /// Sends one call to the parent and waits for its answer.
    pub(crate) fn call(&self, args: FetchArgs, body: RemoteBody) -> FetchReply {
        let mut pipe = self.pipe.lock().unwrap_or_else(PoisonError::into_inner);
        let message = FromChild::Fetch {
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
        let ParentPipe { input, output } = &mut *pipe;
        let sent = write_frame(&mut output.lock(), &message);
        match sent.and_then(|()| read_frame::<FetchReply>(&mut input.lock())) {
            Ok(reply) => reply,
            Err(e) => FetchReply::Err {
                code: "NET_ERROR".into(),
                message: format!("NET_ERROR: the host did not answer the call: {e}"),
                retryable: false,
                retry_after_ms: None,
            },
        }
    }
}

fn worker_main() -> std::io::Result<()> {
    crate::disable_bytecode_cache();
    let pipe = Arc::new(Mutex::new(ParentPipe {
        input: std::io::stdin(),
        output: std::io::stdout(),
    }));
    let prepare: Prepare = {
        let mut p = pipe.lock().unwrap_or_else(PoisonError::into_inner);
        let input = &mut p.input;
        read_frame(&mut input.lock())?
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
    let remote = Arc::clone(&pipe);
    let runner = std::thread::Builder::new()
        .name("fazt-script".into())
        .stack_size(crate::runner::RUN_STACK_SIZE)
        .spawn(move || -> std::io::Result<RunOutput> {
            let fetch = RemoteFetch {
                pipe: Arc::clone(&remote),
                max_request_body: limits.max_request_body,
            };
            // The runtime is made before the run is asked for.
            let prepared = Prepared::new_remote(limits, prepare.heap_limit, fetch);
            let run: Run = {
                let mut p = remote.lock().unwrap_or_else(PoisonError::into_inner);
                let input = &mut p.input;
                read_frame(&mut input.lock())?
            };
            Ok(match prepared {
                Ok(prepared) => prepared.run(run.app.as_deref(), &run.source),
                Err(message) => failed_run(message),
            })
        })?;
    let out = match runner.join() {
        Ok(out) => out?,
        Err(_) => failed_run(crate::runner::ENGINE_FAILED.into()),
    };
    let mut p = pipe.lock().unwrap_or_else(PoisonError::into_inner);
    let output = &mut p.output;
    write_frame(&mut output.lock(), &FromChild::Done(out))
}

/// A worker process started and told to prepare its runtime, waiting for
/// its run.
pub(crate) struct Spawned {
    child: Arc<Mutex<Child>>,
    to_child: ChildStdin,
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
    };
    let child = Arc::new(Mutex::new(child));
    let spawned = Spawned {
        child,
        to_child: {
            write_frame(&mut to_child, &prepare)?;
            to_child
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
    let run = Run {
        app: app.map(str::to_string),
        source: source.to_string(),
    };
    let mut ctx = FetchContext {
        client: runner.client().clone(),
        app: app.map(str::to_string),
        budget: RequestBudget::new(&limits),
    };
    let outcome = (|| -> std::io::Result<RunOutput> {
        write_frame(&mut worker.to_child, &run)?;
        loop {
            match read_frame::<FromChild>(&mut worker.from_child)? {
                FromChild::Done(out) => return Ok(out),
                FromChild::Fetch { url, args, body } => {
                    let args = FetchArgs {
                        url,
                        method: args.method,
                        headers: args.headers,
                        timeout: args.timeout,
                        redirect: args.redirect,
                        auth: args.auth,
                    };
                    let result = match body {
                        RemoteBody::None => crate::fetch(&mut ctx, args, None),
                        RemoteBody::Bytes(bytes) => crate::fetch(&mut ctx, args, Some(bytes)),
                        RemoteBody::OverLimit(size) => Err(refuse_kept_body(&mut ctx, size)),
                    };
                    let reply = match result {
                        Ok(ok) => FetchReply::Ok(ok),
                        Err(e) => error_reply(&e),
                    };
                    write_frame(&mut worker.to_child, &reply)?;
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
            out.calls = calls;
            out
        }
        Err(_) if expired => RunOutput {
            result: Err(ScriptError::Abandoned {
                limit_ms: limits.exec_timeout_ms,
            }),
            console: Vec::new(),
            calls,
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
        },
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
