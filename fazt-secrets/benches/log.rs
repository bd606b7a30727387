//! The request log: the cost of `record()` (the only part on a call's hot
//! path) and the rows per second the writer sustains.
//!
//! Run with `cargo xtask bench -p fazt-secrets`. Besides criterion's
//! medians this prints record()'s p50/p99/max over one million individual
//! calls with the writer running, since the goal is a tail latency.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fazt_policy::{LogEntry, LogSink};
use fazt_secrets::{LogConfig, LogQuery, RequestLog, Store};

fn entry(i: u64) -> LogEntry {
    LogEntry {
        app: Some("shop".into()),
        host: "api.example.com".into(),
        method: "GET".into(),
        path: "/v1/items".into(),
        status: Some(200),
        error: None,
        duration_ms: i % 500,
        bytes_in: 1024,
        bytes_out: 0,
        cache_hit: false,
        at_unix_ms: 1_700_000_000_000 + i,
    }
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fazt-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("fazt.db")
}

fn record_latency(c: &mut Criterion) {
    let store = Store::open(temp_db("record")).unwrap();
    let config = LogConfig {
        buffer: 10_000,
        flush_every: Duration::from_millis(1000),
        retention: 100_000,
        max_bytes: fazt_policy::Limits::default().log_max_bytes,
    };
    let log = RequestLog::start(&store, config).unwrap();

    // Tail latency: one million timed calls, the writer flushing meanwhile.
    let mut samples: Vec<u64> = Vec::with_capacity(1_000_000);
    for i in 0..1_000_000u64 {
        let e = entry(i);
        let t = Instant::now();
        log.record(black_box(e));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let pct = |p: usize| samples[samples.len() * p / 100 - 1];
    eprintln!(
        "record(): p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns; written {}, dropped {}",
        pct(50),
        pct(99),
        samples[samples.len() * 999 / 1000 - 1],
        samples[samples.len() - 1],
        log.written(),
        log.dropped()
    );

    let mut i = 0u64;
    c.bench_function("record", |b| {
        b.iter(|| {
            i += 1;
            log.record(black_box(entry(i)));
        })
    });
    log.shutdown();
}

fn sustained_rows(c: &mut Criterion) {
    let store = Store::open(temp_db("rows")).unwrap();
    let mut group = c.benchmark_group("writer");
    const N: u64 = 50_000;
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    group.bench_function("rows_per_second", |b| {
        b.iter(|| {
            let config = LogConfig {
                buffer: N as usize,
                flush_every: Duration::from_millis(500),
                retention: 1_000_000,
                max_bytes: fazt_policy::Limits::default().log_max_bytes,
            };
            let log = RequestLog::start(&store, config).unwrap();
            for i in 0..N {
                log.record(entry(i));
            }
            log.flush();
            assert_eq!(log.dropped(), 0);
            log.shutdown();
        })
    });
    group.finish();
    assert!(!store.recent_logs(&LogQuery::default()).unwrap().is_empty());
}

criterion_group!(benches, record_latency, sustained_rows);
criterion_main!(benches);
