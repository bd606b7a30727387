//! Isolated runs: each script in a worker process that holds no secret,
//! database or socket, whose crash costs only its run.

use std::time::{Duration, Instant};

use fazt_js::{ScriptError, ScriptPool, STUCK_AFTER};
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;

const WORKER: &str = env!("CARGO_BIN_EXE_fazt-js-worker");

fn upstream(seen: &Seen) -> Reply {
    Reply::ok(seen.header("authorization").unwrap_or("none").to_string())
}

fn env(limits: Limits) -> common::Env {
    let mut env = common::env(limits, EntryOverrides::default(), upstream);
    env.runner = env.runner.clone().isolated(WORKER);
    env
}

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

/// The worker processes of this test process started as `name` that have
/// used more than 300 ms of CPU: the one running a busy script, not one a
/// pool is still preparing.
#[cfg(target_os = "linux")]
fn running_workers(name: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ... utime stime ...": the fields after
        // comm, from the state (field 3) on.
        let Some((head, rest)) = text.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1) != Some(&me.as_str()) || !name.starts_with(comm) {
            continue;
        }
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15, at 100 ticks a second.
        if ticks(11) + ticks(12) > 30 {
            found.push(pid);
        }
    }
    found
}

/// The worker started through a link of its own, so that this test finds
/// its workers by name and no other test's.
#[cfg(target_os = "linux")]
const ABORTED_WORKER: &str = "fazt-abort-me";

/// Runs a busy script and, while it runs, aborts the worker running it, the
/// way a crash in the engine's C code ends it.
#[cfg(target_os = "linux")]
fn run_and_abort_the_worker(run: impl FnOnce(&str) -> fazt_js::RunOutput) -> fazt_js::RunOutput {
    let killer = std::thread::spawn(|| {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            std::thread::sleep(Duration::from_millis(100));
            let pids = running_workers(ABORTED_WORKER);
            if !pids.is_empty() {
                for pid in pids {
                    let status = std::process::Command::new("kill")
                        .args(["-ABRT", &pid.to_string()])
                        .status()
                        .unwrap();
                    assert!(status.success());
                }
                return true;
            }
        }
        false
    });
    let out = run("for (;;) {}");
    assert!(
        killer.join().unwrap(),
        "no running worker was found to abort"
    );
    out
}

#[cfg(target_os = "linux")]
#[test]
fn an_engine_abort_costs_only_its_run() {
    let dir = std::env::temp_dir().join(format!("fazt-abort-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(ABORTED_WORKER);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(WORKER, &link).unwrap();
    let mut env = env(Limits::default());
    env.runner = env.runner.clone().isolated(&link);
    let out = run_and_abort_the_worker(|source| env.run(source));
    match out.result {
        Err(ScriptError::Engine { message }) => {
            assert!(message.contains("worker process"), "{message}");
            assert!(message.contains("SIGABRT"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.run("1 + 1").result, Ok(json!(2)));
    // Through a pool as well: its prepared workers wait on their pipes and
    // are left alone; the next run gets one of them.
    let pool = ScriptPool::new(env.runner.clone(), 1).unwrap();
    assert_eq!(pool.run(None, "0").result, Ok(json!(0)));
    let out = run_and_abort_the_worker(|source| pool.run(None, source));
    assert!(
        matches!(out.result, Err(ScriptError::Engine { .. })),
        "{:?}",
        out.result
    );
    assert_eq!(pool.run(None, "2 + 2").result, Ok(json!(4)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run stuck where no termination reaches (here: a call blocked in a
/// resolver that ignores its time) is answered at the limit plus
/// `STUCK_AFTER`, and its worker killed; the parent does not wait for the
/// call (it is made on a thread of its own).
#[test]
fn a_worker_that_cannot_be_stopped_is_killed_at_the_deadline() {
    let runner = common::hanging_runner(1000).isolated(WORKER);
    let started = Instant::now();
    let out = runner.run(None, common::HANGS);
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
    let base = common::env(limits, EntryOverrides::default(), upstream);
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
