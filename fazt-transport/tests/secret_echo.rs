//! Hostile upstreams against the secret, redirect, cache and classifier
//! rules: a secret's own origin that echoes what it received (into a
//! `Location` host, path or query, in any percent-encoding, into header
//! names and values) must neither get it back to the script nor hand it to
//! another origin. Over loopback only.

use std::sync::Arc;

use fazt_policy::{Classifier, EntryOverrides, InjectAs, Limits, NetError, Policy, RequestBudget};
use fazt_tests::{
    allowlist, localhost, loopback_client, loopback_range, test_policy, MemorySecrets, Reply, Seen,
    TestCa, Upstream,
};
use fazt_transport::{EgressClient, RedirectMode, Request, Response, StaticLookup, TransportError};

/// A lowercase secret that is also a valid DNS label, header name and
/// URL scheme.
const LABEL_SECRET: &str = "sk-live-sentinel42";
/// A base64-like secret with characters that need percent-encoding.
const B64_SECRET: &str = "sk/live+SENTINEL=";

struct Env {
    up: Upstream,
    client: EgressClient,
    limits: Limits,
}

fn names() -> Vec<String> {
    vec![
        "api.test".into(),
        "other.test".into(),
        "*.api.test".into(),
        format!("{LABEL_SECRET}.api.test"),
    ]
}

fn start(
    entries: &[(&str, EntryOverrides)],
    limits: Limits,
    secrets: MemorySecrets,
    extra_names: &[&str],
    handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Env {
    let ca = TestCa::with_names(&["api.test", "other.test", "*.api.test"]);
    let up = Upstream::tls(&ca, handler);
    let port = up.port().to_string();
    let owned: Vec<(String, EntryOverrides)> = entries
        .iter()
        .map(|(e, r)| (e.replace("{port}", &port), *r))
        .collect();
    let refs: Vec<(&str, EntryOverrides)> = owned.iter().map(|(e, r)| (e.as_str(), *r)).collect();
    let policy = test_policy(allowlist(&refs), limits);
    let names = names();
    let mut names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.starts_with('*'))
        .collect();
    names.extend_from_slice(extra_names);
    let client = loopback_client(policy, &ca, &names)
        .secrets(Arc::new(secrets))
        .build()
        .unwrap();
    Env { up, client, limits }
}

impl Env {
    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.up.port())
    }
    fn fetch_as(&self, app: Option<&str>, req: Request) -> Result<Response, NetError> {
        let mut budget = RequestBudget::new(&self.limits);
        self.client.fetch(app, req, &mut budget)
    }
    fn fetch(&self, req: Request) -> Result<Response, NetError> {
        self.fetch_as(None, req)
    }
}

fn secrets() -> MemorySecrets {
    MemorySecrets::default()
        .with(
            "LBL_HDR",
            InjectAs::Header("x-api-key".into()),
            LABEL_SECRET,
            Some("api.test"),
        )
        .with(
            "LBL_QRY",
            InjectAs::Query("key".into()),
            LABEL_SECRET,
            Some("api.test"),
        )
        .with(
            "LBL_BEARER",
            InjectAs::Bearer,
            LABEL_SECRET,
            Some("api.test"),
        )
        .with(
            "B64_HDR",
            InjectAs::Header("x-api-key".into()),
            B64_SECRET,
            Some("api.test"),
        )
        .with(
            "B64_QRY",
            InjectAs::Query("key".into()),
            B64_SECRET,
            Some("api.test"),
        )
}

/// The secret the upstream received, in whichever place it was put.
fn received(seen: &Seen) -> String {
    if let Some(v) = seen.header("x-api-key") {
        return v.to_string();
    }
    if let Some(v) = seen.header("authorization") {
        return v.trim_start_matches("Bearer ").to_string();
    }
    let q = seen.target.split_once('?').map_or("", |(_, q)| q);
    for pair in q.split('&') {
        if let Some(v) = pair.strip_prefix("key=") {
            return pct_decode(&v.replace('+', " "));
        }
    }
    String::new()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` percent-encoded: every byte `keep` refuses, in upper- or
/// lower-case hex.
fn pct(s: &str, keep: impl Fn(u8) -> bool, upper: bool) -> String {
    s.bytes()
        .map(|b| match (keep(b), upper) {
            (true, _) => char::from(b).to_string(),
            (false, true) => format!("%{b:02X}"),
            (false, false) => format!("%{b:02x}"),
        })
        .collect()
}

/// Lowercase-hex percent-encoding of every non-alphanumeric byte.
fn pct_lower(s: &str) -> String {
    pct(s, |b| b.is_ascii_alphanumeric(), false)
}

/// Python's `urllib.parse.quote` (safe="/"): `/` stays, the rest uppercase.
fn pct_python(s: &str) -> String {
    pct(
        s,
        |b| b.is_ascii_alphanumeric() || b"_.-~/".contains(&b),
        true,
    )
}

/// A URL as a query value: all but alphanumerics and `-._`, uppercase.
fn pct_url(s: &str) -> String {
    pct(
        s,
        |b| b.is_ascii_alphanumeric() || b"-._".contains(&b),
        true,
    )
}

/// Every byte encoded, alphanumerics too (uppercase hex).
fn pct_everything(s: &str) -> String {
    pct(s, |_| false, true)
}

fn port_of(seen: &Seen) -> String {
    seen.header("host")
        .and_then(|h| h.rsplit(':').next())
        .unwrap_or("0")
        .to_string()
}

/// Whether `text`, or its percent-decoded form, holds `secret`.
fn shows(text: &str, secret: &str) -> bool {
    text.contains(secret) || pct_decode(text).contains(secret)
}

fn response_shows(r: &Response, secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    if shows(&r.url, secret) {
        out.push(format!("url: {}", r.url));
    }
    for (n, v) in r.headers.pairs() {
        if shows(n, secret) || shows(v, secret) {
            out.push(format!("header {n}: {v}"));
        }
    }
    out
}

// ---------------------------------------------------------------------
// 1. Error messages: fields other than `reason` are never scrubbed.
// ---------------------------------------------------------------------

fn hostile_locations(seen: &Seen) -> Reply {
    let s = received(seen);
    let port = port_of(seen);
    let path = seen.target.split('?').next().unwrap_or("");
    match path {
        "/to-unlisted-host" => Reply::redirect(302, &format!("https://{s}.evil.test/")),
        "/to-scheme" => Reply::redirect(302, &format!("{s}:whatever")),
        "/to-userinfo" => Reply::redirect(302, &format!("https://u:p@{s}.evil.test/")),
        "/to-wildcard" => Reply::redirect(302, &format!("https://{s}.api.test:{port}/landing")),
        "/to-wildcard-unresolved" => {
            Reply::redirect(302, &format!("https://x{s}.api.test:{port}/landing"))
        }
        "/to-wildcard-http" => Reply::redirect(302, &format!("http://{s}.api.test:{port}/")),
        _ => Reply::ok("landed"),
    }
}

#[test]
fn secret_in_a_location_never_comes_back_in_an_error() {
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("*.api.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        secrets(),
        &[],
        hostile_locations,
    );
    let mut leaks = Vec::new();
    for auth in ["LBL_HDR", "LBL_QRY", "LBL_BEARER"] {
        for path in [
            "/to-unlisted-host",
            "/to-scheme",
            "/to-userinfo",
            "/to-wildcard-unresolved",
            "/to-wildcard-http",
        ] {
            let r = env.fetch(Request::get(env.url("api.test", path)).auth(auth));
            match r {
                Ok(resp) => println!("{auth} {path}: answered {}", resp.status),
                Err(e) => {
                    let text = format!("{e}");
                    println!("{auth} {path}: rule={} msg={text}", e.rule());
                    if text.contains(LABEL_SECRET) {
                        leaks.push(format!("{auth} {path}: {text}"));
                    }
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secret in error messages:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------
// 2. A secret echoed into a Location host goes to another origin.
// ---------------------------------------------------------------------

#[test]
fn secret_in_a_location_host_never_reaches_another_origin() {
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("*.api.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        secrets(),
        &[],
        hostile_locations,
    );
    let mut problems = Vec::new();
    for auth in ["LBL_HDR", "LBL_QRY", "LBL_BEARER"] {
        let before = env.up.seen().len();
        let r = env.fetch(Request::get(env.url("api.test", "/to-wildcard")).auth(auth));
        let seen = env.up.seen().split_off(before);
        match &r {
            Ok(resp) => println!("{auth}: {} url={}", resp.status, resp.url),
            Err(e) => println!("{auth}: {e}"),
        }
        for s in seen.iter().skip(1) {
            if format!("{s:?}").contains(LABEL_SECRET) {
                problems.push(format!(
                    "{auth}: other origin received it: host={:?}",
                    s.header("host")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------
// 3. Percent-encodings the scrub does not know.
// ---------------------------------------------------------------------

fn encoding_echo(seen: &Seen) -> Reply {
    let s = received(seen);
    let path = seen.target.split('?').next().unwrap_or("");
    let forms = format!(
        "lower={} python={} all={}",
        pct_lower(&s),
        pct_python(&s),
        pct_everything(&s)
    );
    match path {
        "/r-lower" => Reply::redirect(302, &format!("/done?e={}", pct_lower(&s))),
        "/r-python" => Reply::redirect(302, &format!("/done?e={}", pct_python(&s))),
        "/r-all" => Reply::redirect(302, &format!("/done?e={}", pct_everything(&s))),
        "/manual" => {
            Reply::redirect(302, &format!("/done?e={}", pct_lower(&s))).header("x-echo", &forms)
        }
        _ => Reply::ok("done").header("x-echo", &forms),
    }
}

#[test]
fn secret_in_any_percent_encoding_never_comes_back() {
    let env = start(
        &[("api.test:{port}", EntryOverrides::default())],
        Limits::default(),
        secrets(),
        &[],
        encoding_echo,
    );
    let mut leaks = Vec::new();
    for auth in ["B64_HDR", "B64_QRY"] {
        for (path, mode) in [
            ("/r-lower", RedirectMode::Follow),
            ("/r-python", RedirectMode::Follow),
            ("/r-all", RedirectMode::Follow),
            ("/manual", RedirectMode::Manual),
            ("/plain", RedirectMode::Follow),
        ] {
            let r = env
                .fetch(
                    Request::get(env.url("api.test", path))
                        .auth(auth)
                        .redirect(mode),
                )
                .unwrap();
            for l in response_shows(&r, B64_SECRET) {
                leaks.push(format!("{auth} {path}: {l}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "decodable secret returned:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------
// 4. Response header names are not scrubbed.
// ---------------------------------------------------------------------

#[test]
fn a_header_named_after_the_secret_is_dropped() {
    let env = start(
        &[("api.test:{port}", EntryOverrides::default())],
        Limits::default(),
        secrets(),
        &[],
        |seen| {
            let s = received(seen);
            Reply::ok("x").header(&s, "1")
        },
    );
    let mut leaks = Vec::new();
    for auth in ["LBL_HDR", "LBL_QRY", "LBL_BEARER"] {
        let r = env
            .fetch(Request::get(env.url("api.test", "/h")).auth(auth))
            .unwrap();
        for l in response_shows(&r, LABEL_SECRET) {
            leaks.push(format!("{auth}: {l}"));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

// ---------------------------------------------------------------------
// 5. The echo rule only removes whole query values.
// ---------------------------------------------------------------------

fn login_redirector(seen: &Seen) -> Reply {
    let port = port_of(seen);
    let s = received(seen);
    let path = seen.target.split('?').next().unwrap_or("");
    let full = format!("https://api.test:{port}{}", seen.target);
    let enc = pct_url(&full);
    match path {
        // The usual login bounce: the whole original URL in return_to.
        "/private" => Reply::redirect(
            302,
            &format!("https://other.test:{port}/login?return_to={enc}"),
        ),
        // The query string carried in the path.
        "/in-path" => Reply::redirect(302, &format!("https://other.test:{port}/k/{s}")),
        // The value re-emitted decoded (a '+' stays a '+').
        "/raw-plus" => Reply::redirect(302, &format!("https://other.test:{port}/x?key={s}")),
        _ => Reply::ok("other"),
    }
}

#[test]
fn secret_embedded_in_a_location_never_reaches_another_origin() {
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("other.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        secrets(),
        &[],
        login_redirector,
    );
    let mut problems = Vec::new();
    for (auth, secret) in [("LBL_QRY", LABEL_SECRET), ("B64_QRY", B64_SECRET)] {
        for path in ["/private?page=2", "/in-path", "/raw-plus"] {
            let before = env.up.seen().len();
            let r = env.fetch(Request::get(env.url("api.test", path)).auth(auth));
            let seen = env.up.seen().split_off(before);
            for s in seen.iter().filter(|s| {
                s.header("host")
                    .is_some_and(|h| h.starts_with("other.test"))
            }) {
                if shows(&s.target, secret) || shows(&s.target.replace('+', " "), secret) {
                    problems.push(format!("{auth} {path}: other.test got {}", s.target));
                }
            }
            match r {
                // The hop that would carry it is refused, naming the rule.
                Err(e) if e.rule() == "secret-origin" => {}
                Err(e) => problems.push(format!("{auth} {path}: refused by another rule: {e}")),
                Ok(r) => {
                    for l in response_shows(&r, secret) {
                        problems.push(format!("{auth} {path}: returned {l}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------
// 6. Caller credentials and the injected value.
// ---------------------------------------------------------------------

fn bouncer(seen: &Seen) -> Reply {
    let port = port_of(seen);
    let path = seen.target.split('?').next().unwrap_or("");
    match path {
        "/start" => Reply::redirect(308, &format!("https://other.test:{port}/bounce")),
        "/bounce" => Reply::redirect(308, &format!("https://api.test:{port}/back")),
        "/port" => Reply::redirect(307, &format!("https://api.test:{port}/same")),
        "/see" => Reply::redirect(303, "/after"),
        "/moved" => Reply::redirect(301, "/after"),
        _ => Reply::ok("end"),
    }
}

#[test]
fn caller_credentials_and_the_injected_value() {
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("other.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        secrets(),
        &[],
        bouncer,
    );
    let mut problems = Vec::new();
    for auth in [None, Some("LBL_HDR"), Some("LBL_BEARER"), Some("LBL_QRY")] {
        let before = env.up.seen().len();
        let mut req = Request::get(env.url("api.test", "/start"))
            .method("POST")
            .body("payload")
            .header("authorization", "Bearer caller1")
            .header("AUTHORIZATION", "Bearer caller2")
            .header("Cookie", "c=caller")
            .header("cOOkie", "d=caller")
            .header("X-API-KEY", "caller-key")
            .header("x-api-key", "caller-key2");
        if let Some(a) = auth {
            req = req.auth(a);
        }
        let r = env.fetch(req);
        let seen = env.up.seen().split_off(before);
        if auth == Some("LBL_QRY") {
            // A query secret never follows to another origin: the first
            // hop is refused, and nothing reaches other.test.
            match &r {
                Err(e) if e.rule() == "secret-origin" && seen.len() == 1 => {}
                other => problems.push(format!("query secret followed: {other:?}")),
            }
        } else if let Err(e) = &r {
            problems.push(format!("{auth:?}: {e}"));
        }
        for (i, s) in seen.iter().enumerate() {
            let host = s.header("host").unwrap_or("");
            let all_auth: Vec<&str> = s
                .headers
                .iter()
                .filter(|(n, _)| n == "authorization" || n == "cookie" || n == "x-api-key")
                .map(|(_, v)| v.as_str())
                .collect();
            println!(
                "  hop {i} {host} {} {:?} body={:?}",
                s.target,
                all_auth,
                String::from_utf8_lossy(&s.body)
            );
            if i > 0 && (s.header("authorization").is_some() || s.header("cookie").is_some()) {
                problems.push(format!(
                    "{auth:?} hop {i} {host}: caller credential followed"
                ));
            }
            if i > 0 && format!("{s:?}").contains(LABEL_SECRET) {
                problems.push(format!("{auth:?} hop {i} {host}: secret after leaving"));
            }
            if i == 0 && auth.is_some() && auth != Some("LBL_QRY") {
                let name = if auth == Some("LBL_HDR") {
                    "x-api-key"
                } else {
                    "authorization"
                };
                let vals: Vec<&str> = s
                    .headers
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                if vals.len() != 1 || !vals[0].contains(LABEL_SECRET) {
                    problems.push(format!("{auth:?}: injected value did not win: {vals:?}"));
                }
            }
        }
    }
    // 303 and 301-on-POST: GET without body or content-*.
    for path in ["/see", "/moved"] {
        let before = env.up.seen().len();
        env.fetch(
            Request::get(env.url("api.test", path))
                .method("post")
                .header("Content-Type", "text/plain")
                .header("CONTENT-LANGUAGE", "en")
                .body("zzz"),
        )
        .unwrap();
        let seen = env.up.seen().split_off(before);
        let s = &seen[1];
        if s.method != "GET"
            || !s.body.is_empty()
            || s.headers
                .iter()
                .any(|(n, _)| n.starts_with("content-") && n != "content-length")
        {
            problems.push(format!("{path}: {s:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------
// 7. Redirect modes with a secret.
// ---------------------------------------------------------------------

#[test]
fn error_and_manual_modes_with_a_secret() {
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("other.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        secrets(),
        &[],
        |seen| {
            let s = received(seen);
            Reply::redirect(302, &format!("https://{s}.evil.test/{s}?k={s}"))
                .header("x-echo", &s)
                .header("set-cookie", &format!("sess={s}"))
        },
    );
    let mut problems = Vec::new();
    for auth in ["LBL_HDR", "LBL_QRY", "LBL_BEARER"] {
        let before = env.up.seen().len();
        let e = env
            .fetch(
                Request::get(env.url("api.test", "/x"))
                    .auth(auth)
                    .redirect(RedirectMode::Error),
            )
            .unwrap_err();
        if e.rule() != "redirect" || e.to_string().contains(LABEL_SECRET) {
            problems.push(format!("error mode {auth}: {e}"));
        }
        let r = env
            .fetch(
                Request::get(env.url("api.test", "/x"))
                    .auth(auth)
                    .redirect(RedirectMode::Manual),
            )
            .unwrap();
        if r.status != 302 {
            problems.push(format!("manual {auth}: {}", r.status));
        }
        for l in response_shows(&r, LABEL_SECRET) {
            problems.push(format!("manual {auth}: {l}"));
        }
        println!("manual {auth}: {:?}", r.headers.pairs());
        assert_eq!(env.up.seen().len() - before, 2);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------
// 8. The cache.
// ---------------------------------------------------------------------

#[test]
fn the_cache_is_never_shared() {
    let cached = EntryOverrides {
        cache_ttl_s: 60,
        ..EntryOverrides::default()
    };
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    let env = start(
        &[("api.test:{port}", cached), ("other.test:{port}", cached)],
        Limits::default(),
        secrets(),
        &[],
        move |seen| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = seen.target.split('?').next().unwrap_or("");
            let port = port_of(seen);
            if path == "/redir" {
                return Reply::redirect(302, &format!("https://other.test:{port}/c"));
            }
            Reply::ok(format!(
                "n={n} auth={:?} cookie={:?} key={:?}",
                seen.header("authorization"),
                seen.header("cookie"),
                seen.header("x-api-key")
            ))
        },
    );
    let url = env.url("api.test", "/c");
    let mut problems = Vec::new();
    // Prime without anything, as app A.
    let a = env.fetch_as(Some("A"), Request::get(&url)).unwrap();
    let b = env.fetch_as(Some("B"), Request::get(&url)).unwrap();
    if b.from_cache {
        problems.push("app B got app A's answer".to_string());
    }
    let g = env.fetch_as(None, Request::get(&url)).unwrap();
    if g.from_cache {
        problems.push("global got an app's answer".to_string());
    }
    // With a secret: never from the cache, never stored.
    for auth in ["LBL_HDR", "LBL_BEARER", "LBL_QRY"] {
        let r = env
            .fetch_as(Some("A"), Request::get(&url).auth(auth))
            .unwrap();
        if r.from_cache {
            problems.push(format!("{auth}: served from the cache"));
        }
    }
    // Credentials in every case spelling, and a body / other method.
    for (n, v) in [("AUTHORIZATION", "x"), ("cookie", "y"), ("Cookie", "z")] {
        let r1 = env
            .fetch_as(Some("A"), Request::get(&url).header(n, v))
            .unwrap();
        let r2 = env
            .fetch_as(Some("A"), Request::get(&url).header(n, v))
            .unwrap();
        if r1.from_cache || r2.from_cache {
            problems.push(format!("{n}: cached"));
        }
    }
    let r = env
        .fetch_as(Some("A"), Request::get(&url).body("q"))
        .unwrap();
    if r.from_cache {
        problems.push("a GET with a body was served from the cache".into());
    }
    for mode in [RedirectMode::Manual, RedirectMode::Error] {
        let r = env
            .fetch_as(Some("A"), Request::get(&url).redirect(mode))
            .unwrap();
        if r.from_cache {
            problems.push(format!("{mode:?}: from cache"));
        }
    }
    // A redirected answer is not stored under the first URL.
    let r1 = env
        .fetch_as(Some("A"), Request::get(env.url("api.test", "/redir")))
        .unwrap();
    let r2 = env
        .fetch_as(Some("A"), Request::get(env.url("api.test", "/redir")))
        .unwrap();
    if r2.from_cache {
        problems.push(format!(
            "redirected answer cached: {} {}",
            r1.redirected, r2.redirected
        ));
    }
    let _ = a;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------
// 9. Rate limits on every hop.
// ---------------------------------------------------------------------

#[test]
fn the_rate_limit_applies_on_every_hop() {
    let limited = EntryOverrides {
        rate_limit: 1,
        rate_burst: 2,
        ..EntryOverrides::default()
    };
    let env = start(
        &[("api.test:{port}", limited)],
        Limits::default(),
        secrets(),
        &[],
        |_| Reply::redirect(302, "/loop"),
    );
    let e = env
        .fetch(Request::get(env.url("api.test", "/loop")))
        .unwrap_err();
    println!("{e}");
    assert_eq!(e.rule(), "rate_limit", "{e}");
    assert_eq!(env.up.seen().len(), 2);
}

// ---------------------------------------------------------------------
// 10. The classifier cannot be weakened outside dangerous().
// ---------------------------------------------------------------------

#[test]
fn the_classifier_is_weakened_only_through_the_door() {
    let list = allowlist(&[("api.test", EntryOverrides::default())]);
    let weak = Policy::new(
        list.clone(),
        Classifier::new().with_allow_ranges([loopback_range()]),
        Limits::default(),
    )
    .unwrap();
    match EgressClient::builder(weak).build() {
        Err(TransportError::AllowRangesOutsideDangerous(r)) => println!("refused: {r:?}"),
        Err(e) => panic!("other error {e}"),
        Ok(_) => panic!("a policy with allow_ranges was built"),
    }
    let weak2 = test_policy(list.clone(), Limits::default())
        .with_classifier(Classifier::new().with_allow_ranges(["0.0.0.0/0".parse().unwrap()]));
    assert!(matches!(
        EgressClient::builder(weak2).build(),
        Err(TransportError::AllowRangesOutsideDangerous(_))
    ));
    // Through the builder's other doors the client's classifier keeps
    // only what dangerous() gave.
    let client = EgressClient::builder(test_policy(list.clone(), Limits::default()))
        .dangerous()
        .own_addresses(Vec::new())
        .finish()
        .build()
        .unwrap();
    client.set_allowlist(list.clone());
    client.set_limits(Limits::default());
    assert!(client.policy().classifier().allow_ranges().is_empty());
    // A client without allow_ranges: loopback refused at connect time.
    let lookup = StaticLookup::new().with("api.test", [localhost()]);
    let client = EgressClient::builder(test_policy(list, Limits::default()))
        .dangerous()
        .lookup(Arc::new(lookup))
        .own_addresses(Vec::new())
        .finish()
        .build()
        .unwrap();
    let mut budget = RequestBudget::new(&Limits::default());
    let e = client
        .fetch(None, Request::get("https://api.test/"), &mut budget)
        .unwrap_err();
    println!("{e}");
    assert_eq!(e.rule(), "address");
    let _ = names();
}

// ---------------------------------------------------------------------
// 11. A mixed-case secret echoed into a host comes back lowercased.
// ---------------------------------------------------------------------

#[test]
fn a_mixed_case_secret_in_a_host_never_comes_back() {
    const MIXED: &str = "SkLiveMixed42";
    let lower = MIXED.to_ascii_lowercase();
    let env = start(
        &[
            ("api.test:{port}", EntryOverrides::default()),
            ("*.api.test:{port}", EntryOverrides::default()),
        ],
        Limits::default(),
        MemorySecrets::default().with(
            "MIX",
            InjectAs::Header("x-api-key".into()),
            MIXED,
            Some("api.test"),
        ),
        &[&format!("{lower}.api.test")],
        |seen| {
            let s = received(seen);
            let port = port_of(seen);
            if seen.target.starts_with("/go") {
                Reply::redirect(302, &format!("https://{s}.api.test:{port}/landing"))
            } else {
                Reply::ok("x")
            }
        },
    );
    // The hop to the secret's lowercased host is another origin: refused,
    // and the message names the secret's own host only.
    let e = env
        .fetch(Request::get(env.url("api.test", "/go")).auth("MIX"))
        .unwrap_err();
    assert_eq!(e.rule(), "secret-origin", "{e}");
    assert!(!e.to_string().to_ascii_lowercase().contains(&lower), "{e}");
    assert_eq!(env.up.seen().len(), 1, "only the first request was made");
}

// ---------------------------------------------------------------------
// 12. Spellings the URL parser or a refusal would make of the secret.
// ---------------------------------------------------------------------

/// A header secret with `value`, bound to api.test.
fn header_secret(value: &str) -> MemorySecrets {
    MemorySecrets::default().with(
        "S",
        InjectAs::Header("x-api-key".into()),
        value,
        Some("api.test"),
    )
}

/// Each secret, echoed by api.test into a `Location` the way the case
/// says: the hop is refused by the echo rule, other.test gets nothing, and
/// no text the script sees holds the secret or what the parser made of it.
#[test]
fn an_echo_the_parser_would_rewrite_is_refused_without_quoting_it() {
    // (case, secret, Location made of it, what the parser would show)
    type Case = (
        &'static str,
        &'static str,
        fn(&str, &str) -> String,
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "a numeric secret as the port",
            "8443",
            |s, _| format!("https://api.test:{s}/"),
            "8443",
        ),
        (
            "a numeric secret as an IP literal",
            "2130706433",
            |s, _| format!("https://{s}/"),
            "127.0.0.1",
        ),
        (
            "a quote in a host",
            "sk\"live42",
            |s, _| format!("https://{s}.evil.test/"),
            "live42",
        ),
        (
            "a fragment in the path",
            "skLive#Frag42",
            |s, p| format!("https://other.test:{p}/x/{s}"),
            "sklive",
        ),
        (
            "a backslash in the path",
            "sk\\live42",
            |s, p| format!("https://other.test:{p}/x/{s}"),
            "live42",
        ),
        (
            "a non-ASCII host (punycode)",
            "clé42",
            |s, p| format!("https://{s}.api.test:{p}/"),
            "xn--cl42",
        ),
        (
            "a backslash on the same origin",
            "abcd\\efgh",
            |s, _| format!("/land/{s}"),
            "efgh",
        ),
        (
            "a tab inside a numeric port",
            "31337",
            |s, _| format!("https://api.test:{}\t{}/", &s[..3], &s[3..]),
            "31337",
        ),
    ];
    for &(case, secret, location, parsed) in cases {
        let env = start(
            &[
                ("api.test:{port}", EntryOverrides::default()),
                ("*.api.test:{port}", EntryOverrides::default()),
                ("other.test:{port}", EntryOverrides::default()),
            ],
            Limits::default(),
            header_secret(secret),
            &[],
            move |seen| {
                if seen
                    .header("host")
                    .is_some_and(|h| h.starts_with("api.test"))
                {
                    Reply::redirect(302, &location(secret, &port_of(seen)))
                } else {
                    Reply::ok("elsewhere")
                }
            },
        );
        let e = env
            .fetch(Request::get(env.url("api.test", "/go")).auth("S"))
            .unwrap_err();
        assert_eq!(e.rule(), "secret-origin", "{case}: {e}");
        let text = e.to_string().to_lowercase();
        assert!(!text.contains(&secret.to_lowercase()), "{case}: {e}");
        assert!(!text.contains(parsed), "{case}: {e}");
        assert_eq!(env.up.seen().len(), 1, "{case}: only the first request");
    }
}

/// A `+` a form decoder turned into a space is still the secret.
#[test]
fn a_plus_turned_space_never_comes_back() {
    let env = start(
        &[("api.test:{port}", EntryOverrides::default())],
        Limits::default(),
        header_secret("sk/live+SENTINEL="),
        &[],
        |seen| Reply::ok("x").header("x-echo", &received(seen).replace('+', " ")),
    );
    let r = env
        .fetch(Request::get(env.url("api.test", "/h")).auth("S"))
        .unwrap();
    assert_eq!(r.headers.first("x-echo"), Some("[REDACTED]"));
}

/// A tab inside the echoed value (which a URL parser drops) does not hide
/// it from the scrub of a manual redirect's `location`.
#[test]
fn a_tab_split_secret_never_comes_back_in_a_manual_location() {
    let env = start(
        &[("api.test:{port}", EntryOverrides::default())],
        Limits::default(),
        header_secret("tabsecretvalue99"),
        &[],
        |seen| {
            let s = received(seen);
            Reply::redirect(302, &format!("/x/{}\t{}", &s[..8], &s[8..]))
        },
    );
    let r = env
        .fetch(
            Request::get(env.url("api.test", "/go"))
                .auth("S")
                .redirect(RedirectMode::Manual),
        )
        .unwrap();
    assert_eq!(r.headers.first("location"), Some("[REDACTED]"));
}
