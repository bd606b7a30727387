//! A run the engine cannot stop: native work that never checks for
//! termination (large BigInts turned into text, in a loop that runs in C).
//! The caller is answered
//! anyway, at the limit plus `STUCK_AFTER`, and a pool replaces the worker
//! it lost. (The stuck threads spin until this test process ends; they are
//! alone in it.)

use std::time::{Duration, Instant};

use fazt_js::{ScriptError, ScriptPool, STUCK_AFTER};
use fazt_policy::{EntryRules, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

/// 200 conversions of a 400 000-bit BigInt to text, ~0.4 s each, inside
/// one native `join`.
const UNSTOPPABLE: &str = "const b = (1n << 400000n) - 1n; Array(200).fill(b).join().length";
const LIMIT_MS: u64 = 1000;

fn env() -> common::Env {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", LIMIT_MS).unwrap();
    common::env(limits, EntryRules::default(), |_| Reply::ok("ok"))
}

fn answered_in_time(started: Instant) {
    let took = started.elapsed();
    let bound = Duration::from_millis(LIMIT_MS) + STUCK_AFTER + Duration::from_millis(1000);
    assert!(took < bound, "took {took:?}");
}

#[test]
fn the_runner_answers_a_run_it_cannot_stop() {
    let env = env();
    let started = Instant::now();
    let out = env.run(UNSTOPPABLE);
    answered_in_time(started);
    assert_eq!(
        out.result,
        Err(ScriptError::Abandoned { limit_ms: LIMIT_MS })
    );
}

#[test]
fn the_pool_answers_a_run_it_cannot_stop_and_keeps_its_size() {
    let env = env();
    let pool = ScriptPool::new(env.runner.clone(), 1).unwrap();
    let started = Instant::now();
    let out = pool.run(None, UNSTOPPABLE);
    answered_in_time(started);
    assert_eq!(
        out.result,
        Err(ScriptError::Abandoned { limit_ms: LIMIT_MS })
    );
    assert_eq!(pool.engine_failures(), 1);
    // The one worker is stuck; its replacement answers.
    assert_eq!(pool.run(None, "1 + 1").result, Ok(json!(2)));
    let dropped = Instant::now();
    drop(pool);
    assert!(
        dropped.elapsed() < Duration::from_secs(2),
        "drop waited for the stuck worker"
    );
}
