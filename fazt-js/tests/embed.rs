//! Embedding the extension in your own deno_core runtime, as the README
//! shows.

use deno_core::{JsRuntime, RuntimeOptions};
use fazt_js::FetchContext;
use fazt_policy::{EntryRules, Limits, RequestBudget};
use fazt_tests::Reply;

mod common;

#[test]
fn extension_in_a_plain_runtime() {
    let env = common::env(Limits::default(), EntryRules::default(), |_| {
        Reply::ok("embedded")
    });
    let limits = Limits::default();

    // --- as in the README ---
    fazt_js::disable_bytecode_cache();

    let mut runtime = JsRuntime::new(RuntimeOptions {
        extensions: vec![fazt_js::fazt_net::init()],
        ..Default::default()
    });
    runtime.op_state().borrow_mut().put(FetchContext {
        client: env.client.clone(),
        app: Some("shop".into()),
        budget: RequestBudget::new(&limits),
    });
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
        "NET_ERROR NET_ERROR: invalid option `fetch`: fazt.net.fetch is not available in this runtime"
    );
}
