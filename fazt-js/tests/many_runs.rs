//! A host runs many scripts: runs must not degrade or fail over time.

use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

#[test]
fn three_hundred_runs_in_a_row() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    for i in 0..300 {
        let out = env
            .runner
            .run(None, "globalThis.x = (globalThis.x || 0) + 1; x");
        assert_eq!(out.result, Ok(json!(1)), "run {i}");
    }
}

#[test]
fn seven_hundred_pooled_runs_on_one_worker_thread() {
    // One thread used to wear out: the engine kept ~250 dispatch entries a
    // runtime for the thread's life, and their 16-bit index wrapped at the
    // thread's ~250th runtime made from scratch (~135th restored from the
    // snapshot), after which its ops returned undefined. The worker handed
    // over to a fresh thread every 200 runtimes, which was too late for
    // restored ones. The engine frees them with each runtime now, and the
    // worker keeps its thread: no run is lost and none fails.
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    assert!(fazt_js::build_startup_snapshot());
    let pool = fazt_js::ScriptPool::new(env.runner.clone(), 1).unwrap();
    for i in 0..700 {
        let out = pool.run(None, "globalThis.x = (globalThis.x || 0) + 1; x");
        assert_eq!(out.result, Ok(json!(1)), "run {i}");
    }
    assert_eq!(pool.engine_failures(), 0);
}
