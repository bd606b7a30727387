//! A host runs scripts for as long as it is up: what a run allocates must
//! go with its runtime. Measured through `/proc/self/statm` (Linux only),
//! in a test binary of its own so no other test shares the process.
#![cfg(target_os = "linux")]

use fazt_policy::{EntryRules, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

/// Resident memory of this process, in MiB.
fn rss_mib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096 / (1024 * 1024)
}

/// Runs `runs` scripts on `pool`, each leaving objects, functions and a
/// rejected promise behind, and checks every result.
fn run_many(pool: &fazt_js::ScriptPool, runs: usize) {
    for i in 0..runs {
        let out = pool.run(
            None,
            "globalThis.kept = Array.from({ length: 2000 }, (_, i) => ({ i, f() { return i; } }));
             new Error('e').stack; (async () => { await null; return kept.length; })()",
        );
        assert_eq!(out.result, Ok(json!(2000)), "run {i}");
    }
}

/// Runtimes restored from the snapshot (what a host's pool runs on) and
/// runtimes made from scratch: after a warm-up, 400 more runs on one worker
/// thread leave resident memory where it was (within 16 MiB). Each runtime
/// used to keep ~0.7 MB (restored) to ~1 MB (from scratch) allocated for
/// good: the engine's large blocks of objects whose references leaked, its
/// function templates, dispatch entries and copies of external strings;
/// 400 runs from scratch grew the process from 126 to 471 MiB.
#[test]
fn four_hundred_runs_leave_host_memory_flat() {
    let env = common::env(Limits::default(), EntryRules::default(), |_| Reply::ok("x"));
    assert!(fazt_js::build_startup_snapshot());
    for (name, runner) in [
        ("restored", env.runner.clone()),
        ("from scratch", env.runner.clone().startup_snapshot(false)),
    ] {
        let pool = fazt_js::ScriptPool::new(runner, 1).unwrap();
        run_many(&pool, 100);
        let before = rss_mib();
        run_many(&pool, 400);
        let after = rss_mib();
        assert!(
            after <= before + 16,
            "{name}: resident memory grew from {before} MiB to {after} MiB over 400 runs"
        );
        assert_eq!(pool.engine_failures(), 0, "{name}");
    }
}
