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
//! and resource limits; see `lockdown.rs` and [`LOCKED_DOWN`]). Not yet:
//! children kept ready ahead of runs (each run starts one).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use fazt_policy::{Limits, NetError, RequestBudget};
use serde::{Deserialize, Serialize};

use crate::op::{FetchArgs, FetchContext, FetchOk};
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

/// What the parent sends first.
#[derive(Serialize, Deserialize)]
struct Start {
    app: Option<String>,
    source: String,
    /// The runner's limits, by name.
    limits: Vec<(String, u64)>,
    heap_limit: usize,
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
    let start: Start = {
        let mut p = pipe.lock().unwrap_or_else(PoisonError::into_inner);
        let input = &mut p.input;
        read_frame(&mut input.lock())?
    };
    let mut limits = Limits::default();
    for (name, value) in &start.limits {
        limits.set(name, *value).map_err(std::io::Error::other)?;
    }
    // Before any thread starts, so that every thread has the filter. A
    // worker that cannot lock itself down runs nothing.
    #[cfg(target_os = "linux")]
    crate::lockdown::lock_down(limits.exec_timeout_ms / 1000 + CPU_MARGIN_S)
        .map_err(std::io::Error::other)?;
    let remote = Arc::clone(&pipe);
    let run = std::thread::Builder::new()
        .name("fazt-script".into())
        .stack_size(crate::runner::RUN_STACK_SIZE)
        .spawn(move || {
            let remote = RemoteFetch {
                pipe: remote,
                max_request_body: limits.max_request_body,
            };
            match Prepared::new_remote(limits, start.heap_limit, remote) {
                Ok(prepared) => prepared.run(start.app.as_deref(), &start.source),
                Err(message) => failed_run(message),
            }
        })?;
    let out = run
        .join()
        .unwrap_or_else(|_| failed_run(crate::runner::ENGINE_FAILED.into()));
    let mut p = pipe.lock().unwrap_or_else(PoisonError::into_inner);
    let output = &mut p.output;
    write_frame(&mut output.lock(), &FromChild::Done(out))
}

/// Runs `source` for `app` in a child started from `exe`, making its calls
/// with `runner`'s client.
pub(crate) fn run_in_child(
    runner: &ScriptRunner,
    exe: &Path,
    app: Option<&str>,
    source: &str,
) -> RunOutput {
    let limits = *runner.limits();
    let spawned = Command::new(exe)
        .arg(WORKER_ARG)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return failed_run(format!("could not start a worker: {e}")),
    };
    let (Some(mut to_child), Some(mut from_child)) = (child.stdin.take(), child.stdout.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return failed_run("the worker has no pipes".into());
    };
    let child = Arc::new(Mutex::new(child));
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
    let start = Start {
        app: app.map(str::to_string),
        source: source.to_string(),
        limits: Limits::schema()
            .iter()
            .filter_map(|f| limits.get(f.name).map(|v| (f.name.to_string(), v)))
            .collect(),
        heap_limit: runner.heap_limit_bytes(),
    };
    let mut ctx = FetchContext {
        client: runner.client().clone(),
        app: app.map(str::to_string),
        budget: RequestBudget::new(&limits),
    };
    let outcome = (|| -> std::io::Result<RunOutput> {
        write_frame(&mut to_child, &start)?;
        loop {
            match read_frame::<FromChild>(&mut from_child)? {
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
                        RemoteBody::OverLimit(size) => ctx
                            .budget
                            .count_call()
                            .and_then(|()| limits.check_request_body(size))
                            .and(Err(NetError::RequestBodyTooLarge {
                                size,
                                max: limits.max_request_body,
                            })),
                    };
                    let reply = match result {
                        Ok(ok) => FetchReply::Ok(ok),
                        Err(e) => error_reply(&e),
                    };
                    write_frame(&mut to_child, &reply)?;
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
    FetchReply::Err {
        code: e.code().as_str().to_string(),
        message: e.to_string(),
        retryable: e.is_retryable(),
        retry_after_ms: e
            .retry_after()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}
