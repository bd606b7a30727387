//! A run that ends with web calls in flight leaks nothing: slots, budget,
//! threads. Alone in its test binary, so that the threads it counts are
//! its own.

use std::time::{Duration, Instant};

use fazt_js::ScriptError;
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;

fn upstream(seen: &Seen) -> Reply {
    if let Some(ms) = seen.target.strip_prefix("/slow/") {
        std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
    }
    Reply::ok("ok")
}

fn env(set: &[(&str, u64)]) -> common::Env {
    let mut limits = Limits::default();
    for (name, value) in set {
        limits.set(name, *value).unwrap();
    }
    common::env(limits, EntryOverrides::default(), upstream)
}

/// The run's time limit ends it with calls in flight; their slots are free
/// again by then (each call's deadline is the run's), so the next run of
/// the app makes all its calls, on the same call threads (idle again, kept
/// for later calls), not on new ones.
#[test]
fn a_run_that_times_out_with_calls_in_flight_leaks_nothing() {
    let env = env(&[("exec_timeout_ms", 1000), ("app_concurrency", 5)]);
    let started = Instant::now();
    let out = env.run_as(
        Some("shop"),
        r#"Promise.all([1, 2, 3, 4, 5].map(() => fetch("BASE/slow/3000")))"#,
    );
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 1000 }));
    assert!(started.elapsed() < Duration::from_millis(2000));
    assert_eq!(
        call_threads(),
        5,
        "the calls were in flight when the run ended"
    );
    // The calls were cut at the run's deadline: their threads are free.
    std::thread::sleep(Duration::from_millis(500));
    let v = env
        .run_as(
            Some("shop"),
            r#"Promise.all([1, 2, 3, 4, 5].map(() => fetch("BASE/x").then((r) => r.status)))"#,
        )
        .result;
    assert_eq!(v, Ok(json!(vec![200; 5])));
    assert_eq!(
        call_threads(),
        5,
        "the second run's calls reused the threads"
    );
}

/// The threads of this process that make calls (`fazt-fetch`, busy or
/// idle; Linux).
fn call_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "fazt-fetch")
        })
        .count()
}
