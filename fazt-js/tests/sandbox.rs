//! The script sandbox: the exact global a script sees, nothing internal
//! reachable from it, disabled ops, and the console's byte budget.

use deno_core::{Extension, JsRuntime, RuntimeOptions};
use fazt_js::ScriptError;
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

fn env_with(limits: Limits) -> common::Env {
    common::env(limits, EntryOverrides::default(), |_| Reply::ok("ok"))
}

/// The global's own names, strings and symbols, sorted. A name that
/// appears here (from a new deno_core or engine version, or a change of
/// ours) fails the snapshot until someone decides it belongs.
#[test]
fn global_names_are_pinned() {
    let env = env_with(Limits::default());
    let names = env.value("Reflect.ownKeys(globalThis).map(String).sort()");
    insta::assert_json_snapshot!(names);
}

/// Every object reachable from the global (property values, getters and
/// setters, prototypes; getters are not called) is searched for names of
/// deno_core or the engine.
#[test]
fn nothing_internal_is_reachable_from_the_global() {
    let env = env_with(Limits::default());
    let found = env.value(
        r#"
        const internal = /^(Deno|__bootstrap|__infra|gc|op_.*|__v8x.*|ShadowRealm|WebAssembly|performance)$/;
        const seen = new Set();
        const queue = [[globalThis, "globalThis"]];
        const found = [];
        while (queue.length > 0) {
            const [o, path] = queue.shift();
            if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
            seen.add(o);
            if (typeof o === "function" && internal.test(o.name)) found.push(`${path} is ${o.name}`);
            for (const key of Reflect.ownKeys(o)) {
                const name = String(key);
                if (internal.test(name)) found.push(`${path}.${name}`);
                const d = Reflect.getOwnPropertyDescriptor(o, key);
                for (const v of [d.value, d.get, d.set]) queue.push([v, `${path}.${name}`]);
            }
            queue.push([Reflect.getPrototypeOf(o), `${path}.__proto__`]);
        }
        [seen.size > 100, found]
        "#,
    );
    assert_eq!(found, json!([true, []]));
}

/// The op allowlist as an embedder uses it: with only the middleware (no
/// global clean-up), `Deno.core.ops` is still there, and a disabled op
/// throws instead of running. (Async ops answer through a promise; a script
/// in a sandboxed runtime reaches neither kind.)
#[test]
fn a_disabled_op_throws_and_never_runs() {
    let locked = Extension {
        name: "locked",
        middleware_fn: Some(Box::new(fazt_js::sandbox::allow_op)),
        ..Default::default()
    };
    let mut runtime = runtime_with(vec![locked]);
    let v = text_of(
        &mut runtime,
        r#"
        const results = [];
        for (const name of ["op_panic", "op_print", "op_eval_context", "op_encode", "op_op_names"]) {
            try { Deno.core.ops[name]("x"); results.push(`${name} ran`); }
            catch (e) { results.push(e.message); }
        }
        results.join(";")
        "#,
    );
    assert_eq!(v, ["op is disabled"; 5].join(";"));
}

#[test]
fn the_allowlist_names_only_ops_that_exist() {
    let mut runtime = runtime_with(vec![fazt_js::fazt_net::init()]);
    let names = text_of(&mut runtime, "Object.keys(Deno.core.ops).join(',')");
    let names: Vec<&str> = names.split(',').collect();
    let sandbox_only = [
        "op_fazt_set_completion",
        "op_fazt_seal_later",
        "op_fazt_refuse_imports",
    ];
    for op in fazt_js::sandbox::ALLOWED_OPS {
        assert!(
            names.contains(op) || sandbox_only.contains(op),
            "{op} is not an op"
        );
    }
}

#[test]
fn console_output_stops_at_its_byte_budget_with_a_marker() {
    let mut limits = Limits::default();
    limits.set("max_console_bytes", 1024).unwrap();
    let env = env_with(limits);
    // 600 + 600 bytes, each with its line break: the second line is cut
    // after 422 bytes, inside a two-byte character (at an odd offset),
    // which is kept whole or not at all.
    let out = env.run(
        r#"
        console.log("a".repeat(600));
        console.log("b" + "é".repeat(300));
        console.log("never kept");
        "done"
        "#,
    );
    assert_eq!(out.result, Ok(json!("done")));
    assert_eq!(out.console.len(), 3, "{:?}", out.console);
    assert_eq!(out.console[0], "a".repeat(600));
    assert_eq!(out.console[1], format!("b{}", "é".repeat(210)));
    assert_eq!(
        out.console[2],
        "[console output truncated: over max_console_bytes (1024 bytes)]"
    );
}

#[test]
fn empty_console_lines_spend_the_byte_budget() {
    // Each kept line is a string in the host's memory: a line costs its
    // line break, so empty lines end at the budget like any others.
    let mut limits = Limits::default();
    limits.set("max_console_bytes", 1024).unwrap();
    let env = env_with(limits);
    let out = env.run(r#"for (let i = 0; i < 100000; i++) console.log(""); "done""#);
    assert_eq!(out.result, Ok(json!("done")));
    assert_eq!(out.console.len(), 1025, "1024 empty lines and the marker");
    assert!(out.console[..1024].iter().all(String::is_empty));
    assert_eq!(
        out.console[1024],
        "[console output truncated: over max_console_bytes (1024 bytes)]"
    );
}

#[test]
fn a_console_bomb_keeps_only_the_default_budget() {
    let env = env_with(Limits::default());
    let out = env.run(
        r#"
        const line = "x".repeat(8 << 20);
        for (let i = 0; i < 40; i++) console.log(line);
        "done"
        "#,
    );
    assert_eq!(out.result, Ok(json!("done")));
    let kept: usize = out.console.iter().map(String::len).sum();
    assert!(kept <= 64 * 1024 + 100, "kept {kept} bytes");
    assert_eq!(out.console.len(), 2);
    assert!(out.console[1].starts_with("[console output truncated"));
}

#[test]
fn uncaught_values_that_are_not_errors_are_described_without_running_them() {
    let env = env_with(Limits::default());
    for (script, message) in [
        ("throw 'plain'", "Uncaught plain"),
        ("throw 42", "Uncaught 42"),
        ("throw null", "Uncaught null"),
        ("throw Symbol('s')", "Uncaught Symbol()"),
        ("throw { toString() { throw 1; } }", "Uncaught [object]"),
        (
            "throw new Proxy({}, { get() { throw 1; } })",
            "Uncaught [object]",
        ),
        ("throw new TypeError('t')", "Uncaught TypeError: t"),
        (
            "class E extends Error {}; E.prototype.name = 'E'; throw new E('m')",
            "Uncaught E: m",
        ),
    ] {
        // The description, then the script's frames (for an error).
        match env.run(script).result {
            Err(ScriptError::Uncaught { message: got, .. }) => {
                assert_eq!(got.lines().next(), Some(message), "{script}: {got}")
            }
            other => panic!("{script}: {other:?}"),
        }
    }
}

#[test]
fn atomics_cannot_block_a_script() {
    let env = env_with(Limits::default());
    let v = env.value(
        r#"
        const ia = new Int32Array(new ArrayBuffer(16));
        const names = [];
        for (const f of [() => Atomics.wait(ia, 0, 0, 30000), () => Atomics.waitAsync(ia, 0, 0, 30000)]) {
            try { f(); names.push("waited"); } catch (e) { names.push(e.name); }
        }
        [names, Atomics.notify(ia, 0), Atomics.add(ia, 0, 1), (() => { try { Atomics.notify(ia, 9); } catch (e) { return e.name; } })()]
        "#,
    );
    assert_eq!(v, json!([["TypeError", "TypeError"], 0, 0, "RangeError"]));
}

#[test]
fn the_completion_value_uses_the_engines_json_even_if_the_script_replaced_it() {
    let env = env_with(Limits::default());
    let v = env.value("JSON.stringify = () => '\"forged\"'; ({ a: [1, 'x', null, true] })");
    assert_eq!(v, json!({ "a": [1, "x", null, true] }));
    let out = env.run("({ toJSON() { return undefined; } })");
    assert!(
        matches!(out.result, Err(ScriptError::Result(ref m)) if m.contains("cannot be represented as JSON")),
        "{:?}",
        out.result
    );
}

#[test]
fn an_exception_in_a_microtask_is_reported_on_the_console_and_the_run_goes_on() {
    let env = env_with(Limits::default());
    let out = env.run(
        r#"
        queueMicrotask(() => { throw new TypeError("in a microtask"); });
        queueMicrotask(() => { throw new Proxy({}, { get() { throw 1; } }); });
        (async () => { await null; return "went on"; })()
        "#,
    );
    assert_eq!(out.result, Ok(json!("went on")));
    assert_eq!(
        out.console,
        ["Uncaught TypeError: in a microtask", "Uncaught [object]"]
    );
}

/// The sandbox as an embedder adds it to a runtime of their own.
#[test]
fn an_embedder_runtime_with_the_sandbox_extension_has_the_script_global() {
    let mut runtime = runtime_with(vec![
        fazt_js::fazt_net::init(),
        fazt_js::fazt_sandbox::init(fazt_js::sandbox::Seal::OnLoad),
    ]);
    let v = text_of(
        &mut runtime,
        "[typeof Deno, typeof __bootstrap, typeof fazt.net.fetch, typeof console.log].join()",
    );
    assert_eq!(v, "undefined,undefined,function,function");
}

/// A blocking fetch cannot be interrupted by the engine: its timeout is cut
/// to what is left of the run, so an upstream slower than the run's limit
/// does not hold the run past it.
#[test]
fn a_fetch_never_outlives_the_run() {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 1000).unwrap();
    let env = common::env(limits, EntryOverrides::default(), |_| {
        std::thread::sleep(std::time::Duration::from_millis(3000));
        Reply::ok("late")
    });
    let started = std::time::Instant::now();
    let out = env.run(r#"fazt.net.fetch("BASE/slow").text()"#);
    let took = started.elapsed();
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 1000 }));
    assert!(
        took < std::time::Duration::from_millis(1800),
        "took {took:?}"
    );
}

#[test]
fn a_result_over_max_result_bytes_is_refused_before_it_is_parsed() {
    let mut limits = Limits::default();
    limits.set("max_result_bytes", 1024).unwrap();
    let env = env_with(limits);
    assert_eq!(env.value("'x'.repeat(1000)"), json!("x".repeat(1000)));
    for (script, why) in [
        // Over the limit in UTF-16 units: refused inside the engine.
        ("'x'.repeat(2000)", "over max_result_bytes (1024 bytes)"),
        // 600 units, 1202 bytes of UTF-8: refused by the host.
        (
            "'é'.repeat(600)",
            "the result is 1202 bytes, over max_result_bytes (1024 bytes)",
        ),
    ] {
        let out = env.run(script);
        assert!(
            matches!(out.result, Err(ScriptError::Result(ref m)) if m.contains(why)),
            "{script}: {:?}",
            out.result
        );
    }
}

#[test]
fn request_bodies_of_every_kind_arrive_byte_for_byte() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |seen| {
        Reply::ok(
            seen.body
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
    });
    let v = env.value(
        r#"
        const all = new Uint8Array(256).map((_, i) => i);
        const post = (body) => fazt.net.fetch("BASE/x", { method: "POST", body }).text();
        const whole = post(all);
        [whole.split(",").length,
         whole === Array.from(all).join(","),
         post(all.subarray(250)),
         post(new DataView(all.buffer, 1, 2)),
         post(all.buffer.slice(0, 3)),
         post("é")]
        "#,
    );
    assert_eq!(
        v,
        json!([
            256,
            true,
            "250,251,252,253,254,255",
            "1,2",
            "0,1,2",
            "195,169"
        ])
    );
}

#[test]
fn response_text_is_decoded_as_the_web_does() {
    let env = common::env(
        Limits::default(),
        EntryOverrides::default(),
        |seen| match seen.target.as_str() {
            "/bom" => Reply::ok(b"\xEF\xBB\xBFhi".to_vec()),
            "/invalid" => Reply::ok(b"a\xFFb".to_vec()),
            _ => Reply::ok("caf\u{e9}"),
        },
    );
    let v = env.value(
        r#"["/bom", "/invalid", "/utf8"].map((p) => {
            const r = fazt.net.fetch("BASE" + p);
            return [r.text(), Array.from(r.bytes()).length];
        })"#,
    );
    assert_eq!(v, json!([["hi", 5], ["a\u{fffd}b", 3], ["café", 5]]));
}

/// A runtime whose sandbox waits for its host to seal it shows deno_core's
/// global until sealed; sealing twice is refused (the seal is gone).
#[test]
fn a_runtime_sealed_by_its_host_is_sealed_once() {
    let mut runtime = runtime_with(vec![
        fazt_js::fazt_net::init(),
        fazt_js::fazt_sandbox::init(fazt_js::sandbox::Seal::ByHost),
    ]);
    let names =
        |runtime: &mut JsRuntime| text_of(runtime, "[typeof Deno, typeof __faztSeal].join()");
    assert_eq!(names(&mut runtime), "object,function");
    fazt_js::sandbox::seal(&mut runtime).unwrap();
    assert_eq!(names(&mut runtime), "undefined,undefined");
    assert_eq!(
        fazt_js::sandbox::seal(&mut runtime),
        Err(fazt_js::sandbox::SealError::Missing)
    );
}

/// A runtime of an embedder's, with `extensions`.
fn runtime_with(extensions: Vec<Extension>) -> JsRuntime {
    fazt_js::prepare_engine();
    JsRuntime::new(RuntimeOptions {
        extensions,
        ..Default::default()
    })
}

/// The completion value of `source`, run in `runtime`, as text.
fn text_of(runtime: &mut JsRuntime, source: &str) -> String {
    let v = runtime
        .execute_script("probe.js", source.to_string())
        .unwrap();
    deno_core::scope!(scope, runtime);
    deno_core::v8::Local::new(scope, v).to_rust_string_lossy(scope)
}
