//! The latency of script runs back to back, over 10 s: p50, p99 and the
//! worst, and runs per second, for one `ScriptPool` worker (in-process and
//! isolated). Criterion reports no percentiles, so this is a plain program;
//! it runs under `cargo xtask bench -p fazt-js` unless a filter names
//! another benchmark (`cargo xtask bench -p fazt-js -- run_latency` runs
//! only it).

use std::time::{Duration, Instant};

use fazt_js::{ScriptPool, ScriptRunner};
use fazt_policy::Limits;
use fazt_tests::{allowlist, loopback_client, test_policy, TestCa};

/// How long runs are timed, after a warm-up of a second.
const MEASURED: Duration = Duration::from_secs(10);

/// Criterion's options that take a value: their value is not a filter.
const VALUED: &[&str] = &[
    "--warm-up-time",
    "--measurement-time",
    "--sample-size",
    "--save-baseline",
    "--baseline",
    "--profile-time",
];

/// Whether the command line's filters (if any) name this benchmark.
fn selected() -> bool {
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if VALUED.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filters.push(arg);
        }
    }
    // A filter is a regular expression to criterion; any alternative of
    // it that is part of this benchmark's name selects it.
    filters.is_empty()
        || filters
            .iter()
            .flat_map(|f| f.split('|'))
            .any(|f| "run_latency".contains(f) || f.contains("run_latency"))
}

/// Runs `1 + 1` on `pool` back to back: a second untimed, then
/// [`MEASURED`]; prints the percentiles.
fn measure(name: &str, pool: &ScriptPool) {
    let run = || {
        let started = Instant::now();
        let out = pool.run(None, std::hint::black_box("1 + 1"));
        assert_eq!(out.result, Ok(serde_json::json!(2)));
        started.elapsed()
    };
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        run();
    }
    let mut times = Vec::new();
    let started = Instant::now();
    while started.elapsed() < MEASURED {
        times.push(run());
    }
    let total = started.elapsed();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let (p50, p99) = (at(0.50), at(0.99));
    println!(
        "run_latency/{name}: {} runs in {:.1} s ({:.0} runs/s); p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; p99/p50 {:.2}",
        times.len(),
        total.as_secs_f64(),
        times.len() as f64 / total.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        at(0.90).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        p99.as_secs_f64() / p50.as_secs_f64(),
    );
}

fn main() {
    if !selected() {
        return;
    }
    fazt_js::prepare_engine();
    let ca = TestCa::new();
    let limits = Limits::default();
    let policy = test_policy(allowlist(&[]), limits);
    let client = loopback_client(policy, &ca, &[]).build().unwrap();
    assert!(fazt_js::build_startup_snapshot());
    let runner = ScriptRunner::new(client, limits);
    let pool = ScriptPool::new(runner.clone(), 1).unwrap();
    measure("pooled_back_to_back", &pool);
    drop(pool);
    let isolated =
        ScriptPool::new(runner.isolated(env!("CARGO_BIN_EXE_fazt-js-worker")), 1).unwrap();
    measure("pooled_isolated_back_to_back", &isolated);
}
