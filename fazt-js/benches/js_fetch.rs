//! `fazt.net.fetch(url).json()` of a 1 KiB body from JavaScript, against the
//! Rust transport call plus `serde_json` on the same keep-alive TLS server;
//! and the cost of a script run: in a runtime created for it, through a
//! ScriptPool (back to back, and finding its runtime ready), and, for
//! scale, evaluation in a reused runtime.
//!
//! The web's `fetch`: `await fetch(url)` and `await res.json()` against the
//! synchronous `fazt.net.fetch(url).json()` on the same server, and five
//! calls to a 50 ms upstream in parallel against one.
//!
//! Run with `cargo xtask bench -p fazt-js`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use fazt_js::{FetchContext, ScriptPool, ScriptRunner};
use fazt_policy::{EntryOverrides, Limits, NullSink, RequestBudget};
use fazt_tests::{allowlist, loopback_client, test_policy, Reply, SameWindows, TestCa, Upstream};
use fazt_transport::{EgressClient, Request};

fn json_1k() -> Vec<u8> {
    let items: Vec<String> = (0..40)
        .map(|i| format!("{{\"id\":{i},\"ok\":true}}"))
        .collect();
    let mut body = format!("{{\"items\":[{}],\"pad\":\"", items.join(",")).into_bytes();
    assert!(body.len() < 1000);
    body.resize(1022, b'x');
    body.extend_from_slice(b"\"}");
    body
}

fn benches(c: &mut Criterion) {
    // Before the first runtime, as an embedder would.
    fazt_js::prepare_engine();
    let ca = TestCa::new();
    let body = json_1k();
    assert_eq!(body.len(), 1024);
    let up = Upstream::tls(&ca, move |seen| {
        if seen.target.starts_with("/items/slow") {
            std::thread::sleep(Duration::from_millis(50));
        }
        Reply::ok(body.clone()).header("content-type", "application/json")
    });
    let url = format!("https://api.test:{}/items", up.port());
    let entry = format!("api.test:{}", up.port());
    let limits = Limits::default();
    let policy = test_policy(allowlist(&[(&entry, EntryOverrides::default())]), limits);
    let client = loopback_client(policy, &ca, &["api.test"])
        .log_sink(Arc::new(NullSink))
        .build()
        .unwrap();

    let rust_call = || {
        let mut budget = RequestBudget::new(&limits);
        let r = client
            .fetch(None, Request::get(black_box(url.as_str())), &mut budget)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 40);
    };
    let mut runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    // Compiled once and called per request, as a handler would be.
    let handler = function(
        &mut runtime,
        &format!("() => fazt.net.fetch({url:?}).json().items.length"),
    );
    let refused = function(
        &mut runtime,
        "() => { try { fazt.net.fetch('https://evil.test/') } catch (e) { return e.code.length } }",
    );
    let parse_only = function(
        &mut runtime,
        &format!(
            "() => JSON.parse({:?}).items.length",
            String::from_utf8(json_1k()).unwrap()
        ),
    );
    let mut js_call = |f: &v8::Global<v8::Function>| {
        // A fresh budget per call, as each would be a new request.
        runtime
            .op_state()
            .borrow_mut()
            .put(FetchContext::new(client.clone(), None, &limits));
        call(&mut runtime, f)
    };

    // Both sides in the same time windows (see SameWindows): each benchmark
    // reports its own side, and the ratio of the totals is printed after
    // the two.
    let mut group = c.benchmark_group("fetch_json_1k");
    let mut windows = SameWindows::default();
    let mut js_fetch = || assert_eq!(js_call(&handler), 40);
    group.bench_function("rust_transport", |b| {
        b.iter_custom(|i| windows.run(i, 0, rust_call, &mut js_fetch))
    });
    group.bench_function("js_fetch", |b| {
        b.iter_custom(|i| windows.run(i, 1, rust_call, &mut js_fetch))
    });
    if let Some(ratio) = windows.ratio() {
        println!("fetch_json_1k: js_fetch / rust_transport over the same windows: {ratio:.3}");
    }
    // Where the JS side's time goes: a call refused by the policy (op round
    // trip, error object, no network), and JSON.parse of the same body.
    group.bench_function("js_refused_call", |b| {
        b.iter(|| assert_eq!(js_call(&refused), 11))
    });
    group.bench_function("js_json_parse_1k", |b| {
        b.iter(|| assert_eq!(js_call(&parse_only), 40))
    });
    group.finish();

    web_fetch(c, &client, &url, limits);

    let mut group = c.benchmark_group("script_run");
    // Runtimes restored from the startup snapshot, as in a host that has
    // run a script before; and, for comparison, made from scratch.
    assert!(fazt_js::build_startup_snapshot());
    let runner = ScriptRunner::new(client.clone(), limits);
    let from_scratch = runner.clone().startup_snapshot(false);
    group.bench_function("runner_run", |b| {
        b.iter(|| runner.run(None, black_box("1 + 1")))
    });
    group.bench_function("runner_run_from_scratch", |b| {
        b.iter(|| from_scratch.run(None, black_box("1 + 1")))
    });
    // Runs back to back: each waits for its runtime to be restored, so this
    // is the pool's throughput with one worker.
    let pool = ScriptPool::new(runner.clone(), 1).unwrap();
    group.bench_function("pooled_back_to_back", |b| {
        b.iter(|| pool.run(None, black_box("1 + 1")))
    });
    let scratch_pool = ScriptPool::new(from_scratch, 1).unwrap();
    group.bench_function("pooled_back_to_back_from_scratch", |b| {
        b.iter(|| scratch_pool.run(None, black_box("1 + 1")))
    });
    drop(scratch_pool);
    // A run that finds its runtime ready, as it does when requests are
    // further apart than a runtime's creation. Each timed run is preceded by
    // an untimed pause, so the measurement is kept short.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300));
    group.bench_function("pooled_ready_runtime", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                std::thread::sleep(Duration::from_millis(40));
                let start = Instant::now();
                let out = pool.run(None, black_box("1 + 1"));
                total += start.elapsed();
                assert_eq!(out.result, Ok(serde_json::json!(2)));
            }
            total
        })
    });
    // The same, in a worker process started and prepared ahead (isolated
    // mode): the run's frames cross a pipe and the worker is replaced.
    let isolated = ScriptPool::new(
        runner
            .clone()
            .isolated(env!("CARGO_BIN_EXE_fazt-js-worker")),
        1,
    )
    .unwrap();
    group.bench_function("pooled_isolated_ready_worker", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Long enough for the next worker to start and prepare.
                std::thread::sleep(Duration::from_millis(120));
                let start = Instant::now();
                let out = isolated.run(None, black_box("1 + 1"));
                total += start.elapsed();
                assert_eq!(out.result, Ok(serde_json::json!(2)));
            }
            total
        })
    });
    // Five calls in one run, in-process and in a worker process: the
    // difference over five is what a call costs crossing the pipe (the
    // worker's request and the parent's record, as JSON frames).
    let five = format!("for (let i = 0; i < 5; i++) fazt.net.fetch({url:?}).json(); 5");
    for (name, pool) in [
        ("pooled_five_calls", &pool),
        ("pooled_isolated_five_calls", &isolated),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(Duration::from_millis(120));
                    let start = Instant::now();
                    let out = pool.run(None, black_box(&five));
                    total += start.elapsed();
                    assert_eq!(out.result, Ok(serde_json::json!(5)));
                }
                total
            })
        });
    }
    // What reusing a runtime would cost (not done: a reused runtime keeps
    // whatever a script left in it).
    group.bench_function("reused_runtime", |b| {
        b.iter(|| {
            runtime
                .execute_script("bench.js", black_box("1 + 1"))
                .unwrap()
        })
    });
    group.finish();
}

/// The web `fetch` against the synchronous one, and calls in parallel.
fn web_fetch(c: &mut Criterion, client: &EgressClient, url: &str, limits: Limits) {
    let mut runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Calls start on this event loop (see README "Embedding").
    let _inside = driver.enter();
    let slow = format!("{url}/slow");
    let sync = function(
        &mut runtime,
        &format!("() => fazt.net.fetch({url:?}).json().items.length"),
    );
    let web = function(
        &mut runtime,
        &format!("async () => (await (await fetch({url:?})).json()).items.length"),
    );
    // Where the web side's time goes: a call refused by the policy (no
    // thread, no network) on each side.
    let sync_refused = function(
        &mut runtime,
        "() => { try { fazt.net.fetch('https://evil.test/') } catch (e) { return e.code.length } }",
    );
    let web_refused = function(
        &mut runtime,
        "async () => { try { await fetch('https://evil.test/') } catch (e) { return e.code.length } }",
    );
    // For scale: the event loop settling a promise with no call at all.
    let settle_baseline = function(&mut runtime, "async () => { await null; return 11 }");
    let one_slow = function(
        &mut runtime,
        &format!("async () => (await fetch({slow:?})).status === 200 ? 1 : 0"),
    );
    let five_slow = function(
        &mut runtime,
        &format!(
            "async () => (await Promise.all([1, 2, 3, 4, 5].map(() => fetch({slow:?}).then((r) => r.status)))).length"
        ),
    );
    // Calls a function of the runtime with a fresh budget (a new request)
    // and drives the event loop until nothing is pending, then reads the
    // promise (README "Embedding": a runtime kept for many requests does
    // not use `resolve`, which leaves two engine entries per call). The
    // function is called inside the event loop's `block_on`, as
    // ScriptRunner calls a script: a task queued from outside it would
    // have to wake the loop's driver through the kernel.
    let call = std::cell::RefCell::new(|f: &v8::Global<v8::Function>| -> i32 {
        runtime
            .op_state()
            .borrow_mut()
            .put(FetchContext::new(client.clone(), None, &limits));
        let result = driver.block_on(async {
            let result = {
                deno_core::scope!(scope, &mut runtime);
                let f = v8::Local::new(scope, f);
                let receiver = v8::undefined(scope).into();
                let result = f.call(scope, receiver, &[]).unwrap();
                v8::Global::new(scope, result)
            };
            runtime
                .run_event_loop(PollEventLoopOptions::default())
                .await
                .unwrap();
            result
        });
        deno_core::scope!(scope, &mut runtime);
        let result = v8::Local::new(scope, result);
        let value = match v8::Local::<v8::Promise>::try_from(result) {
            Ok(promise) => {
                assert_eq!(promise.state(), v8::PromiseState::Fulfilled);
                promise.result(scope)
            }
            Err(_) => result,
        };
        value.int32_value(scope).unwrap()
    });
    let run = |f: &v8::Global<v8::Function>, expected: i32| {
        let got = (call.borrow_mut())(f);
        assert_eq!(got, expected);
    };

    let mut group = c.benchmark_group("web_fetch");
    let mut windows = SameWindows::default();
    group.bench_function("sync_fetch_json_1k", |b| {
        b.iter_custom(|i| windows.run(i, 0, || run(&sync, 40), || run(&web, 40)))
    });
    group.bench_function("web_fetch_json_1k", |b| {
        b.iter_custom(|i| windows.run(i, 1, || run(&sync, 40), || run(&web, 40)))
    });
    if let Some(ratio) = windows.ratio() {
        println!(
            "web_fetch: web_fetch_json_1k / sync_fetch_json_1k over the same windows: {ratio:.3}"
        );
    }
    group.bench_function("event_loop_settles_a_promise", |b| {
        b.iter(|| run(&settle_baseline, 11))
    });
    group.bench_function("sync_refused_call", |b| b.iter(|| run(&sync_refused, 11)));
    group.bench_function("web_refused_call", |b| b.iter(|| run(&web_refused, 11)));
    let mut windows = SameWindows::default();
    group.sample_size(10);
    group.bench_function("one_call_50ms", |b| {
        b.iter_custom(|i| windows.run(i, 0, || run(&one_slow, 1), || run(&five_slow, 5)))
    });
    group.bench_function("five_parallel_calls_50ms", |b| {
        b.iter_custom(|i| windows.run(i, 1, || run(&one_slow, 1), || run(&five_slow, 5)))
    });
    if let Some(ratio) = windows.ratio() {
        println!(
            "web_fetch: five_parallel_calls_50ms / one_call_50ms over the same windows: {ratio:.3}"
        );
    }
    group.finish();
}

/// Evaluates `source` to a function kept across calls.
fn function(runtime: &mut JsRuntime, source: &str) -> v8::Global<v8::Function> {
    let value = runtime
        .execute_script("define.js", format!("({source})"))
        .unwrap();
    deno_core::scope!(scope, runtime);
    let local = v8::Local::new(scope, value);
    let f = v8::Local::<v8::Function>::try_from(local).unwrap();
    v8::Global::new(scope, f)
}

/// Calls `f` with no arguments; its result must be a small integer.
fn call(runtime: &mut JsRuntime, f: &v8::Global<v8::Function>) -> i32 {
    deno_core::scope!(scope, runtime);
    let f = v8::Local::new(scope, f);
    let receiver = v8::undefined(scope).into();
    let result = f.call(scope, receiver, &[]).unwrap();
    result.int32_value(scope).unwrap()
}

criterion_group!(all, benches);
criterion_main!(all);
