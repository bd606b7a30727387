//! Budget, rate, redirect, header and classifier-override rules.

use std::net::IpAddr;
use std::time::Duration;

use fazt_policy::headers::{normalize_method, sanitize_request_headers, ResponseHeaders};
use fazt_policy::{
    AllowEntry, Allowlist, BlockReason, Classifier, IpNet, Limits, NetError, Policy, RedirectMode,
    RequestBudget, Target, TokenBucket, Verdict,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Counts a call and returns its deadline, as the transport does.
fn start(
    b: &mut RequestBudget,
    entry: Option<Duration>,
    caller: Option<Duration>,
) -> Result<Duration, NetError> {
    b.count_call()?;
    b.deadline_at(std::time::Instant::now(), entry, caller)
}

/// A call that spent `ms` on the network, as the transport reports it.
fn spend(b: &mut RequestBudget, ms: u64) {
    let t0 = std::time::Instant::now();
    b.begin_flight(t0);
    b.end_flight(t0 + MS(ms));
}

#[test]
fn sixth_call_is_a_non_retryable_limit() {
    let mut b = RequestBudget::new(&Limits::default());
    for _ in 0..5 {
        start(&mut b, None, None).unwrap();
        spend(&mut b, 10);
    }
    let e = start(&mut b, None, None).unwrap_err();
    assert_eq!(e, NetError::CallLimit { max: 5 });
    assert!(!e.is_retryable());
    assert_eq!(b.calls(), 5);
}

#[test]
fn refused_calls_count_toward_the_limit() {
    let mut b = RequestBudget::new(&Limits::default());
    for _ in 0..5 {
        // The caller counts first, then the policy refuses: no time spent.
        b.count_call().unwrap();
    }
    assert!(matches!(b.count_call(), Err(NetError::CallLimit { .. })));
}

#[test]
fn deadline_is_the_smallest_of_call_budget_and_caller() {
    let mut b = RequestBudget::new(&Limits::default()); // 4000 call, 4000 budget
    assert_eq!(start(&mut b, None, None).unwrap(), MS(4000));
    assert_eq!(start(&mut b, None, Some(MS(1500))).unwrap(), MS(1500));
    assert_eq!(start(&mut b, Some(MS(2000)), None).unwrap(), MS(2000));
    spend(&mut b, 2500); // 1500 left
    assert_eq!(start(&mut b, None, None).unwrap(), MS(1500));
    assert_eq!(start(&mut b, None, Some(MS(9000))).unwrap(), MS(1500));
}

#[test]
fn budget_below_min_net_time_is_retryable() {
    let mut b = RequestBudget::new(&Limits::default());
    spend(&mut b, 3200); // 800 left < 1000 minimum
    let e = start(&mut b, None, None).unwrap_err();
    assert_eq!(
        e,
        NetError::BudgetExhausted {
            left_ms: 800,
            needed_ms: 1000
        }
    );
    assert!(e.is_retryable());
    assert_eq!(e.http_status(), 503);
}

#[test]
fn spent_budget_refuses_even_with_zero_minimum() {
    let mut limits = Limits::default();
    limits.set("min_net_time_ms", 0).unwrap();
    let mut b = RequestBudget::new(&limits);
    spend(&mut b, 5000);
    assert!(matches!(
        start(&mut b, None, None),
        Err(NetError::BudgetExhausted { left_ms: 0, .. })
    ));
}

#[test]
fn token_bucket_refills_at_the_rate_and_caps_at_burst() {
    let t = |ms| MS(ms);
    let mut b = TokenBucket::new(120, 3, t(0)); // 2 per second, burst 3
    for _ in 0..3 {
        b.try_take(t(0)).unwrap();
    }
    assert_eq!(b.try_take(t(0)), Err(t(500)));
    assert_eq!(b.try_take(t(200)), Err(t(300)));
    b.try_take(t(500)).unwrap();
    // A long idle period refills to the burst, not beyond.
    for _ in 0..3 {
        b.try_take(t(60_000)).unwrap();
    }
    assert!(b.try_take(t(60_000)).is_err());
    assert!(b.is_full(t(120_000)));
}

#[test]
fn time_going_backwards_does_not_mint_tokens() {
    let mut b = TokenBucket::new(60, 1, MS(10_000));
    b.try_take(MS(10_000)).unwrap();
    assert!(b.try_take(MS(0)).is_err());
}

fn policy(entries: &[&str], max_redirects: u64) -> Policy {
    let list: Allowlist = entries
        .iter()
        .map(|e| AllowEntry::parse(e).unwrap())
        .collect();
    let mut limits = Limits::default();
    limits.set("max_redirects", max_redirects).unwrap();
    Policy::new(list, Classifier::new(), limits).unwrap()
}

/// (status, location, method) -> Ok((url, method, keep_body, same_origin)) or the refusal rule;
/// what the hop does to the request is tests/redirect_rules.rs's.
fn hop(
    p: &Policy,
    status: u16,
    location: Option<&str>,
    method: &str,
    hops: u32,
) -> Result<Option<(String, String, bool, bool)>, &'static str> {
    let from = Target::parse("https://api.test/start?x=1").unwrap();
    p.redirect(
        None,
        &from,
        status,
        location,
        method,
        hops,
        RedirectMode::Follow,
    )
    .map(|h| {
        h.map(|h| {
            (
                h.to.target.url().to_string(),
                h.method,
                h.keep_body,
                h.same_origin,
            )
        })
    })
    .map_err(|e| e.rule())
}

/// The redirect statuses, one definition for the transport's hop loop and
/// for `Policy::redirect`: exactly WHATWG fetch's five.
#[test]
fn redirect_statuses_are_fetchs_five() {
    let followed: Vec<u16> = (100..=599)
        .filter(|s| fazt_policy::is_redirect_status(*s))
        .collect();
    assert_eq!(followed, [301, 302, 303, 307, 308]);
    for status in [300, 304, 305, 306, 309, 200, 404] {
        assert!(!fazt_policy::is_redirect_status(status), "{status}");
    }
}

#[test]
fn non_redirects_and_missing_location_are_final() {
    let p = policy(&["api.test"], 3);
    for status in [200, 300, 304, 305, 306, 404] {
        assert_eq!(hop(&p, status, Some("/x"), "GET", 0), Ok(None), "{status}");
    }
    assert_eq!(hop(&p, 302, None, "GET", 0), Ok(None));
}

#[test]
fn redirect_targets_get_the_full_check() {
    let p = policy(&["api.test"], 3);
    assert_eq!(
        hop(&p, 302, Some("https://127.0.0.1/"), "GET", 0),
        Err("ip-literal")
    );
    assert_eq!(
        hop(&p, 302, Some("https://2130706433/"), "GET", 0),
        Err("ip-literal")
    );
    assert_eq!(
        hop(&p, 302, Some("http://api.test/"), "GET", 0),
        Err("http")
    );
    assert_eq!(
        hop(&p, 302, Some("https://evil.test/"), "GET", 0),
        Err("allowlist")
    );
    assert_eq!(
        hop(&p, 302, Some("//evil.test/"), "GET", 0),
        Err("allowlist")
    );
    assert_eq!(
        hop(&p, 302, Some("/\\evil.test/"), "GET", 0),
        Err("allowlist")
    );
    assert_eq!(
        hop(&p, 302, Some("\\\\evil.test/"), "GET", 0),
        Err("allowlist")
    );
    assert_eq!(
        hop(&p, 302, Some("https://user:pw@api.test/"), "GET", 0),
        Err("userinfo")
    );
    assert_eq!(
        hop(&p, 302, Some("https://api.test:8443/"), "GET", 0),
        Err("port")
    );
    assert_eq!(
        hop(&p, 302, Some("gopher://api.test/"), "GET", 0),
        Err("scheme")
    );
    assert_eq!(
        hop(&p, 302, Some("file:///etc/passwd"), "GET", 0),
        Err("scheme")
    );
    assert_eq!(
        hop(&p, 302, Some("https://[::1]/"), "GET", 0),
        Err("ip-literal")
    );
    assert_eq!(hop(&p, 302, Some("https://a..b/"), "GET", 0), Err("host"));
}

#[test]
fn hop_limit_counts_followed_hops() {
    let p = policy(&["api.test"], 3);
    assert!(hop(&p, 302, Some("/a"), "GET", 2).unwrap().is_some());
    assert_eq!(hop(&p, 302, Some("/a"), "GET", 3), Err("max_redirects"));
    let none = policy(&["api.test"], 0);
    assert_eq!(hop(&none, 302, Some("/a"), "GET", 0), Err("max_redirects"));
    // A final response is fine whatever the count.
    assert_eq!(hop(&p, 200, None, "GET", 3), Ok(None));
}

#[test]
fn header_sanitizing() {
    let ok = sanitize_request_headers([
        ("Content-Type", "application/json"),
        ("X-Multi", "a"),
        ("x-multi", "b"),
        ("Host", "evil.test"),
        ("Connection", "close"),
        ("Proxy-Authorization", "Basic x"),
        ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"),
        ("Upgrade", "websocket"),
        ("Keep-Alive", "1"),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", "999"),
        ("X-Tab", "a\tb"),
    ])
    .unwrap();
    let names: Vec<&str> = ok.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["content-type", "x-multi", "x-multi", "x-tab"]);
    for (name, value, rule_text) in [
        ("x-a", "v\r\nInjected: 1", "CR"),
        ("x-a", "v\nInjected: 1", "LF"),
        ("x-a", "v\0", "NUL"),
        ("x-a", "v\x07", "control"),
        ("x\r\ny", "v", "CR, LF or NUL"),
        ("", "v", "empty"),
        ("x y", "v", "token"),
        ("x:y", "v", "token"),
        ("é", "v", "token"),
    ] {
        let e = sanitize_request_headers([(name, value)]).unwrap_err();
        assert_eq!(e.rule(), "header");
        assert!(e.to_string().contains(rule_text), "{e}");
        assert!(
            !e.to_string().contains('\n') && !e.to_string().contains('\r'),
            "{e:?}"
        );
    }
}

#[test]
fn methods() {
    assert_eq!(normalize_method("get").unwrap(), "GET");
    assert_eq!(normalize_method("delete").unwrap(), "DELETE");
    assert_eq!(normalize_method("patch").unwrap(), "patch"); // as fetch does
    assert_eq!(normalize_method("PROPFIND").unwrap(), "PROPFIND");
    for bad in ["", "GET /", "TRACE", "track", "CONNECT", "G\nET"] {
        assert_eq!(
            normalize_method(bad).unwrap_err().rule(),
            "method",
            "{bad:?}"
        );
    }
}

#[test]
fn response_headers_keep_every_value() {
    let h = ResponseHeaders::from_pairs([
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("Vary", "Accept"),
        ("VARY", "Origin"),
    ]);
    assert_eq!(h.first("content-type"), Some("text/plain"));
    assert_eq!(h.first("SET-COOKIE"), Some("a=1"));
    assert_eq!(h.all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
    assert_eq!(h.joined("vary").as_deref(), Some("Accept, Origin"));
    assert_eq!(h.joined("etag"), None);
    assert!(h
        .pairs()
        .iter()
        .all(|(n, _)| n.chars().all(|c| !c.is_ascii_uppercase())));
}

#[test]
fn operator_ranges_precedence() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let net = |s: &str| s.parse::<IpNet>().unwrap();
    let c = Classifier::new()
        .with_allow_ranges([net("127.0.0.1/32"), net("10.0.0.0/8")])
        .with_deny_ranges([net("10.9.0.0/16"), net("8.8.8.0/24")]);
    assert_eq!(
        c.classify(ip("127.0.0.1")),
        Verdict::AllowedByOperator(net("127.0.0.1/32"))
    );
    assert_eq!(
        c.classify(ip("::ffff:127.0.0.1")),
        Verdict::AllowedByOperator(net("127.0.0.1/32"))
    );
    assert!(!c.classify(ip("127.0.0.2")).is_allowed());
    // Deny wins over allow, and over the built-in "global".
    assert_eq!(
        c.classify(ip("10.9.1.1")),
        Verdict::Blocked(BlockReason::Denied(net("10.9.0.0/16")))
    );
    assert_eq!(
        c.classify(ip("8.8.8.8")),
        Verdict::Blocked(BlockReason::Denied(net("8.8.8.0/24")))
    );
    assert_eq!(
        c.classify(ip("64:ff9b::8.8.8.8")),
        Verdict::Blocked(BlockReason::Denied(net("8.8.8.0/24")))
    );
    assert_eq!(c.classify(ip("8.8.4.4")), Verdict::Allowed);
    // Non-canonical CIDRs are truncated, not rejected.
    let c = Classifier::new().with_allow_ranges([net("127.0.0.9/8")]);
    assert!(c.classify(ip("127.1.2.3")).is_allowed());
}

#[test]
fn one_blocked_address_refuses_the_name() {
    let p = policy(&["api.test"], 3);
    let host = Target::parse("https://api.test/").unwrap().host().clone();
    let addrs: Vec<IpAddr> = ["93.184.215.14", "127.0.0.1"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let e = p.check_addrs(&host, &addrs).unwrap_err();
    assert_eq!(e.rule(), "address");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    assert_eq!(p.check_addrs(&host, &[]).unwrap_err().rule(), "dns");
    assert!(p.check_addrs(&host, &addrs[..1]).is_ok());
}

#[test]
fn limits_validate_every_field() {
    assert_eq!(Limits::default().validate(), Ok(()));
    for f in Limits::schema() {
        let mut l = Limits::default();
        assert!(
            l.set(f.name, f.min).is_ok() && l.set(f.name, f.max).is_ok(),
            "{}",
            f.name
        );
        assert_eq!(l.get(f.name), Some(f.max));
        if f.min > 0 {
            assert!(l.set(f.name, f.min - 1).is_err(), "{}", f.name);
        }
        assert!(l.set(f.name, f.max + 1).is_err(), "{}", f.name);
        assert_eq!(l.get(f.name), Some(f.max), "a refused set changes nothing");
    }
}

#[test]
fn entry_overrides_apply_and_are_capped() {
    use fazt_policy::EntryOverrides;
    let e = AllowEntry::parse("big.test")
        .unwrap()
        .with_overrides(EntryOverrides {
            max_response: 5 * 1024 * 1024,
            timeout_ms: 2500,
            rate_limit: 30,
            cache_ttl_s: 60,
            ..EntryOverrides::default()
        });
    let list: Allowlist = [e.unwrap(), AllowEntry::parse("plain.test").unwrap()]
        .into_iter()
        .collect();
    let p = Policy::new(list, Classifier::new(), Limits::default()).unwrap();
    let big = p.check_url(None, "https://big.test/").unwrap();
    assert_eq!(big.max_response, 5 * 1024 * 1024);
    assert_eq!(big.timeout, Some(MS(2500)));
    assert_eq!(big.rate, Some((30, 0)));
    assert_eq!(big.cache_ttl, Some(Duration::from_secs(60)));
    let plain = p.check_url(None, "https://plain.test/").unwrap();
    assert_eq!(plain.max_response, 1024 * 1024);
    assert_eq!(
        (plain.timeout, plain.rate, plain.cache_ttl),
        (None, None, None)
    );
    let too_big = EntryOverrides {
        max_response: 11 * 1024 * 1024,
        ..EntryOverrides::default()
    };
    assert!(too_big.validate().is_err());
}

#[test]
fn own_addresses_are_blocked_unless_operator_allowed() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let c = Classifier::new()
        .with_own_addresses([ip("93.184.215.14"), ip("127.0.0.1")])
        .with_allow_ranges(["127.0.0.1/32".parse::<IpNet>().unwrap()]);
    assert_eq!(
        c.classify(ip("93.184.215.14")),
        Verdict::Blocked(BlockReason::OwnAddress)
    );
    assert_eq!(
        c.classify(ip("::ffff:93.184.215.14")),
        Verdict::Blocked(BlockReason::OwnAddress)
    );
    assert!(c.classify(ip("93.184.215.15")).is_allowed());
    assert!(
        c.classify(ip("127.0.0.1")).is_allowed(),
        "operator allow wins for built-in blocks"
    );
}

/// Concurrent calls: the budget is charged the wall-clock time during
/// which at least one call was in flight.
#[test]
fn calls_in_flight_together_are_charged_once() {
    let t0 = std::time::Instant::now();
    let at = |ms| t0 + MS(ms);
    let mut b = RequestBudget::new(&Limits::default()); // 4000 budget
                                                        // Five calls together, 0..200 ms: 200 ms charged.
    for _ in 0..5 {
        b.begin_flight(at(0));
    }
    assert_eq!(b.left_at(at(150)), MS(3850), "charged while in flight");
    for _ in 0..5 {
        b.end_flight(at(200));
    }
    assert_eq!(b.left(), MS(3800));
    // Overlapping 300..600 and 500..900: 600 ms charged.
    b.begin_flight(at(300));
    b.begin_flight(at(500));
    b.end_flight(at(600));
    assert_eq!(b.left_at(at(700)), MS(3400));
    b.end_flight(at(900));
    assert_eq!(b.left(), MS(3200));
    // One after the other: the sum.
    b.begin_flight(at(1000));
    b.end_flight(at(1100));
    b.begin_flight(at(1200));
    b.end_flight(at(1300));
    assert_eq!(b.left(), MS(3000));
}

#[test]
fn a_call_started_during_others_gets_what_is_left_then() {
    let t0 = std::time::Instant::now();
    let at = |ms| t0 + MS(ms);
    let mut b = RequestBudget::new(&Limits::default()); // 4000 call, 4000 budget
    b.begin_flight(at(0));
    assert_eq!(b.deadline_at(at(1000), None, None).unwrap(), MS(3000));
    assert_eq!(
        b.deadline_at(at(3500), None, None).unwrap_err(),
        NetError::BudgetExhausted {
            left_ms: 500,
            needed_ms: 1000
        }
    );
    b.end_flight(at(3500));
    assert_eq!(b.left(), MS(500));
}

#[test]
fn request_headers_are_bounded_in_total() {
    let half = "v".repeat(16 * 1024);
    assert!(sanitize_request_headers([("a", half.as_str())]).is_ok());
    let e = sanitize_request_headers([("a", half.as_str()), ("b", half.as_str())]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "NET_ERROR: invalid header \"b\": the request's headers are over 32768 bytes"
    );
}

/// Codes parse from their wire spelling and back; anything else is a typed
/// error naming the value and the codes there are.
#[test]
fn error_codes_parse_from_their_wire_spelling() {
    for code in fazt_policy::ErrorCode::ALL {
        assert_eq!(code.as_str().parse::<fazt_policy::ErrorCode>(), Ok(code));
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
        assert_eq!(
            serde_json::from_str::<fazt_policy::ErrorCode>(&json).unwrap(),
            code
        );
    }
    let err = "NET_NOPE".parse::<fazt_policy::ErrorCode>().unwrap_err();
    assert_eq!(err, fazt_policy::UnknownErrorCode("NET_NOPE".into()));
    assert!(err.to_string().contains("\"NET_NOPE\""), "{err}");
    assert!(err.to_string().contains("NET_RATE"), "{err}");
}

/// A per-entry override is checked against the range of the global limit
/// it overrides, taken from the one `Limits` table: the edges pass, one
/// past them is refused naming the field and the range.
#[test]
fn override_ranges_are_the_limits_table() {
    use fazt_policy::{EntryError, EntryOverrides};
    let set = |field: &str, v: u64| {
        let mut r = EntryOverrides::default();
        match field {
            "rate_limit" => r.rate_limit = u32::try_from(v).unwrap(),
            "rate_burst" => r.rate_burst = u32::try_from(v).unwrap(),
            "max_response" => r.max_response = v,
            "timeout_ms" => r.timeout_ms = v,
            _ => unreachable!(),
        }
        r.validate()
    };
    for (field, limit) in [
        ("rate_limit", "rate_limit"),
        ("rate_burst", "rate_burst"),
        ("max_response", "max_response"),
        ("timeout_ms", "call_timeout_ms"),
    ] {
        let s = Limits::field_schema(limit).unwrap();
        let (min, max) = (s.min.max(1), s.max);
        assert_eq!(set(field, 0), Ok(()), "{field}: 0 inherits");
        assert_eq!(set(field, min), Ok(()), "{field} at {min}");
        assert_eq!(set(field, max), Ok(()), "{field} at {max}");
        let refused = |value| {
            Err(EntryError::Override {
                field,
                value,
                min,
                max,
            })
        };
        assert_eq!(set(field, max + 1), refused(max + 1), "{field}");
        if min > 1 {
            assert_eq!(set(field, min - 1), refused(min - 1), "{field}");
        }
    }
    assert_eq!(
        Limits::field_schema("max_response").unwrap().max,
        EntryOverrides::HARD_MAX_RESPONSE
    );
}
