//! Embedding the extension in your own deno_core runtime, as the README
//! shows.

use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use fazt_js::FetchContext;
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;

mod common;

#[test]
fn extension_in_a_plain_runtime() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("embedded")
    });
    let limits = Limits::default();

    // --- as in the README ---
    fazt_js::prepare_engine();

    let mut runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    runtime.op_state().borrow_mut().put(FetchContext::new(
        env.client.clone(),
        Some("shop".into()),
        &limits,
    ));
    let script = format!(
        "fazt.net.fetch('https://api.test:{}/').text()",
        env.up.port()
    );
    let value = runtime.execute_script("app.js", script).unwrap();
    // ---

    deno_core::scope!(scope, runtime);
    let local = deno_core::v8::Local::new(scope, value);
    assert_eq!(local.to_rust_string_lossy(scope), "embedded");
}

/// A plain runtime with the extension and a context for app `shop`.
fn plain_runtime(env: &common::Env) -> JsRuntime {
    let runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    runtime.op_state().borrow_mut().put(FetchContext::new(
        env.client.clone(),
        Some("shop".into()),
        &Limits::default(),
    ));
    runtime
}

/// The web's `fetch` returns a promise: the embedder drives deno_core's
/// event loop (on a current-thread tokio runtime with its timers) until
/// the promise settles.
#[test]
fn an_embedder_drives_the_event_loop_for_the_web_fetch() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("awaited")
    });
    let mut runtime = plain_runtime(&env);
    let script = format!(
        "Promise.all([1, 2].map(() => fetch('https://api.test:{}/').then((r) => r.text())))",
        env.up.port()
    );

    // --- as in the README ---
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _inside = driver.enter(); // calls start on this event loop
    let promise = runtime.execute_script("app.js", script).unwrap();
    let settled = runtime.resolve(promise);
    let value = driver
        .block_on(runtime.with_event_loop_promise(settled, PollEventLoopOptions::default()))
        .unwrap();
    // ---

    deno_core::scope!(scope, runtime);
    let local = deno_core::v8::Local::new(scope, value);
    let text: Vec<String> = deno_core::serde_v8::from_v8(scope, local).unwrap();
    assert_eq!(text, ["awaited", "awaited"]);
}

/// Outside a tokio runtime the web fetch is refused at once (deno_core
/// would otherwise abort the process when the call went pending).
#[test]
fn without_an_event_loop_the_web_fetch_is_refused() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    let mut runtime = plain_runtime(&env);
    let script = format!(
        "let seen; fetch('https://api.test:{}/').catch((e) => {{ seen = [e.code, e.message.includes('event loop')]; }}); \
         AbortSignal.timeout(10); 0",
        env.up.port()
    );
    runtime.execute_script("app.js", script).unwrap();
    runtime.v8_isolate().perform_microtask_checkpoint();
    let value = runtime.execute_script("seen.js", "seen").unwrap();
    deno_core::scope!(scope, runtime);
    let local = deno_core::v8::Local::new(scope, value);
    let seen: (String, bool) = deno_core::serde_v8::from_v8(scope, local).unwrap();
    assert_eq!(seen, ("NET_ERROR".to_string(), true));
}

#[test]
fn without_a_context_fetch_fails_cleanly() {
    let mut runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    let value = runtime
        .execute_script(
            "app.js",
            "try { fazt.net.fetch('https://a.test/') } catch (e) { e.code + ' ' + e.message }",
        )
        .unwrap();
    deno_core::scope!(scope, runtime);
    let local = deno_core::v8::Local::new(scope, value);
    assert_eq!(
        local.to_rust_string_lossy(scope),
        "NET_ERROR NET_ERROR: invalid option `fetch`: fetch is not available in this runtime: its OpState holds no FetchContext"
    );
}

/// An embedder that keeps one runtime for many requests drives its event
/// loop with `run_event_loop` and reads the promise it awaited (README,
/// "Embedding"): nothing of a request stays behind in the engine, so the
/// runtime serves requests without end. (deno_core's `resolve` makes two
/// native functions per call, whose engine entries are freed only with
/// the runtime.)
#[test]
fn a_long_lived_runtime_serves_requests_without_end() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    let mut served = Served::new(
        &env,
        "async () => { try { await fetch('https://evil.test/') } catch (e) { return e.code.length } }",
    );
    // Small blocks taken after each request keep the allocator from handing
    // the next request the addresses of the last one's, as a busy host's
    // other work does.
    let mut hold: Vec<Box<u64>> = Vec::new();
    for i in 0..40_000 {
        hold.extend((0..4).map(Box::new));
        assert_eq!(served.request(i), 11, "request {i}");
    }
}

/// A web fetch leaves nothing in the engine's heap once its promise has
/// settled, not even garbage in a reference cycle (which only the engine's
/// collector, scanning the whole heap, would free): a long-lived runtime's
/// heap is the same after 1 000 answered calls and after 2 000.
#[test]
fn answered_web_fetches_leave_nothing_in_the_heap() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("{\"a\":1}")
    });
    let handler = format!(
        "async () => (await (await fetch('https://api.test:{}/x')).json()).a",
        env.up.port()
    );
    let mut served = Served::new(&env, &handler);
    let mut used = Vec::new();
    for i in 1..=2_000 {
        assert_eq!(served.request(i), 1, "request {i}");
        if i % 1_000 == 0 {
            let heap = served.runtime.v8_isolate().get_heap_statistics();
            used.push(heap.used_heap_size());
        }
    }
    assert_eq!(
        used[0], used[1],
        "heap bytes in use after 1 000 and 2 000 calls"
    );
}

/// One runtime kept for many requests, with its event loop's driver.
struct Served {
    runtime: JsRuntime,
    driver: tokio::runtime::Runtime,
    handler: v8::Global<v8::Value>,
    client: fazt_transport::EgressClient,
}

impl Served {
    /// `handler`, an async function, compiled once in a plain runtime.
    fn new(env: &common::Env, handler: &str) -> Self {
        let mut runtime = plain_runtime(env);
        let driver = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let handler = {
            let _inside = driver.enter();
            runtime
                .execute_script("app.js", handler.to_string())
                .unwrap()
        };
        Served {
            runtime,
            driver,
            handler,
            client: env.client.clone(),
        }
    }

    /// Request `i`: the handler called with a fresh budget and the event
    /// loop run until nothing is pending (README, "Embedding"); the small
    /// integer its promise was fulfilled with.
    fn request(&mut self, i: usize) -> i32 {
        let _inside = self.driver.enter();
        self.runtime.op_state().borrow_mut().put(FetchContext::new(
            self.client.clone(),
            Some("shop".into()),
            &Limits::default(),
        ));
        // --- as in the README ---
        let promise = {
            deno_core::scope!(scope, &mut self.runtime);
            let f = v8::Local::new(scope, &self.handler);
            let f = v8::Local::<v8::Function>::try_from(f).unwrap();
            let undefined = v8::undefined(scope).into();
            let p = f.call(scope, undefined, &[]).unwrap();
            v8::Global::new(scope, v8::Local::<v8::Promise>::try_from(p).unwrap())
        };
        self.driver
            .block_on(self.runtime.run_event_loop(PollEventLoopOptions::default()))
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        deno_core::scope!(scope, &mut self.runtime);
        let promise = v8::Local::new(scope, &promise);
        assert_eq!(promise.state(), v8::PromiseState::Fulfilled, "request {i}");
        // ---
        promise.result(scope).int32_value(scope).unwrap()
    }
}
