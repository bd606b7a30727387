//! [`ScriptPool`]: script runs on worker threads that keep the next runtime
//! ready, so a run does not wait for a runtime to be created.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use std::time::{Duration, Instant};

use crate::runner::{
    abandoned, end_event_loop, failed_run, Prepared, ENGINE_FAILED, RUN_STACK_SIZE, STUCK_AFTER,
};
use crate::worker::{run_spawned, spawn_worker, Spawned};
use crate::{RunOutput, ScriptRunner};

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
///
/// A run the engine cannot stop (see
/// [`ScriptError::Abandoned`](crate::ScriptError::Abandoned)) is answered
/// at its limit plus [`STUCK_AFTER`](crate::STUCK_AFTER); its
/// worker is left to it and a new worker takes its place, so the pool keeps
/// its size. Dropping the pool does not wait for such a worker.
pub struct ScriptPool {
    jobs: Option<mpsc::Sender<Job>>,
    queue: Jobs,
    runner: ScriptRunner,
    closed: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    workers: Mutex<Vec<WorkerHandle>>,
    /// With an isolated runner: worker processes started and prepared
    /// ahead, each for one run.
    ready: Arc<Mutex<Vec<Spawned>>>,
    /// How many of them the pool keeps.
    ready_target: usize,
}

struct Job {
    app: Option<String>,
    source: String,
    reply: mpsc::Sender<RunOutput>,
    /// Set by the worker that takes the job: its own `stuck` flag, and
    /// when it took the job.
    taken_by: Arc<OnceLock<(Arc<AtomicBool>, Instant)>>,
}

/// A worker's supervising thread, and whether it was given up on.
struct WorkerHandle {
    thread: JoinHandle<()>,
    stuck: Arc<AtomicBool>,
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
        let pool = ScriptPool {
            jobs: Some(tx),
            queue: Arc::new(Mutex::new(rx)),
            runner,
            closed: Arc::new(AtomicBool::new(false)),
            failures: Arc::new(AtomicU64::new(0)),
            workers: Mutex::new(Vec::new()),
            ready: Arc::new(Mutex::new(Vec::new())),
            ready_target: workers.max(1),
        };
        if pool.runner.is_isolated() {
            // Worker processes instead of engine threads: started and
            // prepared ahead, one per run.
            for _ in 0..pool.ready_target {
                pool.refill();
            }
            return Ok(pool);
        }
        for _ in 0..workers.max(1) {
            pool.start_worker()?;
        }
        Ok(pool)
    }

    /// Starts one worker process in the background and keeps it ready, if
    /// the pool has fewer than its target.
    fn refill(&self) {
        let (runner, ready, target) = (
            self.runner.clone(),
            Arc::clone(&self.ready),
            self.ready_target,
        );
        std::thread::spawn(move || {
            let Some(exe) = runner.worker_exe() else {
                return;
            };
            if ready.lock().unwrap_or_else(PoisonError::into_inner).len() >= target {
                return;
            }
            if let Ok(worker) = spawn_worker(&runner, exe) {
                ready
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(worker);
            }
        });
    }

    /// An isolated run on a worker started ahead (or now, if none is
    /// ready); another is started for the next run.
    fn run_isolated(&self, app: Option<&str>, source: &str) -> RunOutput {
        let ready = self
            .ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        self.refill();
        let worker = match ready {
            Some(worker) => Ok(worker),
            None => match self.runner.worker_exe() {
                Some(exe) => spawn_worker(&self.runner, exe),
                None => Err(std::io::Error::other("the runner is not isolated")),
            },
        };
        match worker {
            Ok(worker) => run_spawned(&self.runner, worker, app, source),
            Err(e) => failed_run(format!("could not start a worker: {e}")),
        }
    }

    /// Starts one more worker on the shared queue.
    fn start_worker(&self) -> std::io::Result<()> {
        let stuck = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            runner: self.runner.clone(),
            jobs: Arc::clone(&self.queue),
            closed: Arc::clone(&self.closed),
            failures: Arc::clone(&self.failures),
            stuck: Arc::clone(&stuck),
        };
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let thread = std::thread::Builder::new()
            .name(format!("fazt-pool-{}", workers.len()))
            .spawn(move || worker.supervise())?;
        workers.push(WorkerHandle { thread, stuck });
        Ok(())
    }

    /// Runs `source` as a classic script for `app`; the same contract as
    /// [`ScriptRunner::run`].
    pub fn run(&self, app: Option<&str>, source: &str) -> RunOutput {
        if self.runner.is_isolated() {
            return self.run_isolated(app, source);
        }
        let (reply, answer) = mpsc::channel();
        let taken_by = Arc::new(OnceLock::new());
        let job = Job {
            app: app.map(str::to_string),
            source: source.to_string(),
            reply,
            taken_by: Arc::clone(&taken_by),
        };
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return failed_run("the script pool has stopped".into());
        }
        // A run's time counts from when a worker takes it: a run that
        // waited in the queue is not given up on for that wait.
        let allowed = Duration::from_millis(self.runner.limits().exec_timeout_ms) + STUCK_AFTER;
        let mut wait = allowed;
        loop {
            match answer.recv_timeout(wait) {
                Ok(out) => return out,
                // A worker that panics drops the job, and with it `reply`.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return failed_run(ENGINE_FAILED.into())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let Some((stuck, taken)) = taken_by.get() else {
                continue;
            };
            let given_up = *taken + allowed;
            let now = Instant::now();
            if now < given_up {
                wait = given_up - now;
                continue;
            }
            stuck.store(true, Ordering::SeqCst);
            self.failures.fetch_add(1, Ordering::SeqCst);
            if let Err(e) = self.start_worker() {
                return failed_run(format!("could not replace a stuck worker: {e}"));
            }
            return abandoned(self.runner.limits().exec_timeout_ms);
        }
    }

    /// Engine threads that failed so far: a runtime that could not be
    /// created, a panic in the engine, or a run the engine could not stop.
    /// Each is replaced by a fresh thread; a run that was in progress ends
    /// with [`ScriptError::Engine`](crate::ScriptError::Engine) or
    /// [`ScriptError::Abandoned`](crate::ScriptError::Abandoned). Worth
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
        let workers = std::mem::take(
            self.workers
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for worker in workers {
            // A stuck worker never ends: it is left running.
            if !worker.stuck.load(Ordering::SeqCst) {
                let _ = worker.thread.join();
            }
        }
    }
}

impl std::fmt::Debug for ScriptPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let workers = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("ScriptPool")
            .field("workers", &workers)
            .finish_non_exhaustive()
    }
}

/// What one worker thread needs.
struct Worker {
    runner: ScriptRunner,
    jobs: Jobs,
    closed: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
    /// This worker's flag, handed to each job it takes.
    stuck: Arc<AtomicBool>,
}

enum Generation {
    /// Could not create one more runtime.
    Spent,
    /// The pool was dropped.
    Closed,
}

impl Worker {
    /// Runs generations of engine threads until the queue closes: one
    /// thread serves every run while it can create runtimes (the engine
    /// frees what each runtime used when it is dropped, so a thread does
    /// not wear out). A generation that panicked, or could not create a
    /// runtime, is replaced by a fresh thread.
    fn supervise(self) {
        let this = Arc::new(self);
        while !this.closed.load(Ordering::SeqCst) {
            let worker = Arc::clone(&this);
            let generation = std::thread::Builder::new()
                .name("fazt-script".into())
                .stack_size(RUN_STACK_SIZE)
                .spawn(move || {
                    let ended = worker.generation();
                    end_event_loop();
                    ended
                });
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

    /// Creates a runtime, waits for a run, runs it; again, until the queue
    /// closes or a runtime cannot be created.
    fn generation(&self) -> Generation {
        let mut fresh = true;
        loop {
            let prepared = Prepared::new(&self.runner);
            if prepared.is_err() {
                self.failures.fetch_add(1, Ordering::SeqCst);
                // A thread that has made runtimes hands over; a fresh one
                // that cannot answers the next run with the error, so that
                // runs do not wait on an engine that cannot start.
                if !fresh {
                    return Generation::Spent;
                }
            }
            fresh = false;
            let job = {
                let queue = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
                queue.recv()
            };
            let Ok(job) = job else {
                return Generation::Closed;
            };
            let _ = job.taken_by.set((Arc::clone(&self.stuck), Instant::now()));
            let (out, spent) = match prepared {
                Ok(prepared) => (prepared.run(job.app.as_deref(), &job.source), false),
                Err(message) => (failed_run(message), true),
            };
            let _ = job.reply.send(out);
            if spent {
                return Generation::Spent;
            }
        }
    }
}
