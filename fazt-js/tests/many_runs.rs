//! A host runs many scripts: runs must not degrade or fail over time.

use fazt_policy::{EntryRules, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

#[test]
fn three_hundred_runs_in_a_row() {
    let env = common::env(Limits::default(), EntryRules::default(), |_| Reply::ok("x"));
    for i in 0..300 {
        let out = env
            .runner
            .run(None, "globalThis.x = (globalThis.x || 0) + 1; x");
        assert_eq!(out.result, Ok(json!(1)), "run {i}");
    }
}

#[test]
fn three_hundred_pooled_runs_on_one_worker() {
    // More runs than one thread can create runtimes for (267): the worker
    // hands over to a fresh thread every 200, losing no run.
    let env = common::env(Limits::default(), EntryRules::default(), |_| Reply::ok("x"));
    let pool = fazt_js::ScriptPool::new(env.runner.clone(), 1).unwrap();
    for i in 0..300 {
        let out = pool.run(None, "globalThis.x = (globalThis.x || 0) + 1; x");
        assert_eq!(out.result, Ok(json!(1)), "run {i}");
    }
    // A thread that failed to create its 268th runtime would have been
    // replaced without losing a run; it must not have come to that.
    assert_eq!(pool.engine_failures(), 0);
}
