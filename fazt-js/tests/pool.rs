//! ScriptPool: runs that find their runtime ready, and share nothing with
//! each other.

use std::time::Duration;

use fazt_js::{ScriptError, ScriptPool};
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;

fn upstream(seen: &Seen) -> Reply {
    if seen.target == "/slow" {
        std::thread::sleep(Duration::from_millis(1300));
    }
    Reply::ok("pooled")
}

fn pool(limits: Limits, workers: usize) -> (common::Env, ScriptPool) {
    let env = common::env(limits, EntryOverrides::default(), upstream);
    let pool = ScriptPool::new(env.runner.clone(), workers).unwrap();
    (env, pool)
}

/// Everything one run could leave behind for the next, and the proof that
/// it did not find any. `let` at the top level would also fail a second
/// run in the same realm ("redeclaration"); the function-wrapped variant
/// has no top-level declarations, so only the traces can fail it.
const LEAVE_TRACES: &str = r#"
    const found = [globalThis.leaked, Object.prototype.polluted, [].extra, JSON.parse.replaced,
                   typeof fazt.net.fetch];
    globalThis.leaked = 1;
    var declared = 1;
    let lexical = 1;
    Object.prototype.polluted = 1;
    Array.prototype.extra = 1;
    JSON.parse.replaced = 1;
    console.log("once");
    found
"#;

const LEAVE_TRACES_WRAPPED: &str = r#"
    (() => {
        const found = [globalThis.leaked, Object.prototype.polluted, [].extra, JSON.parse.replaced,
                       typeof fazt.net.fetch];
        globalThis.leaked = 1;
        Object.prototype.polluted = 1;
        Array.prototype.extra = 1;
        JSON.parse.replaced = 1;
        console.log("once");
        return found;
    })()
"#;

#[test]
fn pooled_runs_share_nothing() {
    let (_env, pool) = pool(Limits::default(), 2);
    for i in 0..8 {
        let script = [LEAVE_TRACES_WRAPPED, LEAVE_TRACES][i % 2];
        let out = pool.run(None, script);
        assert_eq!(
            out.result,
            Ok(json!([null, null, null, null, "function"])),
            "run {i}"
        );
        assert_eq!(out.console, ["once"], "run {i}");
    }
}

#[test]
fn each_run_gets_a_fresh_budget() {
    let mut limits = Limits::default();
    limits.set("max_calls", 2).unwrap();
    let (env, pool) = pool(limits, 1);
    let script = format!(
        "const url = 'https://api.test:{}/';
         fazt.net.fetch(url); fazt.net.fetch(url);
         try {{ fazt.net.fetch(url); 'third call allowed' }} catch (e) {{ e.code }}",
        env.up.port()
    );
    for app in ["shop", "blog", "shop"] {
        let out = pool.run(Some(app), &script);
        assert_eq!(out.result, Ok(json!("NET_LIMIT")), "{app}");
        assert_eq!(out.calls, 2);
    }
    assert_eq!(env.up.seen().len(), 6);
}

#[test]
fn a_stopped_run_leaves_the_next_one_unaffected() {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 500).unwrap();
    let env = common::env(limits, EntryOverrides::default(), upstream);
    // One worker: every run below is served by the thread that ran the
    // run before it.
    let pool = ScriptPool::new(env.runner.clone().heap_limit(16 * 1024 * 1024), 1).unwrap();
    let base = format!("https://api.test:{}", env.up.port());

    let out = pool.run(None, "try { while (true) {} } catch (e) { 'caught' }");
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 500 }));
    assert_eq!(pool.run(None, "1 + 1").result, Ok(json!(2)));

    // The watchdog fires while the op blocks on the slow upstream.
    let out = pool.run(
        None,
        &format!("fazt.net.fetch('{base}/slow'); while (true) {{}}"),
    );
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 500 }));
    let out = pool.run(None, &format!("fazt.net.fetch('{base}/').text()"));
    assert_eq!(out.result, Ok(json!("pooled")));

    let out = pool.run(
        None,
        "globalThis.hoard = []; while (true) hoard.push(new Array(1000000).fill(1));",
    );
    assert_eq!(
        out.result,
        Err(ScriptError::OutOfMemory {
            limit_bytes: 16 * 1024 * 1024
        })
    );
    let out = pool.run(None, "typeof hoard");
    assert_eq!(out.result, Ok(json!("undefined")));
}

#[test]
fn runs_from_many_threads_get_their_own_results() {
    let (_env, pool) = pool(Limits::default(), 2);
    std::thread::scope(|s| {
        for t in 0..4 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..5 {
                    let out = pool.run(None, &format!("globalThis.mine = '{t}-{i}'; mine"));
                    assert_eq!(out.result, Ok(json!(format!("{t}-{i}"))));
                }
            });
        }
    });
}
