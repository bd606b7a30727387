//! The watchdog: one thread for the process that terminates every run still
//! executing JS at its deadline.
//!
//! A run registers its isolate and deadline ([`watch`]) and is forgotten
//! when the returned [`Watch`] drops. Past the deadline the watchdog
//! terminates the run's execution, and again every [`RETERMINATE_EVERY`]
//! until the run ends: the engine ends a termination once no JS is left on
//! its stack, and its microtask queue then starts the next job, so a chain
//! of jobs that queue each other needs one termination per job. (A thread
//! per run did the same; one thread serves all runs now, so a run costs
//! no thread start.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deno_core::v8;

/// How often the watchdog repeats its termination after the deadline.
const RETERMINATE_EVERY: Duration = Duration::from_millis(5);

/// A run being watched.
struct Watched {
    handle: v8::IsolateHandle,
    deadline: Instant,
    fired: Arc<AtomicBool>,
}

#[derive(Default)]
struct Runs {
    next_id: u64,
    runs: HashMap<u64, Watched>,
}

struct Watchdog {
    runs: Mutex<Runs>,
    changed: Condvar,
}

/// A run the watchdog watches, until this drops.
pub(crate) struct Watch {
    dog: Arc<Watchdog>,
    id: u64,
    fired: Arc<AtomicBool>,
}

impl Watch {
    /// Whether the watchdog terminated the run (its deadline passed while
    /// it was watched).
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.dog
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .runs
            .remove(&self.id);
    }
}

/// The watchdog, once its thread started.
static DOG: Mutex<Option<Arc<Watchdog>>> = Mutex::new(None);

/// The watchdog, its thread started on first use.
fn dog() -> std::io::Result<Arc<Watchdog>> {
    let mut slot = DOG.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(dog) = slot.as_ref() {
        return Ok(Arc::clone(dog));
    }
    let dog = Arc::new(Watchdog {
        runs: Mutex::new(Runs::default()),
        changed: Condvar::new(),
    });
    let watching = Arc::clone(&dog);
    std::thread::Builder::new()
        .name("fazt-watchdog".into())
        .spawn(move || watching.patrol())?;
    *slot = Some(Arc::clone(&dog));
    Ok(dog)
}

impl Watchdog {
    /// Terminates the runs past their deadline, then sleeps until the next
    /// deadline (or [`RETERMINATE_EVERY`] while any run is past its own),
    /// or until a run is added.
    fn patrol(&self) {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            let mut wake = None::<Instant>;
            for run in runs.runs.values() {
                let at = if run.deadline <= now {
                    run.fired.store(true, Ordering::SeqCst);
                    run.handle.terminate_execution();
                    now + RETERMINATE_EVERY
                } else {
                    run.deadline
                };
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
            runs = match wake {
                Some(at) => {
                    self.changed
                        .wait_timeout(runs, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(runs)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// Watches the run on `handle`'s isolate until the returned [`Watch`]
/// drops: terminated from `deadline` on.
///
/// # Errors
/// When the watchdog's thread cannot be started (the run must not start).
pub(crate) fn watch(handle: v8::IsolateHandle, deadline: Instant) -> std::io::Result<Watch> {
    let dog = dog()?;
    let fired = Arc::new(AtomicBool::new(false));
    let mut runs = dog.runs.lock().unwrap_or_else(PoisonError::into_inner);
    let id = runs.next_id;
    runs.next_id += 1;
    runs.runs.insert(
        id,
        Watched {
            handle,
            deadline,
            fired: Arc::clone(&fired),
        },
    );
    drop(runs);
    dog.changed.notify_one();
    Ok(Watch { dog, id, fired })
}
