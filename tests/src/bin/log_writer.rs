//! Child process for the crash test: writes request-log entries to the
//! database named by its argument forever, printing `flushed N` after each
//! committed batch, until it is killed.

use std::io::Write;

use fazt_policy::{LogEntry, LogSink};
use fazt_secrets::{LogConfig, RequestLog, Store};

fn main() {
    let path = std::env::args().nth(1).expect("usage: log_writer DB");
    let store = Store::open(&path).expect("open store");
    let log = RequestLog::start(
        &store,
        LogConfig {
            buffer: 10_000,
            flush_every: std::time::Duration::from_millis(50),
            retention: 1_000_000,
            max_bytes: fazt_policy::Limits::default().log_max_bytes,
        },
    )
    .expect("start log");
    let mut stdout = std::io::stdout();
    for i in 0u64.. {
        for j in 0..200 {
            log.record(LogEntry {
                app: Some("crash".into()),
                host: "api.test".into(),
                method: "POST".into(),
                path: format!("/item/{i}/{j}"),
                status: Some(201),
                error: None,
                duration_ms: j,
                bytes_in: 100,
                bytes_out: 50,
                cache_hit: false,
                at_unix_ms: i,
            });
        }
        log.flush();
        if writeln!(stdout, "flushed {}", log.written())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}
