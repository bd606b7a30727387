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
