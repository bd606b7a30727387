//! The web's `fetch`: calls in flight together, the run's slots and budget,
//! aborts, and a run that ends with calls in flight.

use std::time::Duration;

use fazt_js::ScriptPool;
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::{Reply, Seen};
use serde_json::json;

mod common;

const WORKER: &str = env!("CARGO_BIN_EXE_fazt-js-worker");

/// `/slow/MS` answers after MS milliseconds; anything else at once, with
/// the Authorization header it got (or "none").
fn upstream(seen: &Seen) -> Reply {
    if let Some(ms) = seen.target.strip_prefix("/slow/") {
        let ms: u64 = ms.split('?').next().unwrap().parse().unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        return Reply::ok(format!("slept {ms}"));
    }
    Reply::ok(seen.header("authorization").unwrap_or("none").to_string())
        .header("content-type", "text/plain")
}

fn limits(set: &[(&str, u64)]) -> Limits {
    let mut limits = Limits::default();
    for (name, value) in set {
        limits.set(name, *value).unwrap();
    }
    limits
}

fn env(set: &[(&str, u64)]) -> common::Env {
    common::env(limits(set), EntryOverrides::default(), upstream)
}

/// `env`, its runs in worker processes when `isolated`.
fn isolated_if(isolated: bool, mut env: common::Env) -> common::Env {
    if isolated {
        env.runner = env.runner.clone().isolated(WORKER);
    }
    env
}

const FIVE_SLOW: &str = r#"
(async () => {
  const started = Date.now();
  const bodies = await Promise.all([1, 2, 3, 4, 5].map(() =>
    fetch("BASE/slow/200").then((r) => r.text())));
  return { bodies, ms: Date.now() - started };
})()
"#;

fn took_ms(v: &serde_json::Value) -> u64 {
    v["ms"].as_u64().unwrap()
}

#[test]
fn calls_started_together_are_in_flight_together() {
    let env = env(&[]);
    let v = env.value(FIVE_SLOW);
    assert_eq!(v["bodies"], json!(vec!["slept 200"; 5]));
    // One after the other they take a second; together, about 200 ms.
    assert!(took_ms(&v) < 800, "{v}");
}

#[test]
fn calls_in_flight_together_in_a_worker_process() {
    let env = isolated_if(true, env(&[]));
    let out = env.run(FIVE_SLOW);
    let v = out.result.unwrap();
    assert_eq!(v["bodies"], json!(vec!["slept 200"; 5]));
    assert!(took_ms(&v) < 800, "{v}");
    assert_eq!(out.calls, 5, "the parent counts the calls");
}

/// Calls beyond the app's slots wait for one of the run's own calls to
/// end instead of being refused.
#[test]
fn calls_beyond_the_apps_slots_wait_for_a_slot() {
    for isolated in [false, true] {
        let env = isolated_if(isolated, env(&[("app_concurrency", 2)]));
        let v = env.run_as(Some("shop"), FIVE_SLOW).result.unwrap();
        assert_eq!(
            v["bodies"],
            json!(vec!["slept 200"; 5]),
            "isolated: {isolated}"
        );
        // Three waves of at most two calls.
        assert!(took_ms(&v) >= 600, "isolated: {isolated}: {v}");
    }
}

/// The global cap still answers at once: NET_LIMIT, retryable, as a
/// TypeError that carries the NetError fields.
#[test]
fn a_full_global_cap_rejects_with_a_retryable_limit() {
    let env = env(&[("concurrency", 5)]);
    let port = env.up.port();
    let holders: Vec<_> = (0..5)
        .map(|_| {
            let client = env.client.clone();
            std::thread::spawn(move || {
                let mut budget = fazt_policy::RequestBudget::new(&Limits::default());
                let req =
                    fazt_transport::Request::get(format!("https://api.test:{port}/slow/1500"));
                client.fetch(Some("other"), req, &mut budget)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let v = env.value(
        r#"
        fetch("BASE/x").then(() => "made", (e) =>
          [e instanceof TypeError, e.name, e.code, e.retryable, e.message.startsWith("NET_LIMIT")])
        "#,
    );
    assert_eq!(v, json!([true, "NetError", "NET_LIMIT", true, true]));
    for h in holders {
        assert!(h.join().unwrap().is_ok());
    }
}

#[test]
fn every_call_counts_toward_max_calls() {
    let env = env(&[("max_calls", 3)]);
    let out = env.run(
        r#"
        Promise.allSettled([1, 2, 3, 4].map(() => fetch("BASE/x")))
          .then((all) => all.map((r) => r.status === "fulfilled" ? r.value.status : [r.reason.code, r.reason.retryable]))
        "#,
    );
    assert_eq!(out.result, Ok(json!([200, 200, 200, ["NET_LIMIT", false]])));
    assert_eq!(out.calls, 3);
}

/// The budget is charged the time during which at least one call was in
/// flight: three 700 ms calls together cost 700 ms of a 2000 ms budget,
/// so a fourth still starts (charged one after the other, they would have
/// spent it).
#[test]
fn calls_in_flight_together_are_charged_once() {
    let env = env(&[("budget_ms", 2000), ("exec_timeout_ms", 5000)]);
    let v = env.value(
        r#"
        (async () => {
          const three = await Promise.all([1, 2, 3].map(() => fetch("BASE/slow/700").then((r) => r.status)));
          const fourth = await fetch("BASE/slow/100").then((r) => r.status, (e) => e.code);
          return [three, fourth];
        })()
        "#,
    );
    assert_eq!(v, json!([[200, 200, 200], 200]));
}

/// An aborted call rejects at once with the signal's reason; its slot is
/// free again once the transport answers.
#[test]
fn an_aborted_call_rejects_at_once() {
    // The aborted calls go on in the transport and spend budget until
    // they end: a budget that leaves room for the last call.
    let env = env(&[
        ("app_concurrency", 1),
        ("exec_timeout_ms", 5000),
        ("budget_ms", 5000),
    ]);
    let v = env
        .run_as(
            Some("shop"),
            r#"
            (async () => {
              const c = new AbortController();
              const started = Date.now();
              const call = fetch("BASE/slow/1000", { signal: c.signal });
              c.abort();
              const reason = await call.then(() => "made", (e) => [e.name, e instanceof DOMException]);
              const abortedAfter = Date.now() - started;
              const t = AbortSignal.timeout(100);
              const timedOut = await fetch("BASE/slow/1000", { signal: t }).then(() => "made", (e) => e.name);
              // The only slot is taken until the first call's transport
              // answers; this call waits for it, then is made. The call
              // that timed out while it waited for the slot never was.
              const next = await fetch("BASE/x").then((r) => r.status);
              return { reason, abortedAfter, timedOut, next };
            })()
            "#,
        )
        .result
        .unwrap();
    assert_eq!(v["reason"], json!(["AbortError", true]));
    assert!(v["abortedAfter"].as_u64().unwrap() < 500, "{v}");
    assert_eq!(v["timedOut"], json!("TimeoutError"));
    assert_eq!(v["next"], json!(200));
    let slow_calls = env
        .up
        .seen()
        .iter()
        .filter(|s| s.target.starts_with("/slow/"))
        .count();
    assert_eq!(
        slow_calls, 1,
        "the call aborted before it had a slot was not made"
    );
}

#[test]
fn secrets_are_injected_and_never_seen() {
    let env = env(&[]);
    let v = env.value(
        r#"
        (async () => {
          const r = await fetch(new Request("BASE/x", { auth: "API_KEY" }));
          const text = await r.text();
          return [text.startsWith("Bearer sk_js_SENTINEL"), r.url.includes("SENTINEL"), r.ok];
        })()
        "#,
    );
    assert_eq!(v, json!([true, false, true]));
}

#[test]
fn a_pool_runs_web_fetches_back_to_back() {
    let env = env(&[]);
    let pool = ScriptPool::new(env.runner.clone(), 1).unwrap();
    let base = format!("https://api.test:{}", env.up.port());
    for i in 0..3 {
        let out = pool.run(
            None,
            &format!("fetch('{base}/x?{i}').then((r) => r.headers.get('content-type'))"),
        );
        assert_eq!(out.result, Ok(json!("text/plain")));
    }
}

/// A timer that falls due while another one's listener runs still fires
/// (it was re-armed with a negative delay, which meant "no timer").
#[test]
fn a_timer_due_during_another_ones_listener_still_fires() {
    let env = env(&[]);
    let v = env.value(
        r#"
        (async () => {
          const a = AbortSignal.timeout(10);
          const b = AbortSignal.timeout(15);
          a.addEventListener("abort", () => { const s = Date.now(); while (Date.now() - s < 20) {} });
          await new Promise((resolve) => b.addEventListener("abort", resolve));
          return [a.aborted, b.aborted];
        })()
        "#,
    );
    assert_eq!(v, json!([true, true]));
}

/// A call past max_calls is refused at once, even while the run's slots
/// are taken (it used to wait for a slot in a worker process, holding a
/// copy of its request).
#[test]
fn calls_past_max_calls_are_refused_before_they_wait() {
    for isolated in [false, true] {
        let env = isolated_if(isolated, env(&[("app_concurrency", 1), ("max_calls", 2)]));
        let v = env
            .run_as(
                Some("shop"),
                r#"
                (async () => {
                  const started = Date.now();
                  const settled = [1, 2, 3, 4].map(() => fetch("BASE/slow/400").then(
                    (r) => [r.status, Date.now() - started],
                    (e) => [e.code, Date.now() - started]));
                  return Promise.all(settled);
                })()
                "#,
            )
            .result
            .unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows[0][0], json!(200), "isolated: {isolated}: {v}");
        assert_eq!(rows[1][0], json!(200), "isolated: {isolated}: {v}");
        for refused in &rows[2..] {
            assert_eq!(refused[0], json!("NET_LIMIT"), "isolated: {isolated}: {v}");
            assert!(
                refused[1].as_u64().unwrap() < 300,
                "isolated: {isolated}: {v}"
            );
        }
    }
}

/// Request headers over `MAX_REQUEST_HEADER_BYTES` are refused before they
/// are copied out of the engine (one huge string given as many headers
/// would be copied once per header; a header of millions of characters
/// ended an isolated run as an engine failure, its frame over the pipe's
/// bound), by both fetches, in both modes, and the call counts.
#[test]
fn request_headers_too_large_are_refused_before_they_are_copied() {
    for isolated in [false, true] {
        let env = isolated_if(isolated, env(&[]));
        let out = env.run(
            r#"
            const big = "".repeat(4 << 20);
            const sync = (() => {
              try { fazt.net.fetch("BASE/x", { headers: Array(1000).fill(["x-a", big]) }); }
              catch (e) { return [e.code, e.message]; }
            })();
            fetch("BASE/x", { headers: { "x-a": "v".repeat(40000) } }).then(
              () => "made",
              (e) => [sync, [e instanceof TypeError, e.code, e.message]])
            "#,
        );
        let over =
            "NET_ERROR: invalid option `headers`: the request's headers are over 32768 bytes";
        assert_eq!(
            out.result,
            Ok(json!([["NET_ERROR", over], [true, "NET_ERROR", over]])),
            "isolated: {isolated}"
        );
        assert_eq!(out.calls, 2, "isolated: {isolated}");
    }
}

/// The blocking `fazt.net.fetch` takes one of the run's slots too: with
/// web calls in flight it waits for one of them, so the run never has
/// more than app_concurrency calls on the network.
#[test]
fn blocking_and_web_calls_share_the_runs_slots() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    for isolated in [false, true] {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (n, m) = (Arc::clone(&now), Arc::clone(&most));
        let env = common::env(
            limits(&[("app_concurrency", 2)]),
            EntryOverrides::default(),
            move |_| {
                let inflight = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(inflight, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(300));
                n.fetch_sub(1, Ordering::SeqCst);
                Reply::ok("ok")
            },
        );
        let env = isolated_if(isolated, env);
        let v = env
            .run_as(
                Some("shop"),
                r#"
                (async () => {
                  const web = [1, 2, 3, 4].map(() => fetch("BASE/x").then((r) => r.status));
                  const blocking = fazt.net.fetch("BASE/x").status;
                  return [await Promise.all(web), blocking];
                })()
                "#,
            )
            .result
            .unwrap();
        assert_eq!(
            v,
            json!([[200, 200, 200, 200], 200]),
            "isolated: {isolated}"
        );
        assert_eq!(most.load(Ordering::SeqCst), 2, "isolated: {isolated}");
    }
}

/// A call started one microtask after another is in flight with it too
/// (a call alone in flight is made on the script's thread; this one is
/// not alone).
#[test]
fn a_call_started_after_an_await_is_in_flight_with_the_first() {
    let env = env(&[]);
    let v = env.value(
        r#"
        (async () => {
          const started = Date.now();
          const a = fetch("BASE/slow/300");
          await null;
          const b = fetch("BASE/slow/300");
          await Promise.all([a, b]);
          return Date.now() - started;
        })()
        "#,
    );
    assert!(v.as_u64().unwrap() < 550, "{v} ms");
}

/// What `fetch` sends is what `new Request(input, init)` holds, whether
/// the script made the Request or `fetch` took the parts itself: method,
/// headers, body and its content type; a Request input's body is used by
/// the call; init overrides the Request's headers; a bad init rejects
/// with the constructor's TypeError, and an aborted signal of a Request
/// input rejects before anything is sent.
#[test]
fn fetch_sends_what_the_request_holds() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |seen| {
        Reply::ok(
            json!({
                "method": seen.method,
                "type": seen.header("content-type"),
                "x": seen.header("x-one"),
                "body": String::from_utf8_lossy(&seen.body),
            })
            .to_string(),
        )
    });
    let v = env.value(
        r#"
        (async () => {
          const echo = (r) => r.json();
          const plain = await fetch("BASE/a", { method: "post", body: "hi" }).then(echo);
          const req = new Request("BASE/b", { method: "PUT", body: "put", headers: { "x-one": "1" } });
          const fromRequest = await fetch(req).then(echo);
          const reuse = await fetch(req).then(() => "sent", (e) => [e.name, e.message]);
          const req2 = new Request("BASE/c", { method: "POST", body: "p", headers: { "x-one": "1" } });
          const overridden = await fetch(req2, { headers: { "x-one": "2" } }).then(echo);
          const badInit = await fetch("BASE/d", 5).then(() => "sent", (e) => [e.name, e.message]);
          const getBody = await fetch("BASE/d", { body: "x" }).then(() => "sent", (e) => e.name);
          const c = new AbortController();
          const req3 = new Request("BASE/e", { signal: c.signal });
          c.abort();
          const aborted = await fetch(req3).then(() => "sent", (e) => e.name);
          return { plain, fromRequest, used: req.bodyUsed, reuse, overridden, badInit, getBody, aborted };
        })()
        "#,
    );
    assert_eq!(
        v["plain"],
        json!({"method": "POST", "type": "text/plain;charset=UTF-8", "x": null, "body": "hi"})
    );
    assert_eq!(
        v["fromRequest"],
        json!({"method": "PUT", "type": "text/plain;charset=UTF-8", "x": "1", "body": "put"})
    );
    assert_eq!(v["used"], json!(true));
    assert_eq!(
        v["reuse"],
        json!([
            "TypeError",
            "Request: the input's body has already been consumed"
        ])
    );
    assert_eq!(v["overridden"]["x"], json!("2"));
    assert_eq!(v["overridden"]["body"], json!("p"));
    assert_eq!(
        v["badInit"],
        json!(["TypeError", "Request: init must be an object"])
    );
    assert_eq!(v["getBody"], json!("TypeError"));
    assert_eq!(v["aborted"], json!("AbortError"));
    let sent: Vec<String> = env.up.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(sent, ["/a", "/b", "/c"], "nothing refused was sent");
}

/// A call answered while the script's turn is still running is not alone
/// in flight until the script has seen its answer: its continuation may
/// start another call, which must then overlap with a call started in
/// that turn, not wait for it.
#[test]
fn an_answered_call_whose_continuation_has_not_run_is_still_in_flight() {
    let env = env(&[("exec_timeout_ms", 10000), ("budget_ms", 10000)]);
    let v = env.value(
        r#"
        (async () => {
          const t0 = Date.now();
          const z = fetch("BASE/slow/100");
          const q = fetch("BASE/slow/0");
          const zDone = z.then(() => fetch("BASE/slow/1000?b"));
          await q;
          // Still in this turn when z's answer arrives.
          const until = Date.now() + 400;
          while (Date.now() < until) {}
          const a = fetch("BASE/slow/1000?a");
          await Promise.all([a, zDone]);
          return Date.now() - t0;
        })()
        "#,
    );
    // Overlapping: ~1.4 s; one after the other: ~2.4 s.
    assert!(v.as_u64().unwrap() < 2000, "{v} ms");
}

/// An abort in the continuation of a call answered during the script's
/// turn still aborts a call started in that turn.
#[test]
fn an_abort_in_an_answered_calls_continuation_still_aborts() {
    let env = env(&[("exec_timeout_ms", 10000), ("budget_ms", 10000)]);
    let v = env.value(
        r#"
        (async () => {
          const c = new AbortController();
          const z = fetch("BASE/slow/100");
          const q = fetch("BASE/slow/0");
          z.then(() => c.abort());
          await q;
          const until = Date.now() + 400;
          while (Date.now() < until) {}
          const t1 = Date.now();
          const r = await fetch("BASE/slow/2000", { signal: c.signal }).then(() => "made", (e) => e.name);
          return [r, Date.now() - t1];
        })()
        "#,
    );
    assert_eq!(v[0], json!("AbortError"), "{v}");
    assert!(v[1].as_u64().unwrap() < 1000, "{v}");
}

/// A Request's body is sent once: a getter on `init` that sends the same
/// Request while `fetch(req, init)` reads it leaves the outer call with a
/// used body, which it refuses (as the web's Request constructor checks
/// the input's body at its end).
#[test]
fn a_requests_body_is_sent_once_even_from_an_init_getter() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |seen| {
        Reply::ok(String::from_utf8_lossy(&seen.body).into_owned())
    });
    let v = env.value(
        r#"
        (async () => {
          const req = new Request("BASE/x", { method: "POST", body: "once" });
          let inner;
          const init = { get method() { if (!inner) inner = fetch(req).then((r) => r.text()); return "POST"; } };
          const outer = await fetch(req, init).then(() => "sent", (e) => [e.name, e.message]);
          return [await inner, outer];
        })()
        "#,
    );
    assert_eq!(
        v,
        json!([
            "once",
            [
                "TypeError",
                "Request: the input's body has already been consumed"
            ]
        ])
    );
    assert_eq!(env.up.seen().len(), 1, "the body went out once");
}

/// A call refused the moment it begins still counts as received only once:
/// its answer does not make a call in flight look gone, so a call started
/// next is not made on the script's thread while the first one's
/// continuation, which aborts it, waits.
#[test]
fn a_refused_call_does_not_make_a_call_in_flight_look_gone() {
    let env = env(&[("exec_timeout_ms", 10000), ("budget_ms", 10000)]);
    let v = env.value(
        r#"
        (async () => {
          const c = new AbortController();
          const a = fetch("BASE/slow/600");
          await fetch("BASE/slow/0");
          a.then(() => c.abort());
          // Refused as it begins: a timeout must be positive.
          await fetch("BASE/x", { timeout: -1 }).catch((e) => e.code);
          await fetch("BASE/x", { timeout: -1 }).catch((e) => e.code);
          const t1 = Date.now();
          const r = await fetch("BASE/slow/2000", { signal: c.signal }).then(() => "made", (e) => e.name);
          return [r, Date.now() - t1];
        })()
        "#,
    );
    assert_eq!(v[0], json!("AbortError"), "{v}");
    assert!(v[1].as_u64().unwrap() < 1500, "{v}");
}

/// A script cannot make the promise of a call handed to a thread: were
/// its getter on `Promise.prototype.constructor` to answer deno_core's
/// species lookup with a constructor of its own, it could settle that
/// promise with a forged answer while the call is in flight, and the call
/// would look given back. Here the script tries, and an abort in the
/// continuation of the real answer still stops the next call.
#[test]
fn a_call_handed_to_a_thread_cannot_be_answered_by_the_script() {
    let env = env(&[("exec_timeout_ms", 8000), ("budget_ms", 10000)]);
    let v = env.value(
        r#"
        (async () => {
          const P = Promise;
          const inner = [];
          class Forged {
            constructor(exec) {
              let resolve;
              const p = new P((r, j) => { resolve = r; exec(r, j); });
              resolve([200, "", "", false, [], "forged", 0]);
              return p;
            }
          }
          try {
            Object.defineProperty(P.prototype, "constructor", {
              get() {
                // Only deno_core's own lookup, in its async-op stub.
                if (inner.length < 2 && String(new Error().stack).includes("setPromise")) {
                  inner.push(this);
                  return { [Symbol.species]: Forged };
                }
                return P;
              },
              configurable: true,
            });
          } catch {}
          const c = new AbortController();
          const a = fetch("BASE/slow/300?a");
          const b = fetch("BASE/slow/300?b");
          await a;
          await b;
          // The real answer of a, when it comes, aborts c.
          if (inner.length > 0) Reflect.apply(P.prototype.then, inner[0], [() => c.abort()]);
          else a.then(() => c.abort());
          const t = Date.now();
          const r = await fetch("BASE/slow/2000?c", { signal: c.signal }).then(() => "made", (e) => e.name);
          return [r, Date.now() - t, (await (await a).text()).slice(0, 5), inner.length];
        })()
        "#,
    );
    assert_eq!(v[0], json!("AbortError"), "{v}");
    assert!(v[1].as_u64().unwrap() < 1000, "{v}");
    assert_eq!(v[2], json!("slept"), "{v}");
    assert_eq!(v[3], json!(0), "{v}");
}

/// deno_core's async-op stub calls the raw op through `call`, looked up on
/// `Function.prototype` at each call: a script that replaced it was handed
/// the raw ops (the web fetch's wait, the timer's) and could call them at
/// will, give back a call in flight, or pile up pending timer waits in host
/// memory. `call` cannot be replaced, so nothing reaches them.
#[test]
fn a_script_cannot_reach_the_raw_async_ops() {
    let env = env(&[("exec_timeout_ms", 5000), ("budget_ms", 10000)]);
    let v = env.value(
        r#"
        (async () => {
          const seen = [];
          try {
            Function.prototype.call = function (thisArg, ...args) {
              seen.push(typeof this === "function" ? this.name : typeof this);
              return Reflect.apply(this, thisArg, args);
            };
          } catch {}
          const t = AbortSignal.timeout(150);
          const fired = new Promise((r) => t.addEventListener("abort", r));
          const [a, b] = await Promise.all([fetch("BASE/slow/100?a"), fetch("BASE/slow/100?b")]);
          await fired;
          return [a.status, b.status, t.aborted, seen.length];
        })()
        "#,
    );
    assert_eq!(v, json!([200, 200, true, 0]), "{v}");
}
