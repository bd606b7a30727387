//! The request log: a non-blocking sink in front of a batching writer.
//!
//! [`RequestLog::record`] appends to a bounded in-memory queue and returns;
//! when the queue is full the oldest entry is dropped and counted. A
//! background thread writes the queue in one transaction every
//! `log_flush_ms`, at once when an error entry arrives or the queue fills,
//! and a last time on [`RequestLog::shutdown`] (or drop). After each batch it
//! trims the table to the newest `retention` rows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use fazt_policy::{ErrorCode, LogEntry, LogSink};
use parking_lot::{Condvar, Mutex};
use rusqlite::{params, Connection};

use crate::{Store, StoreError};

/// Default number of rows kept.
pub const DEFAULT_RETENTION: u64 = 100_000;

/// Writer settings.
#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// Entries buffered in memory (`log_buffer`).
    pub buffer: usize,
    /// Flush interval (`log_flush_ms`).
    pub flush_every: Duration,
    /// Rows kept in the table.
    pub retention: u64,
    /// Bytes of rows kept in the table (`log_max_bytes`), counted as the
    /// text of each row plus [`ROW_OVERHEAD`] bytes.
    pub max_bytes: u64,
}

/// What a row costs beyond its text, for `max_bytes`: the numbers and the
/// indexes' share.
pub const ROW_OVERHEAD: u64 = 64;

impl LogConfig {
    /// Settings from the egress limits, with the default retention.
    pub fn from_limits(limits: &fazt_policy::Limits) -> LogConfig {
        LogConfig {
            buffer: usize::try_from(limits.log_buffer).unwrap_or(usize::MAX),
            flush_every: Duration::from_millis(limits.log_flush_ms),
            retention: DEFAULT_RETENTION,
            max_bytes: limits.log_max_bytes,
        }
    }
}

/// The sink: cheap to clone, shared with the writer thread.
#[derive(Clone)]
pub struct RequestLog {
    shared: Arc<Shared>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    dropped: AtomicU64,
    written: AtomicU64,
    failures: AtomicU64,
    capacity: usize,
}

#[derive(Default)]
struct Queue {
    entries: VecDeque<LogEntry>,
    urgent: bool,
    closing: bool,
    /// Batches taken but not yet committed.
    in_flight: usize,
}

impl RequestLog {
    /// Starts the writer for `store`.
    pub fn start(store: &Store, config: LogConfig) -> Result<RequestLog, StoreError> {
        let conn = store.writer_connection()?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            capacity: config.buffer.max(1),
        });
        let s = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("fazt-request-log".into())
            .spawn(move || writer(&s, &conn, config))?;
        Ok(RequestLog {
            shared,
            writer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// Entries dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Entries written so far.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Batches that failed to write (their entries are lost and counted as
    /// dropped).
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }

    /// Writes everything queued so far and waits until it is committed.
    pub fn flush(&self) {
        let mut q = self.shared.queue.lock();
        q.urgent = true;
        self.shared.wake.notify_all();
        while !q.entries.is_empty() || q.in_flight > 0 {
            self.shared.wake.wait_for(&mut q, Duration::from_millis(50));
            q.urgent = true;
            self.shared.wake.notify_all();
        }
    }

    /// Flushes and stops the writer. Later records are dropped (and
    /// counted).
    pub fn shutdown(&self) {
        {
            let mut q = self.shared.queue.lock();
            q.closing = true;
            self.shared.wake.notify_all();
        }
        if let Some(h) = self.writer.lock().take() {
            let _ = h.join();
        }
    }
}

impl LogSink for RequestLog {
    fn record(&self, entry: LogEntry) {
        let urgent = entry.error.is_some();
        let mut q = self.shared.queue.lock();
        if q.closing {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if q.entries.len() >= self.shared.capacity {
            q.entries.pop_front();
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        q.entries.push_back(entry);
        if urgent || q.entries.len() >= self.shared.capacity {
            q.urgent = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        // The last handle (ours plus the writer thread's) shuts down.
        if Arc::strong_count(&self.writer) == 1 {
            self.shutdown();
        }
    }
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

fn writer(shared: &Shared, conn: &Mutex<Connection>, config: LogConfig) {
    loop {
        let (batch, closing) = {
            let mut q = shared.queue.lock();
            if !q.urgent && !q.closing {
                shared.wake.wait_for(&mut q, config.flush_every);
            }
            q.urgent = false;
            let batch = std::mem::take(&mut q.entries);
            q.in_flight += 1;
            (batch, q.closing)
        };
        if !batch.is_empty() {
            let n = batch.len() as u64;
            match write_batch(&conn.lock(), &batch, config.retention, config.max_bytes) {
                Ok(()) => shared.written.fetch_add(n, Ordering::Relaxed),
                Err(_) => {
                    shared.failures.fetch_add(1, Ordering::Relaxed);
                    shared.dropped.fetch_add(n, Ordering::Relaxed)
                }
            };
        }
        let mut q = shared.queue.lock();
        q.in_flight -= 1;
        shared.wake.notify_all();
        if closing && q.entries.is_empty() {
            return;
        }
    }
}

fn write_batch(
    conn: &Connection,
    batch: &VecDeque<LogEntry>,
    retention: u64,
    max_bytes: u64,
) -> Result<(), rusqlite::Error> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO request_log (at_ms, app, host, method, path, status, error, duration_ms,
                 bytes_in, bytes_out, cache_hit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for e in batch {
            stmt.execute(params![
                i64::try_from(e.at_unix_ms).unwrap_or(i64::MAX),
                e.app.as_deref().unwrap_or(""),
                e.host,
                e.method,
                e.path,
                e.status,
                e.error.map(ErrorCode::as_str),
                i64::try_from(e.duration_ms).unwrap_or(i64::MAX),
                i64::try_from(e.bytes_in).unwrap_or(i64::MAX),
                i64::try_from(e.bytes_out).unwrap_or(i64::MAX),
                e.cache_hit,
            ])?;
        }
    }
    tx.execute(
        "DELETE FROM request_log WHERE id <= (SELECT max(id) FROM request_log) - ?1",
        params![i64::try_from(retention).unwrap_or(i64::MAX)],
    )?;
    // Then by bytes: from the newest row back, the first row that takes the
    // running total over the limit goes, with every older one.
    tx.execute(
        "DELETE FROM request_log WHERE id <= (
             SELECT id FROM (
                 SELECT id, SUM(length(app) + length(host) + length(method) + length(path)
                                + length(coalesce(error, '')) + ?2)
                            OVER (ORDER BY id DESC) AS total
                 FROM request_log)
             WHERE total > ?1 ORDER BY id DESC LIMIT 1)",
        params![
            i64::try_from(max_bytes).unwrap_or(i64::MAX),
            i64::try_from(ROW_OVERHEAD).unwrap_or(0)
        ],
    )?;
    tx.commit()
}
