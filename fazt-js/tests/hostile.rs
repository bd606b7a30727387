//! The hostile corpus: scripts written to crash the host, reach engine
//! internals, or escape the time and memory limits, each run through
//! `ScriptRunner` and `ScriptPool`.
//!
//! Every file in `tests/hostile/` starts with `// expect: OUTCOME`:
//! `value JSON` (the completion value), `net CODE` (an uncaught NetError),
//! `uncaught [TEXT]` (an uncaught exception whose message contains TEXT),
//! `result` (a completion value JSON cannot carry), `timeout`, or `oom`.
//! Every run must end with that outcome, and the pool must answer the next
//! run as if nothing had happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fazt_js::{RunOutput, ScriptError, ScriptPool, ScriptRunner};
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::{Reply, Seen};
use proptest::prelude::*;
use serde_json::json;

mod common;

/// The execution limit of every corpus run; the longest run may take it
/// plus [`MARGIN`].
const EXEC_MS: u64 = 1500;
const MARGIN: Duration = Duration::from_millis(1500);
const HEAP: usize = 32 * 1024 * 1024;

#[derive(Debug)]
enum Expect {
    Value(serde_json::Value),
    Net(String),
    Uncaught(String),
    Result,
    Timeout,
    OutOfMemory,
}

struct Case {
    name: String,
    expect: Expect,
    source: String,
}

fn upstream(seen: &Seen) -> Reply {
    if seen.target == "/slow" {
        std::thread::sleep(Duration::from_millis(1300));
    }
    Reply::ok("ok")
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", EXEC_MS).unwrap();
    limits
}

fn corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .collect();
    files.sort();
    files.iter().map(|p| parse_case(p)).collect()
}

fn parse_case(path: &Path) -> Case {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let source = std::fs::read_to_string(path).unwrap();
    let first = source.lines().next().unwrap_or("");
    let spec = first
        .strip_prefix("// expect: ")
        .unwrap_or_else(|| panic!("{name}: first line must be `// expect: ...`"));
    let (kind, arg) = spec.split_once(' ').unwrap_or((spec, ""));
    let expect = match kind {
        "value" => Expect::Value(
            serde_json::from_str(arg).unwrap_or_else(|e| panic!("{name}: bad value: {e}")),
        ),
        "net" => Expect::Net(arg.to_string()),
        "uncaught" => Expect::Uncaught(arg.to_string()),
        "result" => Expect::Result,
        "timeout" => Expect::Timeout,
        "oom" => Expect::OutOfMemory,
        other => panic!("{name}: unknown expectation {other}"),
    };
    Case {
        name,
        expect,
        source,
    }
}

/// Why `out` is not what `expect` says, if it is not.
fn mismatch(expect: &Expect, out: &RunOutput) -> Option<String> {
    let ok = match (expect, &out.result) {
        (Expect::Value(v), Ok(got)) => v == got,
        (Expect::Net(code), Err(ScriptError::Net { code: got, .. })) => code == got.as_str(),
        (Expect::Uncaught(text), Err(ScriptError::Uncaught { message, .. })) => {
            message.contains(text.as_str())
        }
        (Expect::Result, Err(ScriptError::Result(_))) => true,
        (Expect::Timeout, Err(ScriptError::Timeout { .. })) => true,
        (Expect::OutOfMemory, Err(ScriptError::OutOfMemory { .. })) => true,
        _ => false,
    };
    (!ok).then(|| format!("expected {expect:?}, got {:?}", out.result))
}

/// Runs every case with `run`, four at a time, and collects what failed:
/// a wrong outcome, or a run longer than the limit plus the margin.
fn check_all(cases: &[Case], run: &(dyn Fn(&str) -> RunOutput + Sync)) -> Vec<String> {
    let failures = std::sync::Mutex::new(Vec::new());
    for chunk in cases.chunks(4) {
        std::thread::scope(|s| {
            for case in chunk {
                let failures = &failures;
                s.spawn(move || {
                    let started = Instant::now();
                    let out = run(&case.source);
                    let took = started.elapsed();
                    if let Some(why) = mismatch(&case.expect, &out) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: {why}", case.name));
                    }
                    if took > Duration::from_millis(EXEC_MS) + MARGIN {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: took {took:?}", case.name));
                    }
                });
            }
        });
    }
    failures.into_inner().unwrap()
}

fn runner(env: &common::Env) -> ScriptRunner {
    env.runner.clone().heap_limit(HEAP)
}

fn with_base(env: &common::Env, source: &str) -> String {
    source.replace("BASE", &format!("https://api.test:{}", env.up.port()))
}

#[test]
fn corpus_is_large_enough() {
    let cases = corpus();
    assert!(cases.len() >= 60, "only {} hostile scripts", cases.len());
}

#[test]
fn every_hostile_script_ends_with_its_outcome_on_a_restored_runtime() {
    assert!(fazt_js::build_startup_snapshot());
    let env = common::env(limits(), EntryOverrides::default(), upstream);
    let runner = runner(&env);
    let failures = check_all(&corpus(), &|source| {
        runner.run(None, &with_base(&env, source))
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_hostile_script_ends_with_its_outcome_on_a_runtime_made_from_scratch() {
    let env = common::env(limits(), EntryOverrides::default(), upstream);
    let runner = runner(&env).startup_snapshot(false);
    let failures = check_all(&corpus(), &|source| {
        runner.run(None, &with_base(&env, source))
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_hostile_script_ends_with_its_outcome_and_the_pool_runs_on() {
    assert!(fazt_js::build_startup_snapshot());
    let env = common::env(limits(), EntryOverrides::default(), upstream);
    // As many workers as check_all runs at once: a run's time is its own,
    // not a wait in the queue.
    let pool = ScriptPool::new(runner(&env), 4).unwrap();
    let failures = check_all(&corpus(), &|source| {
        let out = pool.run(None, &with_base(&env, source));
        let next = pool.run(None, "[typeof Deno, 1 + 1]");
        if next.result != Ok(json!(["undefined", 2])) {
            return RunOutput {
                result: Err(ScriptError::Uncaught {
                    message: format!("the next run failed: {:?}", next.result),
                    location: None,
                }),
                ..out
            };
        }
        out
    });
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(pool.engine_failures(), 0);
}

#[test]
fn every_hostile_script_ends_with_its_outcome_in_a_worker_process() {
    // The worker restores its runtime from the parent's snapshot.
    assert!(fazt_js::build_startup_snapshot());
    let env = common::env(limits(), EntryOverrides::default(), upstream);
    let runner = runner(&env).isolated(env!("CARGO_BIN_EXE_fazt-js-worker"));
    let failures = check_all(&corpus(), &|source| {
        runner.run(None, &with_base(&env, source))
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Pieces of hostile scripts; a generated script is a few of them in a row.
const PIECES: &[&str] = &[
    "fazt.net.fetch('BASE/x', new Proxy({}, { get() { try { fazt.net.fetch('BASE/y'); } catch {} return undefined; } }));",
    "fazt.net.fetch('BASE/x', { get method() { throw new Error('m'); } });",
    "fazt.net.fetch('BASE/x', { headers: [[Symbol('h'), 'v']] });",
    "fazt.net.fetch('BASE/x', { body: new Proxy(new Uint8Array(2), {}) });",
    "fazt.net.fetch(globalThis);",
    "console.log(new Proxy({}, { get() { throw 1; } }));",
    "console.log('z'.repeat(1 << 20));",
    "queueMicrotask(() => { throw 1; });",
    "Object.prototype.method = 'DELETE';",
    "Array.prototype[0] = 'x';",
    "JSON.stringify = null;",
    "Atomics.wait(new Int32Array(new ArrayBuffer(16)), 0, 0, 10);",
    "throw new Proxy({}, { get() { throw 1; } });",
    "throw Symbol();",
    "({ get x() { throw 1; } });",
    "(async () => { throw 1; })();",
    "let a = []; a.push(a); a;",
    "1n;",
    "typeof Deno;",
    "(function f(n) { return n ? f(n - 1) : 0; })(1e6);",
    "Error.prototype.__v82_wasm_stack_frames = { length: 0x7fffffff };",
    "new Error('e').stack;",
    "new (class extends DOMException {})('d').stack;",
];

fn outcome_is_clean(out: &RunOutput) -> bool {
    !matches!(out.result, Err(ScriptError::Engine { .. }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any mix of hostile pieces ends with an outcome, never an engine
    /// failure, and the pool runs the next script.
    #[test]
    fn random_hostile_scripts_end_cleanly(picks in proptest::collection::vec(0..PIECES.len(), 1..6)) {
        let (env, pool) = shared();
        let source: String = picks
            .iter()
            .map(|&i| format!("try {{ {} }} catch {{}}\n{}\n", PIECES[i], PIECES[i]))
            .collect();
        let out = pool.run(None, &with_base(env, &source));
        prop_assert!(outcome_is_clean(&out), "{:?}", out.result);
        let next = pool.run(None, "1 + 1");
        prop_assert_eq!(next.result, Ok(json!(2)));
    }
}

fn shared() -> &'static (common::Env, ScriptPool) {
    static SHARED: std::sync::OnceLock<(common::Env, ScriptPool)> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let env = common::env(limits(), EntryOverrides::default(), upstream);
        let pool = ScriptPool::new(runner(&env), 1).unwrap();
        (env, pool)
    })
}
