//! A host runs scripts for as long as it is up: what a run allocates must
//! go with its runtime. Measured through `/proc/self/statm` (Linux only),
//! in a test binary of its own so no other test shares the process.
#![cfg(target_os = "linux")]

use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

/// Resident memory of this process, in MiB.
fn rss_mib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096 / (1024 * 1024)
}

/// A script leaving objects, functions and a rejected promise behind.
const LEAVES_OBJECTS: &str =
    "globalThis.kept = Array.from({ length: 2000 }, (_, i) => ({ i, f() { return i; } }));
     new Error('e').stack; (async () => { await null; return kept.length; })()";

/// A script that starts an async op (a timer) and fails at once, so its
/// event loop never turns.
const FAILS_WITH_AN_OP_PENDING: &str = "AbortSignal.timeout(1000); throw 1";

/// Runs `script` `runs` times on `pool` and checks every result.
fn run_many(pool: &fazt_js::ScriptPool, script: &str, runs: usize) {
    for i in 0..runs {
        let out = pool.run(None, script);
        if script == LEAVES_OBJECTS {
            assert_eq!(out.result, Ok(json!(2000)), "run {i}");
        } else {
            assert!(
                matches!(&out.result, Err(fazt_js::ScriptError::Uncaught { message, .. }) if message == "Uncaught 1"),
                "run {i}: {:?}",
                out.result
            );
        }
    }
}

/// Runtimes restored from the snapshot (what a host's pool runs on) and
/// runtimes made from scratch: after a warm-up, 400 more runs on one worker
/// thread (2000 of runs that fail with an op pending) leave resident memory
/// where it was (within 16 MiB). Each runtime
/// used to keep ~0.7 MB (restored) to ~1 MB (from scratch) allocated for
/// good: the engine's large blocks of objects whose references leaked, its
/// function templates, dispatch entries and copies of external strings;
/// 400 runs from scratch grew the process from 126 to 471 MiB. And a run
/// that fails with an async op pending left that op's task queued on the
/// thread's event loop (~20 KB a run, 3000 runs: +45 MB).
#[test]
fn runs_one_after_another_leave_host_memory_flat() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    assert!(fazt_js::build_startup_snapshot());
    for (name, runner, script, runs) in [
        ("restored", env.runner.clone(), LEAVES_OBJECTS, 400),
        (
            "from scratch",
            env.runner.clone().startup_snapshot(false),
            LEAVES_OBJECTS,
            400,
        ),
        (
            "failing with an op pending",
            env.runner.clone(),
            FAILS_WITH_AN_OP_PENDING,
            2000,
        ),
    ] {
        let pool = fazt_js::ScriptPool::new(runner, 1).unwrap();
        run_many(&pool, script, 100);
        let before = rss_mib();
        run_many(&pool, script, runs);
        let after = rss_mib();
        assert!(
            after <= before + 16,
            "{name}: resident memory grew from {before} MiB to {after} MiB over {runs} runs"
        );
        assert_eq!(pool.engine_failures(), 0, "{name}");
    }
}
