//! Isolated runs: each script in a worker process that holds no secret,
//! database or socket, whose crash costs only its run.

use std::time::{Duration, Instant};

use fazt_js::{ScriptError, ScriptPool, STUCK_AFTER};
use fazt_policy::{EntryRules, Limits};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;

const WORKER: &str = env!("CARGO_BIN_EXE_fazt-js-worker");

fn upstream(seen: &Seen) -> Reply {
    Reply::ok(seen.header("authorization").unwrap_or("none").to_string())
}

fn env(limits: Limits) -> common::Env {
    let mut env = common::env(limits, EntryRules::default(), upstream);
    env.runner = env.runner.clone().isolated(WORKER);
    env
}

/// An engine abort a script can still cause in-process (v8x sizes a vector
/// by this property when it formats the stack).
const ABORTS: &str = r#"const e = new Error("m");
Object.defineProperty(e, "__v82_wasm_stack_frames", { value: { length: 0x7fffffff } });
e.stack.length"#;

#[test]
fn an_isolated_run_calls_through_the_parent_with_its_secrets() {
    let env = env(Limits::default());
    let out = env.run(
        r#"
        const a = fazt.net.fetch("BASE/x", { auth: "API_KEY" }).text();
        let refused;
        try { fazt.net.fetch("https://evil.test/"); } catch (e) { refused = e.code; }
        console.log("from the worker");
        [a.startsWith("Bearer sk_js_SENTINEL"), refused, typeof Deno]
        "#,
    );
    assert_eq!(out.result, Ok(json!([true, "NET_BLOCKED", "undefined"])));
    assert_eq!(out.console, ["from the worker"]);
    assert_eq!(out.calls, 2, "the parent counts the calls");
}

#[test]
fn an_engine_abort_costs_only_its_run() {
    let env = env(Limits::default());
    let out = env.run(ABORTS);
    match out.result {
        Err(ScriptError::Engine { message }) => {
            assert!(message.contains("worker process"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.run("1 + 1").result, Ok(json!(2)));
    // Through a pool as well.
    let pool = ScriptPool::new(env.runner.clone(), 1).unwrap();
    assert!(matches!(
        pool.run(None, ABORTS).result,
        Err(ScriptError::Engine { .. })
    ));
    assert_eq!(pool.run(None, "2 + 2").result, Ok(json!(4)));
}

#[test]
fn a_worker_the_engine_cannot_stop_is_killed_at_the_deadline() {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 1000).unwrap();
    let env = env(limits);
    let started = Instant::now();
    let out = env.run("const b = (1n << 400000n) - 1n; Array(200).fill(b).join().length");
    let took = started.elapsed();
    assert!(
        matches!(out.result, Err(ScriptError::Abandoned { limit_ms: 1000 })),
        "{:?}",
        out.result
    );
    assert!(took < Duration::from_millis(1000) + STUCK_AFTER + Duration::from_millis(1000));
}

/// A worker that misbehaves on the pipe costs its run and nothing more: a
/// length prefix far over the bound, garbage, silence.
#[cfg(unix)]
#[test]
fn a_worker_that_misbehaves_on_the_pipe_gets_a_clean_error() {
    use std::os::unix::fs::PermissionsExt;
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 500).unwrap();
    let base = common::env(limits, EntryRules::default(), upstream);
    let dir = std::env::temp_dir().join(format!("fazt-fake-workers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body, expected) in [
        // A 4 GiB frame announced.
        ("huge", r"printf '\377\377\377\377'; cat >/dev/null", "over"),
        // A frame of garbage.
        (
            "garbage",
            r"printf '\005\000\000\000hello'; cat >/dev/null",
            "worker",
        ),
        // Exits at once.
        ("silent", "exit 3", "worker"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = base.runner.clone().isolated(&path);
        let out = runner.run(None, "1 + 1");
        match out.result {
            Err(ScriptError::Engine { message }) => {
                assert!(message.contains(expected), "{name}: {message}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Never answers: killed at the deadline.
    let path = dir.join("mute");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = base.runner.clone().isolated(&path).run(None, "1 + 1");
    assert!(
        matches!(out.result, Err(ScriptError::Abandoned { limit_ms: 500 })),
        "{:?}",
        out.result
    );
    assert!(
        started.elapsed() < Duration::from_millis(500) + STUCK_AFTER + Duration::from_millis(1000)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pool of isolated workers (started and prepared ahead, one per run):
/// nothing one run leaves reaches another, and every run answers.
#[test]
fn pooled_isolated_runs_share_nothing() {
    let env = env(Limits::default());
    let pool = ScriptPool::new(env.runner.clone(), 2).unwrap();
    for i in 0..6 {
        let out = pool.run(
            None,
            r#"(() => {
                const found = [globalThis.leaked, Object.prototype.polluted];
                globalThis.leaked = 1;
                Object.prototype.polluted = 1;
                console.log("once");
                return found;
            })()"#,
        );
        assert_eq!(out.result, Ok(json!([null, null])), "run {i}");
        assert_eq!(out.console, ["once"]);
    }
}
