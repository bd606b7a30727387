//! [`ScriptPool`]: script runs on worker threads that keep the next runtime
//! ready, so a run does not wait for a runtime to be created.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::runner::{failed_run, Prepared, ENGINE_FAILED, RUN_STACK_SIZE};
use crate::{RunOutput, ScriptRunner};

/// Runtimes one thread creates before it hands over to a new thread. The
/// QuickJS backend keeps per-thread engine state that grows with every
/// runtime a thread creates: a thread fails to create its 268th.
const RUNTIMES_PER_THREAD: usize = 200;

/// Runs scripts like [`ScriptRunner::run`], on `workers` threads that each
/// create their next runtime as soon as their last run ends.
///
/// A runtime still serves exactly one run and is dropped after it, so runs
/// are as isolated as with [`ScriptRunner::run`]: nothing a script leaves on
/// `globalThis` or on a built-in prototype reaches another run, and a
/// runtime that was terminated or ran out of memory is never used again.
/// What the pool saves is the wait: a run that finds a ready runtime starts
/// at once, instead of after the ~20 ms it takes to create one. It does not
/// save the work; each run still costs one runtime's creation, done by a
/// worker between runs. When runs arrive faster than the workers create
/// runtimes, they queue and wait.
///
/// Runs may be asked for from any number of threads at once. Dropping the
/// pool stops the workers and drops the runtimes they had ready.
pub struct ScriptPool {
    jobs: Option<mpsc::Sender<Job>>,
    closed: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    workers: Vec<JoinHandle<()>>,
}

struct Job {
    app: Option<String>,
    source: String,
    reply: mpsc::Sender<RunOutput>,
}

type Jobs = Arc<Mutex<mpsc::Receiver<Job>>>;

impl ScriptPool {
    /// A pool of `workers` threads (at least one) running scripts with
    /// `runner`'s client, limits and heap limit.
    ///
    /// # Errors
    /// When the operating system refuses to start a thread.
    pub fn new(runner: ScriptRunner, workers: usize) -> std::io::Result<ScriptPool> {
        let (tx, rx) = mpsc::channel();
        let rx: Jobs = Arc::new(Mutex::new(rx));
        let mut pool = ScriptPool {
            jobs: Some(tx),
            closed: Arc::new(AtomicBool::new(false)),
            failures: Arc::new(AtomicU64::new(0)),
            workers: Vec::new(),
        };
        for i in 0..workers.max(1) {
            let worker = Worker {
                runner: runner.clone(),
                jobs: Arc::clone(&rx),
                closed: Arc::clone(&pool.closed),
                failures: Arc::clone(&pool.failures),
            };
            let worker = std::thread::Builder::new()
                .name(format!("fazt-pool-{i}"))
                .spawn(move || worker.supervise())?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    /// Runs `source` as a classic script for `app`; the same contract as
    /// [`ScriptRunner::run`].
    pub fn run(&self, app: Option<&str>, source: &str) -> RunOutput {
        let (reply, answer) = mpsc::channel();
        let job = Job {
            app: app.map(str::to_string),
            source: source.to_string(),
            reply,
        };
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return failed_run("the script pool has stopped".into());
        }
        // A worker that panics drops the job, and with it `reply`.
        answer
            .recv()
            .unwrap_or_else(|_| failed_run(ENGINE_FAILED.into()))
    }

    /// Engine threads that failed so far: a runtime that could not be
    /// created, or a panic in the engine. Each is replaced by a fresh
    /// thread; a run that was in progress ends with
    /// [`ScriptError::Uncaught`](crate::ScriptError::Uncaught). Worth
    /// watching: it stays at zero in normal operation.
    pub fn engine_failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptPool {
    fn drop(&mut self) {
        // Closing the queue ends each worker once it finds it empty.
        self.closed.store(true, Ordering::SeqCst);
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl std::fmt::Debug for ScriptPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptPool")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

/// What one worker thread needs.
struct Worker {
    runner: ScriptRunner,
    jobs: Jobs,
    closed: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
}

enum Generation {
    /// Created its share of runtimes, or could not create one more.
    Spent,
    /// The pool was dropped.
    Closed,
}

impl Worker {
    /// Runs generations of engine threads until the queue closes. A
    /// generation that panicked is replaced like one that was spent.
    fn supervise(self) {
        let this = Arc::new(self);
        while !this.closed.load(Ordering::SeqCst) {
            let worker = Arc::clone(&this);
            let generation = std::thread::Builder::new()
                .name("fazt-script".into())
                .stack_size(RUN_STACK_SIZE)
                .spawn(move || worker.generation());
            match generation.map(JoinHandle::join) {
                Ok(Ok(Generation::Closed)) => return,
                Ok(Ok(Generation::Spent)) => {}
                Ok(Err(_panic)) => {
                    this.failures.fetch_add(1, Ordering::SeqCst);
                }
                // The system is out of threads for now; queued runs wait.
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }

    /// Creates a runtime, waits for a run, runs it; up to the per-thread
    /// limit.
    fn generation(&self) -> Generation {
        for made in 0..RUNTIMES_PER_THREAD {
            let prepared = Prepared::new(&self.runner);
            if prepared.is_err() {
                self.failures.fetch_add(1, Ordering::SeqCst);
                // A thread that has made runtimes hands over; a fresh one
                // that cannot answers the next run with the error, so that
                // runs do not wait on an engine that cannot start.
                if made > 0 {
                    return Generation::Spent;
                }
            }
            let job = {
                let queue = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
                queue.recv()
            };
            let Ok(job) = job else {
                return Generation::Closed;
            };
            let (out, spent) = match prepared {
                Ok(prepared) => (prepared.run(job.app.as_deref(), &job.source), false),
                Err(message) => (failed_run(message), true),
            };
            let _ = job.reply.send(out);
            if spent {
                return Generation::Spent;
            }
        }
        Generation::Spent
    }
}
