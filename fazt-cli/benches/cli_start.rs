//! The whole `fazt run` of `1 + 1` (process start, database, an isolated
//! worker process, a fresh runtime) against `fazt limits` (process start
//! and database only), in the same time windows.
//!
//! Run with `cargo xtask bench -p fazt-cli`. Results are recorded in the
//! crate README.

use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use fazt_tests::SameWindows;

/// Runs `fazt --db DB ARGS` and checks that it succeeded.
fn fazt(db: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "fazt {args:?}: {status}");
}

fn start(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("fazt-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("fazt.db");
    let script = dir.join("one.js");
    std::fs::write(&script, "1 + 1").unwrap();
    let script = script.to_str().unwrap().to_string();
    // The database exists before the first timed call of either.
    fazt(&db, &["limits"]);

    let mut windows = SameWindows::default();
    let limits = || fazt(&db, &["limits"]);
    let run = || fazt(&db, &["run", &script]);
    let mut group = c.benchmark_group("cli");
    group.sample_size(20);
    group.bench_function("fazt_limits", |b| {
        b.iter_custom(|i| windows.run(i, 0, limits, run))
    });
    group.bench_function("fazt_run_1_plus_1", |b| {
        b.iter_custom(|i| windows.run(i, 1, limits, run))
    });
    if let Some(ratio) = windows.ratio() {
        println!("cli: fazt run / fazt limits over the same windows: {ratio:.2}");
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(all, start);
criterion_main!(all);
