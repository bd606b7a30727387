//! The transport end to end, over loopback only: a local TLS upstream with a
//! CA made at test time, a resolver mapping the test names to 127.0.0.1, and
//! an `allow_ranges` override for 127.0.0.1/32.

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fazt_policy::{
    BlockReason, CanonicalHost, EntryOverrides, ErrorCode, InjectAs, Limits, NetError, Policy,
    RequestBudget,
};
use fazt_tests::{
    allowlist, localhost, loopback_range, test_policy, vectors, MemorySecrets, RecordingSink,
    Reply, Seen, TestCa, Upstream,
};
use fazt_transport::{EgressClient, LookupError, NameLookup, RedirectMode, Request, StaticLookup};

/// One upstream plus a client that trusts its CA and resolves the test
/// names to it.
struct Env {
    up: Upstream,
    client: EgressClient,
    log: Arc<RecordingSink>,
    limits: Limits,
}

struct Setup {
    entries: Vec<(String, EntryOverrides)>,
    limits: Limits,
    lookup: Option<Arc<dyn NameLookup>>,
    secrets: Option<MemorySecrets>,
    trust_ca: bool,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            entries: Vec::new(),
            limits: Limits::default(),
            lookup: None,
            secrets: None,
            trust_ca: true,
        }
    }

    /// Allows `host` on the upstream's port (`{port}` is replaced).
    fn allow(mut self, host: &str, rules: EntryOverrides) -> Setup {
        self.entries.push((host.to_string(), rules));
        self
    }

    fn limit(mut self, name: &str, value: u64) -> Setup {
        self.limits.set(name, value).unwrap();
        self
    }

    fn lookup(mut self, r: impl NameLookup) -> Setup {
        self.lookup = Some(Arc::new(r));
        self
    }

    fn secrets(mut self, s: MemorySecrets) -> Setup {
        self.secrets = Some(s);
        self
    }

    fn start(self, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Env {
        let ca = TestCa::new();
        let up = Upstream::tls(&ca, handler);
        self.client_for(up, &ca)
    }

    fn client_for(self, up: Upstream, ca: &TestCa) -> Env {
        let port = up.port().to_string();
        let entries: Vec<(String, EntryOverrides)> = if self.entries.is_empty() {
            vec![("api.test:{port}".into(), EntryOverrides::default())]
        } else {
            self.entries
        };
        let entries: Vec<(String, EntryOverrides)> = entries
            .into_iter()
            .map(|(e, r)| (e.replace("{port}", &port), r))
            .collect();
        let refs: Vec<(&str, EntryOverrides)> =
            entries.iter().map(|(e, r)| (e.as_str(), *r)).collect();
        let policy: Policy = test_policy(allowlist(&refs), self.limits);
        let resolver = self.lookup.unwrap_or_else(|| {
            Arc::new(
                StaticLookup::new()
                    .with("api.test", [localhost()])
                    .with("other.test", [localhost()])
                    .with("a.api.test", [localhost()])
                    .with("slow.test", [localhost()])
                    .with("big.test", [localhost()]),
            )
        });
        let log = Arc::new(RecordingSink::default());
        let mut weakened = EgressClient::builder(policy)
            .log_sink(log.clone())
            .dangerous()
            .lookup(resolver)
            .own_addresses(Vec::new())
            .allow_ranges([loopback_range()]);
        if self.trust_ca {
            weakened = weakened
                .add_root_certificates_pem(ca.ca_pem.as_bytes())
                .unwrap();
        }
        let mut builder = weakened.finish();
        if let Some(s) = self.secrets {
            builder = builder.secrets(Arc::new(s));
        }
        Env {
            up,
            client: builder.build().unwrap(),
            log,
            limits: self.limits,
        }
    }
}

impl Env {
    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.up.port())
    }

    fn fetch(&self, req: Request) -> Result<fazt_transport::Response, NetError> {
        self.fetch_as(None, req)
    }

    fn fetch_as(
        &self,
        app: Option<&str>,
        req: Request,
    ) -> Result<fazt_transport::Response, NetError> {
        let mut budget = RequestBudget::new(&self.limits);
        self.client.fetch(app, req, &mut budget)
    }

    fn get(&self, path: &str) -> Result<fazt_transport::Response, NetError> {
        self.fetch(Request::get(self.url("api.test", path)))
    }
}

fn echo(seen: &Seen) -> Reply {
    let headers: Vec<String> = seen
        .headers
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    Reply::ok(format!("{} {}\n{}\n", seen.method, seen.target, headers.join("\n")).into_bytes())
        .header("content-type", "text/plain")
}

#[test]
fn happy_get_and_post_with_headers_and_body() {
    let env = Setup::new().start(|seen| {
        Reply::ok(seen.body.clone())
            .header("content-type", "application/json")
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .header("x-method", &seen.method)
    });
    let r = env.get("/v1/items?x=1").unwrap();
    assert_eq!(
        (r.status, r.ok(), r.status_text.as_str()),
        (200, true, "OK")
    );
    assert_eq!(r.url, env.url("api.test", "/v1/items?x=1"));
    assert!(!r.redirected);
    assert_eq!(r.headers.first("x-method"), Some("GET"));
    assert_eq!(
        r.headers.all("set-cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );

    let body = br#"{"a":1}"#.to_vec();
    let r = env
        .fetch(
            Request::get(env.url("api.test", "/v1/items"))
                .method("post")
                .header("Content-Type", "application/json")
                .header("X-Custom", "yes")
                .body(body.clone()),
        )
        .unwrap();
    assert_eq!(r.body, body);
    assert_eq!(r.headers.first("x-method"), Some("POST"));
    let seen = env.up.seen().pop().unwrap();
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-custom"), Some("yes"));
    assert_eq!(seen.header("accept-encoding"), Some("identity"));
    assert_eq!(
        seen.header("host"),
        Some(format!("api.test:{}", env.up.port()).as_str())
    );
}

#[test]
fn every_url_vector_refusal_is_refused_by_the_transport() {
    let env = Setup::new().start(|_| Reply::ok("should not be reached"));
    let mut checked = 0;
    for c in vectors::urls() {
        let Some((code, rule)) = c.refusal() else {
            continue;
        };
        let e = env.fetch(Request::get(&c.url)).unwrap_err();
        assert_eq!((e.code().as_str(), e.rule()), (code, rule), "{}", c.url);
        checked += 1;
    }
    assert!(checked > 50);
    assert_eq!(env.up.accepted(), 0, "no refused URL may open a connection");
}

/// Every address of the IP vectors, as the one answer for a name, judged by
/// a client without `allow_ranges`: its built-in classifier decides.
///
/// A blocked address is fetched: `CheckingResolver::resolve` (resolve.rs)
/// classifies the answer and returns the refusal instead of any socket
/// address, so ureq has nothing to dial and the call ends before a
/// connection is attempted. A global address is never fetched, as no test
/// may leave loopback: it goes through the client's own classifier (the one
/// its checking resolver holds, shared with `EgressClient::policy`) without
/// I/O, and fazt-policy's `ip_vectors` checks its class.
#[test]
fn every_ip_vector_is_judged_by_the_connect_time_check() {
    let host = CanonicalHost::parse("v.test").unwrap();
    let (mut blocked, mut global) = (0, 0);
    for c in vectors::ips() {
        let policy = test_policy(
            allowlist(&[("v.test", EntryOverrides::default())]),
            Limits::default(),
        );
        let client = EgressClient::builder(policy)
            .dangerous()
            .lookup(Arc::new(StaticLookup::new().with("v.test", [c.ip])))
            .own_addresses(Vec::new())
            .finish()
            .build()
            .unwrap();
        let checked = client.policy().check_addrs(&host, &[c.ip]);
        if c.is_global() {
            assert_eq!(checked, Ok(()), "{} is global", c.ip);
            global += 1;
            continue;
        }
        // Only an address the classifier refuses is fetched: one it would
        // let be dialed fails here, before any call.
        let Err(refusal) = checked else {
            panic!("{} is {}, but the classifier admits it", c.ip, c.class);
        };
        let e = client
            .fetch(
                None,
                Request::get("https://v.test/"),
                &mut RequestBudget::new(&Limits::default()),
            )
            .unwrap_err();
        assert_eq!(
            (e.code(), e.rule()),
            (ErrorCode::Blocked, "address"),
            "{}: {e}",
            c.ip
        );
        let class = match &e {
            NetError::AddressBlocked { addr, reason, .. } if *addr == c.ip => match reason {
                BlockReason::Special(class) | BlockReason::Embedded { class, .. } => {
                    format!("{class:?}")
                }
                other => format!("{other:?}"),
            },
            other => format!("{other:?}"),
        };
        assert_eq!(class, c.class, "{}: {e}", c.ip);
        // The transport refused exactly what the classifier refuses.
        assert_eq!(e, refusal, "{}", c.ip);
        blocked += 1;
    }
    assert!(
        blocked > 50 && global > 20,
        "{blocked} blocked, {global} global"
    );
}

#[test]
fn refusal_classes_through_the_transport() {
    let resolver = StaticLookup::new()
        .with("api.test", [localhost()])
        .with("private.test", ["10.0.0.7".parse().unwrap()])
        .with("meta.test", ["169.254.169.254".parse().unwrap()]);
    let env = Setup::new()
        .allow("api.test:{port}", EntryOverrides::default())
        .allow("private.test:{port}", EntryOverrides::default())
        .allow("meta.test", EntryOverrides::default())
        .allow("nodns.test", EntryOverrides::default())
        .lookup(resolver)
        .limit("max_request_body", 1024)
        .start(|_| Reply::ok("hi"));
    let rule = |r: Result<fazt_transport::Response, NetError>| {
        r.map(|_| "ok").unwrap_or_else(|e| e.rule())
    };
    assert_eq!(
        rule(env.fetch(Request::get("https://evil.test/"))),
        "allowlist"
    );
    assert_eq!(
        rule(env.fetch(Request::get(
            env.url("api.test", "/").replace("https", "http")
        ))),
        "http"
    );
    assert_eq!(rule(env.fetch(Request::get("https://api.test:9/"))), "port");
    assert_eq!(
        rule(env.fetch(Request::get(env.url("private.test", "/")))),
        "address"
    );
    assert_eq!(
        rule(env.fetch(Request::get("https://meta.test/latest/meta-data/"))),
        "address"
    );
    assert_eq!(rule(env.fetch(Request::get("https://nodns.test/"))), "dns");
    assert_eq!(
        rule(env.fetch(Request::get(env.url("api.test", "/")).body(vec![0; 2048]))),
        "max_request_body"
    );
    assert_eq!(
        rule(env.fetch(Request::get(env.url("api.test", "/")).header("x-a", "1\r\nx-b: 2"))),
        "header"
    );
    assert_eq!(
        rule(env.fetch(Request::get(env.url("api.test", "/")).method("CONNECT"))),
        "method"
    );
    assert_eq!(
        rule(env.fetch(Request::get(env.url("api.test", "/")).auth("NOPE"))),
        "secret"
    );
    assert_eq!(env.up.accepted(), 0);
    assert_eq!(rule(env.get("/")), "ok");
}

/// Answers with an allowed address the first time, then with another.
#[derive(Debug)]
struct Rebinding {
    calls: AtomicUsize,
    then: IpAddr,
}

impl NameLookup for Rebinding {
    fn resolve(&self, _host: &str, _t: Option<Duration>) -> Result<Vec<IpAddr>, LookupError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(vec![if n == 0 { localhost() } else { self.then }])
    }
}

#[test]
fn dns_rebinding_never_reaches_the_second_answer() {
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |_| Reply::ok("real upstream"));
    // A listener on 127.0.0.2 records any connection made to it.
    let trap = Upstream::plain_on("127.0.0.2", |_| Reply::ok("trap"));
    assert_eq!(trap.port(), trap.addr.port());
    let rebinding = Rebinding {
        calls: AtomicUsize::new(0),
        then: "127.0.0.2".parse().unwrap(),
    };
    let env = Setup::new().lookup(rebinding).client_for(up, &ca);
    // First call: checked 127.0.0.1, connected there.
    assert_eq!(env.get("/").unwrap().body, b"real upstream");
    // The name now resolves to a blocked address: the call is refused, and
    // no connection, pooled or new, goes to the second answer.
    let url = format!("https://api.test:{}/", trap.port());
    let e = env.fetch(Request::get(url)).unwrap_err();
    assert!(matches!(e.rule(), "address" | "port"), "{e}");
    let e = env.get("/again").unwrap_err();
    assert_eq!(e.rule(), "address", "{e}");
    assert!(e.to_string().contains("127.0.0.2"), "{e}");
    assert_eq!(trap.accepted(), 0);
}

#[test]
fn mixed_answers_are_refused_whole() {
    let resolver = StaticLookup::new().with("api.test", [localhost(), "10.1.2.3".parse().unwrap()]);
    let env = Setup::new().lookup(resolver).start(|_| Reply::ok("x"));
    let e = env.get("/").unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Blocked, "address"));
    assert!(e.to_string().contains("10.1.2.3"), "{e}");
    assert_eq!(env.up.accepted(), 0);
}

#[test]
fn own_interface_address_is_refused() {
    let own: IpAddr = "93.184.215.14".parse().unwrap();
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |_| Reply::ok("x"));
    let policy = test_policy(
        allowlist(&[("self.test", EntryOverrides::default())]),
        Limits::default(),
    );
    let client = EgressClient::builder(policy)
        .dangerous()
        .lookup(Arc::new(StaticLookup::new().with("self.test", [own])))
        .own_addresses(vec![own])
        .allow_ranges([loopback_range()])
        .finish()
        .build()
        .unwrap();
    let e = client
        .fetch(
            None,
            Request::get("https://self.test/"),
            &mut RequestBudget::new(&Limits::default()),
        )
        .unwrap_err();
    assert_eq!(e.rule(), "address");
    assert!(e.to_string().contains("an address of this host"), "{e}");
    assert_eq!(up.accepted(), 0);
    // What explains a decision (`fazt net check`) runs the very policy the
    // client enforces: the own address is refused there too.
    let explained = client
        .policy()
        .explain(None, "https://self.test/", Some(&[own]));
    assert_eq!(explained.error.map(|e| e.rule()), Some("address"));
}

#[test]
fn tls_is_verified_against_the_host_name() {
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |_| Reply::ok("x"));
    // Without the test CA, the upstream's certificate is not trusted.
    let mut setup = Setup::new();
    setup.trust_ca = false;
    let env = setup.client_for(up, &ca);
    let e = env.get("/").unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Error, "tls"), "{e}");
    // With it, a name the certificate does not cover still fails.
    let ca2 = TestCa::new();
    let up2 = Upstream::tls(&ca2, |_| Reply::ok("x"));
    let resolver = StaticLookup::new().with("nocert.test", [localhost()]);
    let env = Setup::new()
        .allow("nocert.test:{port}", EntryOverrides::default())
        .lookup(resolver)
        .client_for(up2, &ca2);
    let e = env
        .fetch(Request::get(env.url("nocert.test", "/")))
        .unwrap_err();
    assert_eq!(e.rule(), "tls", "{e}");
}

#[derive(Debug)]
struct SlowDns;

impl NameLookup for SlowDns {
    fn resolve(&self, _h: &str, timeout: Option<Duration>) -> Result<Vec<IpAddr>, LookupError> {
        // Honors the timeout the way the system resolver does.
        std::thread::sleep(
            timeout
                .unwrap_or(Duration::from_secs(10))
                .min(Duration::from_secs(10)),
        );
        Err(LookupError::Timeout)
    }
}

#[test]
fn dns_timeout_is_net_timeout() {
    let env = Setup::new().lookup(SlowDns).start(|_| Reply::ok("x"));
    let started = Instant::now();
    let e = env
        .fetch(Request::get(env.url("api.test", "/")).timeout(Duration::from_millis(1200)))
        .unwrap_err();
    assert_eq!(
        (e.code(), e.rule()),
        (ErrorCode::Timeout, "dns-timeout"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_millis(1200 + 800));
}

#[test]
fn drip_feed_is_cut_at_the_deadline() {
    let env = Setup::new().start(|seen| {
        let r = Reply::ok(vec![b'x'; 200]);
        if seen.target == "/headers" {
            r.drip(Duration::from_millis(30))
        } else {
            // Headers at once, then the body a byte at a time.
            let mut raw = b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n".to_vec();
            raw.extend(vec![b'x'; 200]);
            Reply {
                raw: Some(raw),
                ..r
            }
            .drip(Duration::from_millis(30))
        }
    });
    for path in ["/headers", "/body"] {
        let started = Instant::now();
        let e = env
            .fetch(Request::get(env.url("api.test", path)).timeout(Duration::from_millis(1000)))
            .unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(e.code(), ErrorCode::Timeout, "{path}: {e}");
        assert!(elapsed >= Duration::from_millis(900), "{path}: {elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(1000 + 500),
            "{path}: {elapsed:?}"
        );
    }
}

#[test]
fn budget_is_charged_and_refuses_when_spent() {
    let env = Setup::new().start(|_| {
        std::thread::sleep(Duration::from_millis(700));
        Reply::ok("slow")
    });
    let mut budget = RequestBudget::new(&env.limits);
    for _ in 0..4 {
        env.client
            .fetch(None, Request::get(env.url("api.test", "/")), &mut budget)
            .unwrap();
    }
    // 4 x 700 ms spent of 4000: 1200 left, then less than 1000.
    let r = env
        .client
        .fetch(None, Request::get(env.url("api.test", "/")), &mut budget);
    assert!(
        budget.left() < Duration::from_millis(1000),
        "{:?}",
        budget.left()
    );
    let e = r.map(|_| ()).and_then(|_| {
        env.client
            .fetch(None, Request::get(env.url("api.test", "/")), &mut budget)
            .map(|_| ())
    });
    let e = e.unwrap_err();
    assert!(
        matches!(e.code(), ErrorCode::Budget | ErrorCode::Limit),
        "{e}"
    );
    assert!(e.is_retryable() || e.rule() == "max_calls");
}

#[test]
fn sixth_call_is_refused() {
    let env = Setup::new().start(|_| Reply::ok("x"));
    let mut budget = RequestBudget::new(&env.limits);
    let fetch = |b: &mut RequestBudget, url: &str| env.client.fetch(None, Request::get(url), b);
    fetch(&mut budget, "https://evil.test/").unwrap_err(); // refused calls count
    for _ in 0..4 {
        fetch(&mut budget, &env.url("api.test", "/")).unwrap();
    }
    let e = fetch(&mut budget, &env.url("api.test", "/")).unwrap_err();
    assert_eq!((e.rule(), e.is_retryable()), ("max_calls", false));
}

#[test]
fn gzip_body_is_returned_raw_and_counted_raw() {
    // Not valid gzip on purpose: a decoder would fail, a raw reader won't.
    let payload: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    let p2 = payload.clone();
    let env = Setup::new()
        .allow(
            "api.test:{port}",
            EntryOverrides {
                max_response: 1024,
                ..EntryOverrides::default()
            },
        )
        .allow("big.test:{port}", EntryOverrides::default())
        .start(move |seen| {
            let body = if seen.target == "/small" {
                p2[..1000].to_vec()
            } else {
                p2.clone()
            };
            Reply::ok(body).header("content-encoding", "gzip")
        });
    let r = env.fetch(Request::get(env.url("big.test", "/"))).unwrap();
    assert_eq!(r.body, payload);
    assert_eq!(r.headers.first("content-encoding"), Some("gzip"));
    let r = env.get("/small").unwrap();
    assert_eq!(r.body, payload[..1000]);
    let e = env.get("/large").unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Size, "max_response"));
    assert!(env
        .up
        .seen()
        .iter()
        .all(|s| s.header("accept-encoding") == Some("identity")));
}

#[test]
fn response_caps_and_lying_content_length() {
    let env =
        Setup::new()
            .limit("max_response", 64 * 1024)
            .start(|seen| match seen.target.as_str() {
                "/honest" => Reply::ok(vec![b'a'; 100 * 1024]),
                "/chunked" => {
                    let mut raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                    for _ in 0..100 {
                        raw.extend_from_slice(b"400\r\n");
                        raw.extend(vec![b'c'; 1024]);
                        raw.extend_from_slice(b"\r\n");
                    }
                    raw.extend_from_slice(b"0\r\n\r\n");
                    Reply::raw(raw)
                }
                // No declared length: only the bytes read can tell.
                "/exact-chunked" | "/one-over-chunked" => {
                    let len = 64 * 1024 + usize::from(seen.target == "/one-over-chunked");
                    let mut raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                    raw.extend_from_slice(format!("{len:x}\r\n").as_bytes());
                    raw.extend(vec![b'e'; len]);
                    raw.extend_from_slice(b"\r\n0\r\n\r\n");
                    Reply::raw(raw)
                }
                "/understated" => {
                    let mut raw = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n".to_vec();
                    raw.extend(vec![b'u'; 200 * 1024]);
                    Reply::raw(raw)
                }
                "/overstated" => {
                    Reply::raw(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nshort".to_vec())
                }
                _ => Reply::ok("fine"),
            });
    let rule = |p: &str| {
        env.get(p)
            .map(|r| format!("ok {}", r.body.len()))
            .unwrap_or_else(|e| e.rule().to_string())
    };
    assert_eq!(rule("/honest"), "max_response");
    assert_eq!(rule("/chunked"), "max_response");
    assert_eq!(rule("/exact-chunked"), "ok 65536");
    assert_eq!(rule("/one-over-chunked"), "max_response");
    assert_eq!(
        rule("/understated"),
        "ok 10",
        "only the declared bytes are read"
    );
    assert_eq!(rule("/overstated"), "connection");
    assert_eq!(rule("/fine"), "ok 4");
}

#[test]
fn oversized_response_headers_are_refused() {
    let env = Setup::new()
        .limit("max_response_headers", 4096)
        .start(|seen| {
            if seen.target == "/big" {
                Reply::ok("x").header("x-big", &"h".repeat(8000))
            } else {
                Reply::ok("x").header("x-ok", &"h".repeat(1000))
            }
        });
    let e = env.get("/big").unwrap_err();
    assert_eq!(
        (e.code(), e.rule()),
        (ErrorCode::Size, "max_response_headers")
    );
    assert!(env.get("/ok").is_ok());
}

/// One secret per injection mode bound to api.test, and one bound
/// elsewhere.
fn bearer_secrets() -> MemorySecrets {
    MemorySecrets::default()
        .with(
            "BEARER",
            InjectAs::Bearer,
            "sk_bearer_SENTINEL",
            Some("api.test"),
        )
        .with(
            "HDR",
            InjectAs::Header("x-api-key".into()),
            "sk_header_SENTINEL",
            Some("api.test"),
        )
        .with(
            "QRY",
            InjectAs::Query("key".into()),
            "sk_query_SENTINEL",
            Some("api.test"),
        )
        .with(
            "BOUND",
            InjectAs::Bearer,
            "sk_bound_SENTINEL",
            Some("*.elsewhere.test"),
        )
}

#[test]
fn secrets_are_injected_and_never_returned() {
    let env = Setup::new().secrets(bearer_secrets()).start(echo);
    let r = env
        .fetch(
            Request::get(env.url("api.test", "/a"))
                .auth("BEARER")
                .header("Authorization", "Bearer caller"),
        )
        .unwrap();
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("authorization=Bearer sk_bearer_SENTINEL"),
        "{text}"
    );
    assert!(!text.contains("caller"), "the injected value wins: {text}");
    let r = env
        .fetch(Request::get(env.url("api.test", "/b")).auth("HDR"))
        .unwrap();
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("x-api-key=sk_header_SENTINEL"));
    let r = env
        .fetch(Request::get(env.url("api.test", "/c?x=1")).auth("QRY"))
        .unwrap();
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("GET /c?x=1&key=sk_query_SENTINEL"));
    assert!(
        !r.url.contains("SENTINEL"),
        "the reported URL has no secret: {}",
        r.url
    );
    let e = env
        .fetch(Request::get(env.url("api.test", "/")).auth("BOUND"))
        .unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Auth, "secret-domain"));
    assert!(!e.to_string().contains("SENTINEL"));
    let logs = format!("{:?}", env.log.entries.lock().unwrap());
    assert!(
        !logs.contains("SENTINEL") && !logs.contains("x=1"),
        "{logs}"
    );
}

/// Everything secret-looking the upstream received, joined: what a careless
/// server echoes back.
fn echoed(seen: &Seen) -> String {
    let query = seen.target.split_once('?').map_or("", |(_, q)| q);
    let auth = seen.header("authorization").unwrap_or("");
    let key = seen.header("x-api-key").unwrap_or("");
    format!("{query}&auth={auth}&k={key}")
}

/// A server that echoes the secret in every way a response can carry it:
/// a trailing-slash redirect keeping the query (`/items?x=1` ->
/// `/items/?x=1&key=...`), a Location and headers naming it.
fn echo_everything(seen: &Seen) -> Reply {
    let path = seen.target.split('?').next().unwrap_or("");
    let echo = echoed(seen);
    match path {
        "/items" => Reply::redirect(301, &format!("/items/?{echo}")).header("x-echo", &echo),
        "/manual" => Reply::redirect(302, &format!("/next?{echo}")).header("x-echo", &echo),
        _ => Reply::ok("done")
            .header("x-echo", &echo)
            .header("x-echo", &format!("again {echo}"))
            .header("set-cookie", &format!("s={echo}")),
    }
}

/// The upstream of the redirect cases: api.test and other.test are both
/// served here, and each path answers one way whatever the host.
fn redirector(seen: &Seen) -> Reply {
    let port = seen
        .header("host")
        .and_then(|h| h.rsplit(':').next())
        .unwrap_or("0")
        .to_string();
    let path = seen.target.split('?').next().unwrap_or("");
    match path {
        "/to-literal" => Reply::redirect(302, "https://127.0.0.1/"),
        "/to-decimal" => Reply::redirect(302, "https://2130706433/"),
        "/to-http" => Reply::redirect(302, &format!("http://api.test:{port}/final")),
        "/to-evil" => Reply::redirect(302, "https://evil.test/"),
        "/to-schemeless" => Reply::redirect(302, "//evil.test/"),
        "/to-backslash" => Reply::redirect(302, "/\\evil.test/"),
        "/to-userinfo" => Reply::redirect(302, &format!("https://u:p@api.test:{port}/final")),
        // private.test is allowlisted but resolves to 10.0.0.7.
        "/to-blocked" => Reply::redirect(302, &format!("https://private.test:{port}/final")),
        "/relative" => Reply::redirect(302, "/final"),
        "/cross" => Reply::redirect(307, &format!("https://other.test:{port}/final")),
        // A naive redirector that carries the query string along.
        "/cross-with-query" => {
            let query = seen.target.split_once('?').map_or("", |(_, q)| q);
            Reply::redirect(302, &format!("https://other.test:{port}/final?{query}"))
        }
        "/loop" => Reply::redirect(302, "/loop"),
        "/no-location" => Reply::status(302).body("no location"),
        "/see-other" => Reply::redirect(303, "/final"),
        // api.test -> other.test, and other.test chooses where the chain
        // goes back to.
        "/start" => Reply::redirect(307, &format!("https://other.test:{port}/bounce")),
        "/bounce" => Reply::redirect(307, &format!("https://api.test:{port}/chosen")),
        "/items" | "/items/" | "/manual" | "/plain" => echo_everything(seen),
        _ => echo(seen),
    }
}

/// One redirect behaviour: a call to `path` on api.test, made once per
/// secret in `auth` (once without a secret when it is empty), and what
/// must come of it.
struct RedirectCase {
    name: &'static str,
    path: &'static str,
    method: &'static str,
    body: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    auth: &'static [&'static str],
    mode: RedirectMode,
    expect: fn(&Outcome<'_>),
}

/// A GET without a secret that follows redirects and expects nothing.
const GET: RedirectCase = RedirectCase {
    name: "",
    path: "/",
    method: "GET",
    body: None,
    headers: &[],
    auth: &[],
    mode: RedirectMode::Follow,
    expect: |_| {},
};

/// Every injection mode of [`bearer_secrets`].
const EVERY_SECRET: &[&str] = &["BEARER", "HDR", "QRY"];
/// The secrets that travel in a header: a redirect to another origin is
/// followed without them (a query secret's is not followed at all).
const HEADER_SECRETS: &[&str] = &["BEARER", "HDR"];

/// What came of one call of a [`RedirectCase`].
struct Outcome<'a> {
    env: &'a Env,
    /// The secret the call named.
    auth: Option<&'static str>,
    result: Result<fazt_transport::Response, NetError>,
    /// The requests the upstream received during the call, in order.
    seen: Vec<Seen>,
}

impl Outcome<'_> {
    fn response(&self) -> &fazt_transport::Response {
        match &self.result {
            Ok(r) => r,
            Err(e) => panic!("refused: {e}"),
        }
    }

    fn text(&self) -> String {
        String::from_utf8(self.response().body.clone()).unwrap()
    }

    /// The requests that reached `host`.
    fn to(&self, host: &str) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.header("host").is_some_and(|h| h.starts_with(host)))
            .collect()
    }

    /// Refused by `rule` when the hop was checked: only the first request
    /// reached the upstream.
    fn refused(&self, rule: &str) {
        match &self.result {
            Ok(r) => panic!("answered {}, want a refusal by {rule}", r.status),
            Err(e) => assert_eq!((e.code(), e.rule()), (ErrorCode::Blocked, rule), "{e}"),
        }
        assert_eq!(self.seen.len(), 1, "{:?}", self.seen);
    }

    /// Nothing the secret resolved to is in the response (its URL, its
    /// headers) and the upstream did get the secret on every request.
    fn echo_scrubbed(&self) {
        let r = self.response();
        let shown = format!("{} {:?}", r.url, r.headers.pairs());
        assert!(
            shown.contains("x-echo") && !shown.contains("SENTINEL"),
            "{shown}"
        );
        assert!(!self.seen.is_empty());
        assert!(self.seen.iter().all(|s| echoed(s).contains("SENTINEL")));
    }
}

fn leaks(seen: &Seen) -> bool {
    format!("{seen:?}").contains("SENTINEL")
}

fn redirect_cases() -> Vec<RedirectCase> {
    vec![
        RedirectCase {
            name: "redirect to an IP literal",
            path: "/to-literal",
            expect: |o| o.refused("ip-literal"),
            ..GET
        },
        RedirectCase {
            name: "redirect to a decimal IP literal",
            path: "/to-decimal",
            expect: |o| o.refused("ip-literal"),
            ..GET
        },
        RedirectCase {
            name: "redirect to http where the entry does not allow it",
            path: "/to-http",
            expect: |o| o.refused("http"),
            ..GET
        },
        RedirectCase {
            name: "redirect off the allowlist",
            path: "/to-evil",
            expect: |o| o.refused("allowlist"),
            ..GET
        },
        RedirectCase {
            name: "scheme-relative redirect off the allowlist",
            path: "/to-schemeless",
            expect: |o| o.refused("allowlist"),
            ..GET
        },
        RedirectCase {
            name: "backslash redirect off the allowlist",
            path: "/to-backslash",
            expect: |o| o.refused("allowlist"),
            ..GET
        },
        RedirectCase {
            name: "redirect with userinfo",
            path: "/to-userinfo",
            expect: |o| o.refused("userinfo"),
            ..GET
        },
        RedirectCase {
            name: "redirect to a blocked address",
            path: "/to-blocked",
            expect: |o| {
                o.refused("address");
                let e = o.result.as_ref().unwrap_err();
                assert!(e.to_string().contains("10.0.0.7"), "{e}");
            },
            ..GET
        },
        RedirectCase {
            name: "too many redirects",
            path: "/loop",
            expect: |o| {
                let e = o.result.as_ref().unwrap_err();
                assert_eq!((e.code(), e.rule()), (ErrorCode::Blocked, "max_redirects"));
                // The first request and every hop allowed, no more.
                let hops = usize::try_from(o.env.limits.max_redirects).unwrap();
                assert_eq!(o.seen.len(), hops + 1);
            },
            ..GET
        },
        RedirectCase {
            name: "a 3xx without Location is the answer",
            path: "/no-location",
            expect: |o| {
                let r = o.response();
                assert_eq!((r.status, r.body.as_slice()), (302, &b"no location"[..]));
                assert!(!r.redirected);
            },
            ..GET
        },
        RedirectCase {
            name: "same origin: the secret is applied again",
            path: "/relative",
            auth: EVERY_SECRET,
            expect: |o| {
                let r = o.response();
                assert!(r.redirected);
                assert_eq!(r.url, o.env.url("api.test", "/final"));
                let needle = match o.auth.unwrap() {
                    "BEARER" => "authorization=Bearer sk_bearer_SENTINEL",
                    "HDR" => "x-api-key=sk_header_SENTINEL",
                    _ => "key=sk_query_SENTINEL",
                };
                assert!(o.text().contains(needle), "{}", o.text());
                assert_eq!(o.seen.len(), 2);
                assert!(o.seen.iter().all(leaks), "both hops carry the secret");
                assert!(!r.url.contains("SENTINEL"), "{}", r.url);
            },
            ..GET
        },
        RedirectCase {
            name: "cross-origin 307: method and body follow, the secret does not",
            path: "/cross",
            method: "POST",
            body: Some("payload"),
            auth: HEADER_SECRETS,
            expect: |o| {
                assert_eq!(o.response().url, o.env.url("other.test", "/final"));
                let text = o.text();
                assert!(text.starts_with("POST /final"), "{text}");
                assert!(!text.contains("SENTINEL"), "leaked across origins: {text}");
                let (first, other) = (o.to("api.test"), o.to("other.test"));
                assert!(first.len() == 1 && leaks(first[0]), "{first:?}");
                assert_eq!(other.len(), 1, "{other:?}");
                assert!(!leaks(other[0]), "{:?}", other[0]);
                assert_eq!(other[0].body, b"payload");
            },
            ..GET
        },
        RedirectCase {
            name: "cross-origin hop drops Authorization and Cookie",
            path: "/cross",
            headers: &[("Authorization", "Bearer caller"), ("Cookie", "c=caller")],
            expect: |o| {
                assert_eq!(o.response().url, o.env.url("other.test", "/final"));
                let (first, other) = (o.to("api.test"), o.to("other.test"));
                assert_eq!((first.len(), other.len()), (1, 1));
                assert_eq!(first[0].header("authorization"), Some("Bearer caller"));
                assert_eq!(first[0].header("cookie"), Some("c=caller"));
                assert_eq!(other[0].header("authorization"), None, "{:?}", other[0]);
                assert_eq!(other[0].header("cookie"), None, "{:?}", other[0]);
                assert!(!o.text().contains("caller"), "{}", o.text());
            },
            ..GET
        },
        RedirectCase {
            name: "a query secret never follows a redirect to another origin",
            path: "/cross",
            auth: &["QRY"],
            expect: |o| {
                o.refused("secret-origin");
                assert!(o.to("other.test").is_empty());
            },
            ..GET
        },
        RedirectCase {
            name: "a query secret echoed into a cross-origin Location: refused",
            path: "/cross-with-query?page=2",
            auth: &["QRY"],
            expect: |o| {
                o.refused("secret-origin");
                assert!(o.to("other.test").is_empty());
            },
            ..GET
        },
        RedirectCase {
            name: "303 POST -> GET, body and content headers dropped",
            path: "/see-other",
            method: "POST",
            body: Some("x"),
            headers: &[("Content-Type", "text/plain")],
            expect: |o| {
                assert!(o.text().starts_with("GET /final"), "{}", o.text());
                let [first, next] = o.seen.as_slice() else {
                    panic!("{:?}", o.seen)
                };
                assert_eq!(
                    (first.method.as_str(), first.body.as_slice()),
                    ("POST", &b"x"[..])
                );
                assert_eq!(first.header("content-type"), Some("text/plain"));
                assert_eq!((next.method.as_str(), next.body.len()), ("GET", 0));
                assert_eq!(next.header("content-type"), None, "{next:?}");
            },
            ..GET
        },
        RedirectCase {
            name: "a chain that left the secret's origin gets no secret again",
            path: "/start",
            method: "POST",
            body: Some("replayed?"),
            auth: HEADER_SECRETS,
            expect: |o| {
                assert_eq!(o.response().url, o.env.url("api.test", "/chosen"));
                let text = o.text();
                assert!(!text.contains("SENTINEL"), "injected again: {text}");
                assert_eq!(o.seen.len(), 3, "{:?}", o.seen);
                assert!(leaks(&o.seen[0]), "the first hop has the secret");
                let chosen: Vec<&Seen> = o.seen.iter().filter(|s| s.target == "/chosen").collect();
                assert_eq!(chosen.len(), 1);
                assert!(!leaks(chosen[0]), "{:?}", chosen[0]);
            },
            ..GET
        },
        RedirectCase {
            name: "manual returns the 3xx",
            path: "/relative",
            mode: RedirectMode::Manual,
            expect: |o| {
                let r = o.response();
                assert_eq!(
                    (r.status, r.headers.first("location")),
                    (302, Some("/final"))
                );
                assert_eq!(o.seen.len(), 1);
            },
            ..GET
        },
        RedirectCase {
            name: "error mode refuses the 3xx",
            path: "/relative",
            mode: RedirectMode::Error,
            expect: |o| o.refused("redirect"),
            ..GET
        },
        RedirectCase {
            name: "an echoed secret never comes back: followed 301",
            path: "/items?x=1",
            auth: EVERY_SECRET,
            expect: |o| {
                assert_eq!(o.seen.len(), 2);
                o.echo_scrubbed();
            },
            ..GET
        },
        RedirectCase {
            name: "an echoed secret never comes back: manual 302",
            path: "/manual?x=1",
            auth: EVERY_SECRET,
            mode: RedirectMode::Manual,
            expect: |o| {
                assert_eq!(o.response().status, 302);
                o.echo_scrubbed();
            },
            ..GET
        },
        RedirectCase {
            name: "an echoed secret never comes back: no redirect",
            path: "/plain?x=1",
            auth: EVERY_SECRET,
            expect: |o| o.echo_scrubbed(),
            ..GET
        },
    ]
}

/// Every redirect behaviour, one named case each, against one upstream
/// serving api.test and other.test; the failing cases are named together.
#[test]
fn redirect_cases_table() {
    let resolver = StaticLookup::new()
        .with("api.test", [localhost()])
        .with("other.test", [localhost()])
        .with("private.test", ["10.0.0.7".parse().unwrap()]);
    let env = Setup::new()
        .allow("api.test:{port}", EntryOverrides::default())
        .allow("other.test:{port}", EntryOverrides::default())
        .allow("private.test:{port}", EntryOverrides::default())
        .lookup(resolver)
        .secrets(bearer_secrets())
        .start(redirector);
    let mut failed = Vec::new();
    for case in redirect_cases() {
        let secrets: Vec<Option<&'static str>> = match case.auth {
            [] => vec![None],
            names => names.iter().copied().map(Some).collect(),
        };
        for auth in secrets {
            let before = env.up.seen().len();
            let mut req = Request::get(env.url("api.test", case.path))
                .method(case.method)
                .redirect(case.mode);
            for (name, value) in case.headers {
                req = req.header(*name, *value);
            }
            if let Some(body) = case.body {
                req = req.body(body);
            }
            if let Some(name) = auth {
                req = req.auth(name);
            }
            let result = env.fetch(req);
            let outcome = Outcome {
                env: &env,
                auth,
                result,
                seen: env.up.seen().split_off(before),
            };
            let checked = std::panic::catch_unwind(AssertUnwindSafe(|| (case.expect)(&outcome)));
            if checked.is_err() {
                failed.push(format!("{} ({})", case.name, auth.unwrap_or("no secret")));
            }
        }
    }
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    // The secret never reached the other origin, in any case.
    let seen = env.up.seen();
    assert!(seen
        .iter()
        .filter(|s| s
            .header("host")
            .is_some_and(|h| h.starts_with("other.test")))
        .all(|s| !leaks(s)));
}

#[test]
fn concurrency_caps_hold_under_load() {
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (a, p) = (active.clone(), peak.clone());
    let env = Arc::new(
        Setup::new()
            .limit("concurrency", 5)
            .limit("app_concurrency", 2)
            .start(move |_| {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(150));
                a.fetch_sub(1, Ordering::SeqCst);
                Reply::ok("x")
            }),
    );
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let env = Arc::clone(&env);
            std::thread::spawn(move || {
                let app = format!("app{}", i % 4);
                env.fetch_as(Some(&app), Request::get(env.url("api.test", "/")))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let limited: Vec<&NetError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(ok >= 5, "{ok} succeeded");
    assert_eq!(ok + limited.len(), 100);
    assert!(
        limited
            .iter()
            .all(|e| e.code() == ErrorCode::Limit && e.is_retryable()),
        "{limited:?}"
    );
    assert!(
        peak.load(Ordering::SeqCst) <= 5,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert!(env.up.stats.peak.load(Ordering::SeqCst) <= 5);
}

#[test]
fn rate_limit_with_retry_after() {
    let env = Setup::new()
        .allow(
            "api.test:{port}",
            EntryOverrides {
                rate_limit: 60,
                rate_burst: 2,
                ..EntryOverrides::default()
            },
        )
        .start(|_| Reply::ok("x"));
    env.get("/").unwrap();
    env.get("/").unwrap();
    let e = env.get("/").unwrap_err();
    assert_eq!((e.code(), e.is_retryable()), (ErrorCode::Rate, true));
    let after = e.retry_after().unwrap();
    assert!(
        after > Duration::from_millis(500) && after <= Duration::from_secs(1),
        "{after:?}"
    );
    assert_eq!(env.up.stats.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn wildcard_rate_limit_is_shared_by_its_subdomains() {
    let resolver = StaticLookup::new()
        .with("a.api.test", [localhost()])
        .with("b.api.test", [localhost()]);
    let env = Setup::new()
        .allow(
            "*.api.test:{port}",
            EntryOverrides {
                rate_limit: 60,
                rate_burst: 1,
                ..EntryOverrides::default()
            },
        )
        .lookup(resolver)
        .start(|_| Reply::ok("x"));
    env.fetch(Request::get(env.url("a.api.test", "/"))).unwrap();
    // Another subdomain draws from the same bucket.
    let e = env
        .fetch(Request::get(env.url("b.api.test", "/")))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Rate, "{e}");
    assert_eq!(env.up.stats.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn cache_hit_miss_expiry_and_bypass() {
    let env = Setup::new()
        .limit("cache_max_items", 100)
        .limit("cache_max_bytes", 1024 * 1024)
        .allow(
            "api.test:{port}",
            EntryOverrides {
                cache_ttl_s: 1,
                ..EntryOverrides::default()
            },
        )
        .secrets(bearer_secrets())
        .start(|seen| {
            let r = Reply::ok(format!("served {}", seen.target));
            if seen.target == "/nostore" {
                r.header("cache-control", "no-store")
            } else {
                r
            }
        });
    let count = || env.up.stats.requests.load(Ordering::SeqCst);
    let r1 = env.get("/c?q=1").unwrap();
    let r2 = env.get("/c?q=1").unwrap();
    assert_eq!(
        (r1.from_cache, r2.from_cache, r2.body.clone()),
        (false, true, r1.body.clone())
    );
    assert_eq!(count(), 1, "hit");
    env.get("/c?q=2").unwrap();
    assert_eq!(count(), 2, "the query is part of the key");
    env.fetch(Request::get(env.url("api.test", "/c?q=1")).auth("BEARER"))
        .unwrap();
    env.fetch(Request::get(env.url("api.test", "/c?q=1")).method("POST"))
        .unwrap();
    env.fetch(Request::get(env.url("api.test", "/c?q=1")).header("authorization", "Bearer x"))
        .unwrap();
    assert_eq!(
        count(),
        5,
        "auth, POST and caller credentials bypass the cache"
    );
    env.get("/nostore").unwrap();
    env.get("/nostore").unwrap();
    assert_eq!(count(), 7, "no-store is not cached");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(!env.get("/c?q=1").unwrap().from_cache, "expired");
    assert_eq!(count(), 8);
}

#[test]
fn pooling_reuses_one_connection() {
    let env = Setup::new().start(|_| Reply::ok("x"));
    for _ in 0..100 {
        env.get("/").unwrap();
    }
    assert_eq!(env.up.accepted(), 1);
}

#[test]
fn every_call_is_logged_without_query() {
    let env = Setup::new().start(|_| Reply::ok("hello"));
    env.get("/path/x?token=abc").unwrap();
    env.fetch(Request::get("https://evil.test/p?token=abc"))
        .unwrap_err();
    let logs = env.log.entries.lock().unwrap().clone();
    assert_eq!(logs.len(), 2);
    assert_eq!(
        (
            logs[0].host.as_str(),
            logs[0].path.as_str(),
            logs[0].status,
            logs[0].bytes_in
        ),
        ("api.test", "/path/x", Some(200), 5)
    );
    assert_eq!(
        (logs[1].host.as_str(), logs[1].error),
        ("evil.test", Some(ErrorCode::Blocked))
    );
    assert!(!format!("{logs:?}").contains("token"));
}

#[test]
fn a_secret_without_a_domain_is_refused_at_use() {
    let env = Setup::new()
        .secrets(MemorySecrets::default().with("FREE", InjectAs::Bearer, "sk_free_SENTINEL", None))
        .start(echo);
    let e = env
        .fetch(Request::get(env.url("api.test", "/")).auth("FREE"))
        .unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Auth, "secret-domain"));
    assert_eq!(
        e.to_string(),
        "NET_AUTH: secret \"FREE\" is not bound to a domain; set it again with `fazt secret set FREE --domain HOST`"
    );
    assert!(env.up.seen().is_empty());
}

/// A global entry with a cache TTL, two apps and a server that answers per
/// caller: nothing one app's call produced may be served to another, nor to
/// a call with other headers.
#[test]
fn the_cache_never_crosses_apps_or_headers() {
    let env = Setup::new()
        .allow(
            "api.test:{port}",
            EntryOverrides {
                cache_ttl_s: 60,
                ..EntryOverrides::default()
            },
        )
        .start(|seen| {
            let key = seen.header("x-api-key").unwrap_or("none").to_string();
            match seen.target.as_str() {
                "/vary" => Reply::ok(format!("for {key}")).header("vary", "Accept-Language"),
                "/cookie" => Reply::ok("with a cookie").header("set-cookie", "session=1"),
                _ => Reply::ok(format!("account of {key}")),
            }
        });
    let count = || env.up.stats.requests.load(Ordering::SeqCst);
    let get = |app: Option<&str>, path: &str, key: Option<&str>| {
        let mut req = Request::get(env.url("api.test", path));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        let r = env.fetch_as(app, req).unwrap();
        (String::from_utf8(r.body).unwrap(), r.from_cache)
    };
    assert_eq!(
        get(Some("a"), "/me", Some("key-a")),
        ("account of key-a".into(), false)
    );
    assert_eq!(
        get(Some("a"), "/me", Some("key-a")),
        ("account of key-a".into(), true)
    );
    // Another app, without a key: never app A's answer.
    assert_eq!(
        get(Some("b"), "/me", None),
        ("account of none".into(), false)
    );
    // The same app with another key: not the first key's answer.
    assert_eq!(
        get(Some("a"), "/me", Some("key-b")),
        ("account of key-b".into(), false)
    );
    assert_eq!(
        get(None, "/me", Some("key-a")),
        ("account of key-a".into(), false)
    );
    assert_eq!(count(), 4);
    // Vary and Set-Cookie answers are not stored.
    get(Some("a"), "/vary", None);
    get(Some("a"), "/vary", None);
    get(Some("a"), "/cookie", None);
    get(Some("a"), "/cookie", None);
    assert_eq!(count(), 8);
}

/// What a script controls in a call (method, host, path) cannot forge or
/// flood the request log.
#[test]
fn the_log_keeps_only_validated_bounded_fields() {
    let env = Setup::new().start(echo);
    let forged = "GET\n1795674476140 -  GET  api.github.com/  200\x1b[2K";
    let e = env
        .fetch(Request::get(env.url("api.test", "/x")).method(forged))
        .unwrap_err();
    assert_eq!(e.rule(), "method");
    let long_path = format!("/{}", "p".repeat(20 << 20));
    let e = env
        .fetch(Request::get(env.url("api.test", &long_path)))
        .unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Error, "max_url_length"));
    let path_4k = format!("/{}", "q".repeat(4096));
    env.fetch(Request::get(env.url("api.test", &path_4k)))
        .unwrap();
    let entries = env.log.entries.lock().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].method, "-", "an invalid method is not logged");
    for entry in entries.iter() {
        for field in [&entry.method, &entry.host, &entry.path] {
            assert!(field.len() <= 2048 + 16, "{} bytes", field.len());
            assert!(!field.chars().any(char::is_control), "{field:?}");
        }
    }
    assert!(entries[2].path.starts_with("/qqqq") && entries[2].path.ends_with("[truncated]"));
}

/// Allow ranges reach a client only through its one `dangerous()` door: a
/// policy whose classifier admits ranges of its own is refused, naming them.
#[test]
fn allow_ranges_come_only_through_the_dangerous_door() {
    let classifier = fazt_policy::Classifier::new().with_allow_ranges([loopback_range()]);
    let policy = Policy::new(allowlist(&[]), classifier, Limits::default()).unwrap();
    let e = EgressClient::builder(policy).build().unwrap_err();
    assert!(
        matches!(&e, fazt_transport::TransportError::AllowRangesOutsideDangerous(r) if r == &[loopback_range()]),
        "{e}"
    );
    assert!(e.to_string().contains("dangerous().allow_ranges()"), "{e}");
}
