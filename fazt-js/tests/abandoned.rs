//! A run the engine cannot stop: the script's thread is blocked where no
//! termination reaches it. The engine itself now checks for termination in
//! its long native loops (fazt-js/patches), so the block here is the
//! host's: a resolver an embedder plugged in that ignores the time it is
//! given, under a synchronous `fazt.net.fetch`. The caller is answered
//! anyway, at the limit plus `STUCK_AFTER`, and a pool replaces the worker
//! it lost. (The stuck threads sleep until their resolver returns.)

use std::time::{Duration, Instant};

use fazt_js::{ScriptError, ScriptPool, ScriptRunner, STUCK_AFTER};
use serde_json::json;

mod common;

const UNSTOPPABLE: &str = common::HANGS;
const LIMIT_MS: u64 = 1000;

fn runner() -> ScriptRunner {
    common::hanging_runner(LIMIT_MS)
}

fn answered_in_time(started: Instant) {
    let took = started.elapsed();
    let bound = Duration::from_millis(LIMIT_MS) + STUCK_AFTER + Duration::from_millis(1000);
    assert!(took < bound, "took {took:?}");
}

#[test]
fn the_runner_answers_a_run_it_cannot_stop() {
    let started = Instant::now();
    let out = runner().run(None, UNSTOPPABLE);
    answered_in_time(started);
    assert_eq!(
        out.result,
        Err(ScriptError::Abandoned { limit_ms: LIMIT_MS })
    );
}

#[test]
fn the_pool_answers_a_run_it_cannot_stop_and_keeps_its_size() {
    let pool = ScriptPool::new(runner(), 1).unwrap();
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
