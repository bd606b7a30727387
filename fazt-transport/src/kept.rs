//! [`KeptThreads`]: helper threads kept between jobs, for work that must not
//! block its caller (a call made while a script's event loop goes on, a name
//! lookup bounded by its call's deadline). Starting a thread per job cost
//! more than the rest of a call's host-side work.

use std::sync::mpsc::{self, SendError, Sender};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A job for a kept thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// Threads that wait for their next job after one ends, for at most
/// `idle_for`, then end. Jobs go to an idle thread, or to a new one: the
/// number of threads is the number of jobs running at once (which the
/// caller bounds) plus those idle, and an idle one ends on its own.
#[derive(Debug)]
pub struct KeptThreads {
    name: &'static str,
    idle_for: Duration,
    idle: Mutex<Vec<Sender<Job>>>,
}

impl KeptThreads {
    /// Threads named `name`, each kept `idle_for` after its last job.
    pub const fn new(name: &'static str, idle_for: Duration) -> Self {
        KeptThreads {
            name,
            idle_for,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `job` on an idle thread, or on a new one. An error means no
    /// thread could be started; the job is dropped without running.
    pub fn run(&'static self, mut job: Job) -> std::io::Result<()> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some(thread) = idle else { break };
            match thread.send(job) {
                Ok(()) => return Ok(()),
                // That thread ended; try the next one.
                Err(SendError(back)) => job = back,
            }
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let mut first = Some(job);
        std::thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                while let Some(job) = first.take().or_else(|| rx.recv_timeout(self.idle_for).ok()) {
                    job();
                    self.idle
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(tx.clone());
                }
            })
            .map(drop)
    }

    /// How many threads wait for a job now.
    pub fn idle(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    /// One job after another runs on the same thread; jobs at once run on
    /// threads of their own; an idle thread ends after its time.
    #[test]
    fn a_thread_is_kept_for_the_next_job_and_ends_when_idle() {
        static THREADS: KeptThreads = KeptThreads::new("kept-test", Duration::from_millis(300));
        let names = Arc::new(Mutex::new(Vec::new()));
        let run_one = || {
            let (tx, rx) = mpsc::channel();
            let names = names.clone();
            THREADS
                .run(Box::new(move || {
                    names.lock().unwrap().push(std::thread::current().id());
                    tx.send(()).unwrap();
                }))
                .unwrap();
            rx.recv().unwrap();
        };
        run_one();
        // The thread gives itself back after the job's answer is sent.
        let waited = Instant::now();
        while THREADS.idle() == 0 {
            assert!(waited.elapsed() < Duration::from_secs(5));
            std::thread::yield_now();
        }
        run_one();
        let seen = names.lock().unwrap().clone();
        assert_eq!(seen[0], seen[1], "the second job ran on the kept thread");
        // Two at once: two threads.
        let started = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for _ in 0..2 {
            let (started, tx) = (started.clone(), tx.clone());
            THREADS
                .run(Box::new(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    while started.load(Ordering::SeqCst) < 2 {
                        std::thread::yield_now();
                    }
                    tx.send(()).unwrap();
                }))
                .unwrap();
        }
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        // Idle threads end after 300 ms: a job then starts a new one, and
        // the ended threads' places are skipped.
        std::thread::sleep(Duration::from_millis(700));
        run_one();
        let seen = names.lock().unwrap().clone();
        assert_ne!(seen[2], seen[0], "the idle thread had ended");
    }
}
