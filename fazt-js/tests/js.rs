//! `fazt.net.fetch` from JavaScript, end to end over loopback TLS, on the
//! default (QuickJS) backend.

use std::time::Duration;

use fazt_js::ScriptError;
use fazt_policy::{EntryOverrides, Limits, NetError};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;
use common::{env, Env, SECRET};

fn echo(seen: &Seen) -> Reply {
    let path = seen.target.split('?').next().unwrap_or("");
    match path {
        "/json" => Reply::ok(r#"{"items":[1,2,3],"name":"fazt"}"#)
            .header("content-type", "application/json"),
        "/bad-json" => Reply::ok("{not json"),
        "/bytes" => Reply::ok(vec![0u8, 1, 2, 255]),
        "/headers" => Reply::ok("h")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .header("vary", "Accept")
            .header("vary", "Origin")
            .header("get", "sneaky")
            .header("has", "sneaky")
            .header("__proto__", "sneaky")
            .header("x-single", "one"),
        "/redirect" => Reply::redirect(302, "/json"),
        "/slow" => {
            std::thread::sleep(Duration::from_millis(1300));
            Reply::ok("slow")
        }
        "/slow-1100" => {
            std::thread::sleep(Duration::from_millis(1100));
            Reply::ok("slow")
        }
        "/big" => Reply::ok(vec![b'x'; 4096]),
        _ => {
            let auth = seen.header("authorization").unwrap_or("none").to_string();
            Reply::ok(format!(
                "{} {} {} {}",
                seen.method,
                seen.target,
                auth,
                String::from_utf8_lossy(&seen.body)
            ))
            .header("content-type", "text/plain")
        }
    }
}

fn default_env() -> Env {
    env(Limits::default(), EntryOverrides::default(), echo)
}

#[test]
fn get_and_post_with_string_and_byte_bodies() {
    let env = default_env();
    let v = env.value(
        r#"
        const a = fazt.net.fetch("BASE/echo?x=1");
        const b = fazt.net.fetch("BASE/echo", { method: "POST", body: "hello ✓", headers: { "content-type": "text/plain" } });
        const c = fazt.net.fetch("BASE/echo", { method: "put", body: new Uint8Array([104, 105]) });
        const d = fazt.net.fetch("BASE/echo", { method: "POST", body: new Uint8Array([111, 107]).buffer });
        [a.status, a.ok, a.statusText, a.text(), b.text(), c.text(), d.text()]
        "#,
    );
    assert_eq!(
        v,
        json!([
            200,
            true,
            "OK",
            "GET /echo?x=1 none ",
            "POST /echo none hello ✓",
            "PUT /echo none hi",
            "POST /echo none ok"
        ])
    );
}

#[test]
fn text_json_and_bytes() {
    let env = default_env();
    let v = env.value(
        r#"
        const j = fazt.net.fetch("BASE/json").json();
        const b = fazt.net.fetch("BASE/bytes").bytes();
        let err;
        try { fazt.net.fetch("BASE/bad-json").json(); } catch (e) { err = e; }
        [j.items.length, j.name, Array.from(b), b instanceof Uint8Array, err instanceof SyntaxError]
        "#,
    );
    assert_eq!(v, json!([3, "fazt", [0, 1, 2, 255], true, true]));
}

#[test]
fn response_fields_serialize_and_keep_the_body_private() {
    let env = default_env();
    let v = env.value(
        r#"
        const r = fazt.net.fetch("BASE/bytes");
        const copy = r.bytes();
        copy[0] = 9;
        const seen = JSON.parse(JSON.stringify(r));
        [r.status, r.ok, r.statusText, r.url === "BASE/bytes", r.redirected,
         Object.keys(r), Object.keys(seen), seen.headers["content-length"],
         Array.from(r.bytes()), r.text().length]
        "#,
    );
    let fields = json!(["status", "ok", "statusText", "url", "redirected"]);
    assert_eq!(
        v,
        json!([
            200,
            true,
            "OK",
            true,
            false,
            fields,
            ["status", "ok", "statusText", "url", "redirected", "headers"],
            "4",
            [0, 1, 2, 255],
            4
        ])
    );
}

#[test]
fn headers_repeated_and_named_like_methods() {
    let env = default_env();
    let v = env.value(
        r#"
        const h = fazt.net.fetch("BASE/headers").headers;
        [h["x-single"], h["set-cookie"], h.get("vary"), h.get("Set-Cookie"), h.getSetCookie(),
         h.has("x-single"), h.has("nope"), h.get("nope"), typeof h.get, h.get("get"), h.get("has"),
         Object.getPrototypeOf(h) === Object.getPrototypeOf(fazt.net.fetch("BASE/json").headers),
         JSON.parse(JSON.stringify(h))["x-single"]]
        "#,
    );
    assert_eq!(
        v,
        json!([
            "one",
            "a=1",
            "Accept, Origin",
            "a=1, b=2",
            ["a=1", "b=2"],
            true,
            false,
            null,
            "function",
            "sneaky",
            "sneaky",
            true,
            "one"
        ])
    );
}

#[test]
fn redirect_reports_final_url() {
    let env = default_env();
    let v = env.value(
        r#"const r = fazt.net.fetch("BASE/redirect"); [r.url, r.redirected, r.json().name]"#,
    );
    assert_eq!(
        v,
        json!([
            format!("https://api.test:{}/json", env.up.port()),
            true,
            "fazt"
        ])
    );
}

/// Runs a call inside try/catch and returns the error's shape.
const CATCH: &str = r#"
    function attempt(f) {
      try { f(); return "no error"; }
      catch (e) {
        return [e.name, e.code, typeof e.retryable, e.retryable, e.message.startsWith(e.code + ": "), e instanceof Error,
                Object.keys(e).includes("code")];
      }
    }
"#;

#[test]
fn every_error_code_is_catchable_with_its_shape() {
    let limits = Limits::default();
    let rules = EntryOverrides {
        max_response: 1024,
        rate_limit: 1,
        rate_burst: 1,
        ..EntryOverrides::default()
    };
    let env = env(limits, rules, echo);
    let v = env.value(&format!(
        r#"{CATCH}
        [attempt(() => fazt.net.fetch("https://evil.test/")),
         attempt(() => fazt.net.fetch("BASE/big")),
         attempt(() => fazt.net.fetch("BASE/json")),
         attempt(() => fazt.net.fetch("BASE/json", {{ auth: "NOPE" }})),
         attempt(() => fazt.net.fetch(42))]"#
    ));
    let shape = |code: &str, retryable: bool| {
        json!(["NetError", code, "boolean", retryable, true, true, true])
    };
    assert_eq!(
        v,
        json!([
            shape("NET_BLOCKED", false),
            shape("NET_SIZE", false),
            shape("NET_RATE", true),
            shape("NET_AUTH", false),
            shape("NET_ERROR", false)
        ])
    );
    // NET_TIMEOUT, with the caller's timeout.
    let env = default_env();
    let v = env.value(&format!(
        r#"{CATCH} attempt(() => fazt.net.fetch("BASE/slow", {{ timeout: 1000 }}))"#
    ));
    assert_eq!(v, shape("NET_TIMEOUT", false));
    let v = env.value(r#"try { fazt.net.fetch("BASE/json", {auth: "NOPE"}) } catch (e) { e.retryAfter === undefined }"#);
    assert_eq!(v, json!(true));
    let v = env.value(
        r#"const r = fazt.net.fetch("BASE/json"); let e2; try { fazt.net.fetch("BASE/json") } catch (e) { e2 = e }
           e2 === undefined ? "no rate limit here" : e2.code"#,
    );
    assert_eq!(v, json!("no rate limit here"));
}

#[test]
fn rate_limit_error_carries_retry_after() {
    let env = env(
        Limits::default(),
        EntryOverrides {
            rate_limit: 60,
            rate_burst: 1,
            ..EntryOverrides::default()
        },
        echo,
    );
    let v = env.value(
        r#"fazt.net.fetch("BASE/json");
           try { fazt.net.fetch("BASE/json"); } catch (e) { [e.code, e.retryable, e.retryAfter > 0 && e.retryAfter <= 1000] }"#,
    );
    assert_eq!(v, json!(["NET_RATE", true, true]));
}

#[test]
fn concurrency_limit_is_retryable() {
    let mut limits = Limits::default();
    limits.set("app_concurrency", 1).unwrap();
    let env = env(limits, EntryOverrides::default(), echo);
    let client = env.client.clone();
    let url = format!("https://api.test:{}/slow", env.up.port());
    let holder = std::thread::spawn(move || {
        client.fetch(
            Some("shop"),
            fazt_transport::Request::get(url),
            &mut fazt_policy::RequestBudget::new(&limits),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let out = env.run_as(
        Some("shop"),
        r#"try { fazt.net.fetch("BASE/json"); "no error" } catch (e) { [e.code, e.retryable] }"#,
    );
    assert_eq!(out.result, Ok(json!(["NET_LIMIT", true])));
    holder.join().unwrap().unwrap();
}

#[test]
fn sixth_call_is_a_non_retryable_limit() {
    let env = default_env();
    let out = env.run(
        r#"const seen = [];
           try { fazt.net.fetch("https://evil.test/") } catch (e) { seen.push(e.code) }   // refused calls count
           try { fazt.net.fetch(42) } catch (e) { seen.push(e.code) }                      // so do bad arguments
           for (let i = 0; i < 3; i++) seen.push(fazt.net.fetch("BASE/json").status);
           try { fazt.net.fetch("BASE/json") } catch (e) { seen.push([e.code, e.retryable, e.message]) }
           seen"#,
    );
    assert_eq!(
        out.result,
        Ok(json!([
            "NET_BLOCKED",
            "NET_ERROR",
            200,
            200,
            200,
            [
                "NET_LIMIT",
                false,
                "NET_LIMIT: call limit reached: at most 5 calls per request"
            ]
        ]))
    );
    assert_eq!(out.calls, 5);
}

#[test]
fn budget_spent_by_a_slow_upstream() {
    let env = default_env();
    let v = env.value(
        r#"const codes = [];
           for (let i = 0; i < 4; i++) {
             try { fazt.net.fetch("BASE/slow-1100"); codes.push(200) } catch (e) { codes.push([e.code, e.retryable]) }
           }
           codes"#,
    );
    // 1.1 s each of a 4 s budget: after three calls 0.7 s is left, less
    // than min_net_time (1 s).
    assert_eq!(v, json!([200, 200, 200, ["NET_BUDGET", true]]));
}

#[test]
fn options_are_checked_and_unknown_fields_ignored() {
    let env = default_env();
    let v = env.value(&format!(
        r#"{CATCH}
        const msg = (f) => {{ try {{ f(); return "ok" }} catch (e) {{ return e.message }} }};
        [msg(() => fazt.net.fetch(42)),
         msg(() => fazt.net.fetch("BASE/json", {{ headers: "x" }})),
         msg(() => fazt.net.fetch("BASE/json", {{ headers: [["a"]] }})),
         msg(() => fazt.net.fetch("BASE/json", {{ body: {{}} }})),
         msg(() => fazt.net.fetch("BASE/json", {{ redirect: "sometimes" }}))]"#
    ));
    assert_eq!(
        v,
        json!([
            "NET_ERROR: invalid option `url`: expected a string, got number",
            "NET_ERROR: invalid option `headers`: expected an object or [name, value] pairs, got string",
            "NET_ERROR: invalid option `headers`: expected [name, value] pairs",
        ])
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .chain([
            json!("NET_ERROR: invalid option `body`: expected a string, Uint8Array or ArrayBuffer, got object"),
            json!("NET_ERROR: invalid option `redirect`: expected \"follow\", \"manual\" or \"error\""),
        ])
        .collect::<serde_json::Value>()
    );
    let v = env.value(r#"fazt.net.fetch("BASE/echo", { unknown: 1, headers: [["x-a", "1"]], redirect: "manual" }).status"#);
    assert_eq!(v, json!(200));
}

#[test]
fn infinite_loop_is_stopped_and_the_next_run_works() {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 300).unwrap();
    let env = env(limits, EntryOverrides::default(), echo);
    let started = std::time::Instant::now();
    let out = env.run("try { while (true) {} } catch (e) { 'caught' }");
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 300 }));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A fresh run is unaffected by the termination.
    let out = env.run(r#"fazt.net.fetch("BASE/json").json().name"#);
    assert_eq!(out.result, Ok(json!("fazt")));
}

#[test]
fn termination_during_a_blocking_call_does_not_leak() {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", 500).unwrap();
    let env = env(limits, EntryOverrides::default(), echo);
    // The watchdog fires while the op blocks on the slow upstream.
    let out = env.run(r#"fazt.net.fetch("BASE/slow"); while (true) {}"#);
    assert_eq!(out.result, Err(ScriptError::Timeout { limit_ms: 500 }));
    let out = env.run("1 + 1");
    assert_eq!(out.result, Ok(json!(2)));
}

#[test]
fn memory_bomb_is_stopped() {
    let env = default_env();
    let runner = env.runner.clone().heap_limit(32 * 1024 * 1024);
    let out = runner.run(None, "const a = []; try { while (true) a.push('x'.repeat(1000000) + a.length); } catch (e) { 'caught' }");
    assert_eq!(
        out.result,
        Err(ScriptError::OutOfMemory {
            limit_bytes: 32 * 1024 * 1024
        })
    );
    assert_eq!(
        out.result.unwrap_err().to_string(),
        "script stopped: out of memory (heap limit 33554432 bytes)"
    );
    // The runtime that ran out of memory is gone; the next run is fresh.
    assert_eq!(runner.run(None, "typeof a").result, Ok(json!("undefined")));
}

#[test]
fn allocations_larger_than_the_heap_do_not_outgrow_it() {
    // Each array is about the size of the whole heap: the limit must hold
    // (not be raised) while the termination unwinds.
    let env = default_env();
    let runner = env.runner.clone().heap_limit(16 * 1024 * 1024);
    let started = std::time::Instant::now();
    let out = runner.run(
        None,
        "const a = []; while (true) a.push(new Array(1000000).fill(1));",
    );
    assert_eq!(
        out.result,
        Err(ScriptError::OutOfMemory {
            limit_bytes: 16 * 1024 * 1024
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn globals_do_not_leak_between_runs() {
    let env = default_env();
    assert_eq!(
        env.run("globalThis.leak = 42; fazt.net.x = 1; typeof fazt.net.x")
            .result,
        Ok(json!("undefined"))
    );
    assert_eq!(
        env.run("typeof globalThis.leak").result,
        Ok(json!("undefined"))
    );
}

#[test]
fn secrets_reach_the_upstream_but_never_the_script() {
    let env = default_env();
    let out = env.run(
        r#"const r = fazt.net.fetch("BASE/echo", { auth: "API_KEY" });
           const q = fazt.net.fetch("BASE/echo?x=1", { auth: "QUERY_KEY" });
           let err; try { fazt.net.fetch("BASE/echo", { auth: "NOPE" }) } catch (e) { err = e }
           const everything = JSON.stringify({ r, q, err, headers: r.headers, qh: q.headers, rb: Array.from(r.bytes()),
             globals: Object.getOwnPropertyNames(globalThis), fazt });
           console.log(everything.length > 0 ? "dumped" : "empty");
           [r.text().includes("Bearer"), everything.includes("SENTINEL"), q.url.includes("key=")]"#,
    );
    // The upstream echoes the header into the body (the script sees what
    // the upstream chose to send back); nothing else the script holds, the
    // error and the response objects included, contains the secret.
    assert_eq!(out.result, Ok(json!([true, false, false])));
    let seen = env.up.seen();
    assert!(seen
        .iter()
        .any(|s| s.header("authorization") == Some(&format!("Bearer {SECRET}"))));
    assert!(seen
        .iter()
        .any(|s| s.target.contains(&format!("key={SECRET}"))));
    // Without the echo, nothing the script can reach contains the secret.
    let env = env_without_echo();
    let out = env.run(
        r#"const r = fazt.net.fetch("BASE/plain", { auth: "API_KEY" });
           const q = fazt.net.fetch("BASE/plain?x=1", { auth: "QUERY_KEY" });
           JSON.stringify({ r, q, h: r.headers.entries(), qh: q.headers.entries(), body: r.text(), url: q.url, fazt,
             keys: Object.getOwnPropertyNames(globalThis) })"#,
    );
    let dump = out.result.unwrap().to_string();
    assert!(!dump.contains("SENTINEL"), "{dump}");
    assert!(dump.contains("plain"), "{dump}");
}

fn env_without_echo() -> Env {
    env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("plain body").header("x-h", "1")
    })
}

#[test]
fn console_output_is_captured() {
    let env = default_env();
    let out = env.run(r#"console.log("a", 1, {b: 2}); console.error(new Error("boom")); "done""#);
    assert_eq!(out.console, ["a 1 {\"b\":2}", "Error: boom"]);
    assert_eq!(out.result, Ok(json!("done")));
}

#[test]
fn uncaught_net_error_and_await() {
    let env = default_env();
    let out = env.run(r#"fazt.net.fetch("https://evil.test/")"#);
    let refusal = out.uncaught_refusal().cloned();
    match out.result {
        Err(ScriptError::Net {
            code,
            message,
            location,
        }) => {
            // Where the call was made, as data.
            assert_eq!(
                location,
                Some(fazt_js::ScriptLocation {
                    file: "script.js".into(),
                    line: 1,
                    column: 10
                })
            );
            assert_eq!(code, fazt_policy::ErrorCode::Blocked);
            assert_eq!(
                message,
                "NET_BLOCKED: host evil.test is not on the allowlist"
            );
            // The refusal itself, for the host to explain.
            assert!(
                matches!(&refusal, Some(NetError::NotAllowlisted { host, .. }) if host == "evil.test"),
                "{refusal:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The same from a worker process, through the parent, and for the web
    // fetch's rejection.
    let isolated = env
        .runner
        .clone()
        .isolated(env!("CARGO_BIN_EXE_fazt-js-worker"));
    for script in [
        r#"fazt.net.fetch("https://evil.test/")"#,
        r#"fetch("https://evil.test/")"#,
    ] {
        let out = isolated.run(None, script);
        assert!(
            matches!(out.uncaught_refusal(), Some(NetError::NotAllowlisted { host, .. }) if host == "evil.test"),
            "{script}: {:?}",
            out.result
        );
    }
    let v = env.value(r#"(async () => { const r = await fazt.net.fetch("BASE/json"); return r.json().items; })()"#);
    assert_eq!(v, json!([1, 2, 3]));
    assert!(matches!(
        env.run("syntax error here").result,
        Err(ScriptError::Uncaught { .. })
    ));
}
