//! Snapshots of what people read: error messages, the limits schema, and
//! explanations.

use std::net::IpAddr;
use std::time::Duration;

use fazt_policy::{
    AllowEntry, Allowlist, AppId, Classifier, EntryOverrides, IpNet, Limits, NetError, Policy,
};

fn every_error() -> Vec<NetError> {
    let host = || "api.example.com".to_string();
    let reason = || "connection refused".to_string();
    vec![
        NetError::SchemeNotAllowed {
            scheme: "gopher".into(),
        },
        NetError::Userinfo { host: host() },
        NetError::IpLiteral {
            addr: "127.0.0.1".parse().unwrap(),
        },
        NetError::NotAllowlisted {
            host: "evil.example".into(),
            app: Some("shop".into()),
        },
        NetError::NotAllowlisted {
            host: "evil.example".into(),
            app: None,
        },
        NetError::PortNotAllowed {
            host: host(),
            port: 8443,
        },
        NetError::HttpNotAllowed { host: host() },
        NetError::AddressBlocked {
            host: host(),
            addr: "10.0.0.1".parse().unwrap(),
            reason: fazt_policy::BlockReason::Special(fazt_policy::IpClass::Private),
        },
        NetError::TooManyRedirects {
            host: host(),
            max: 3,
        },
        NetError::RedirectNotAllowed {
            host: host(),
            status: 302,
        },
        NetError::Timeout {
            host: host(),
            after_ms: 4000,
        },
        NetError::DnsTimeout { host: host() },
        NetError::CallLimit { max: 5 },
        NetError::AppConcurrency {
            app: "shop".into(),
            max: 5,
        },
        NetError::GlobalConcurrency { max: 20 },
        NetError::BudgetExhausted {
            left_ms: 400,
            needed_ms: 1000,
        },
        NetError::RequestBodyTooLarge {
            size: 2_000_000,
            max: 1_048_576,
        },
        NetError::ResponseTooLarge {
            host: host(),
            max: 1_048_576,
        },
        NetError::ResponseHeadersTooLarge {
            host: host(),
            max: 65_536,
        },
        NetError::InvalidUrl {
            reason: "relative URL without a base".into(),
        },
        NetError::InvalidHost {
            host: "a..b".into(),
            reason: "empty label".into(),
        },
        NetError::InvalidHeader {
            name: "x-a".into(),
            reason: "value contains LF".into(),
        },
        NetError::InvalidMethod {
            method: "CONNECT".into(),
        },
        NetError::InvalidOption {
            option: "redirect".into(),
            reason: "expected \"follow\", \"manual\" or \"error\"".into(),
        },
        NetError::InvalidRedirect {
            host: host(),
            reason: "empty host".into(),
        },
        NetError::Dns {
            host: host(),
            reason: "no addresses".into(),
        },
        NetError::Tls {
            host: host(),
            reason: "invalid peer certificate: UnknownIssuer".into(),
        },
        NetError::Connection {
            host: host(),
            reason: reason(),
        },
        NetError::SecretMissing {
            name: "STRIPE_KEY".into(),
        },
        NetError::SecretDomain {
            name: "STRIPE_KEY".into(),
            host: host(),
        },
        NetError::RateLimited {
            host: host(),
            retry_after: Duration::from_millis(1500),
        },
    ]
}

#[test]
fn error_messages() {
    let lines: Vec<String> = every_error()
        .iter()
        .map(|e| {
            format!(
                "[{} {} retryable={} status={} retry-after={:?}] {}",
                e.code(),
                e.rule(),
                e.is_retryable(),
                e.http_status(),
                e.retry_after_header(),
                e
            )
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn entry_and_limit_messages() {
    let mut lines: Vec<String> = [
        "*",
        "*.com",
        "api.*.x.com",
        "https://a.com",
        "127.1",
        "a.com:0",
        "",
        "a..b",
    ]
    .iter()
    .map(|e| format!("{e:?}: {}", AllowEntry::parse(e).unwrap_err()))
    .collect();
    let rules = EntryOverrides {
        max_response: 20 * 1024 * 1024,
        ..EntryOverrides::default()
    };
    lines.push(rules.validate().unwrap_err().to_string());
    lines.push(AppId::parse("bad app").unwrap_err().to_string());
    let mut limits = Limits::default();
    lines.push(limits.set("max_calls", 50).unwrap_err().to_string());
    lines.push(limits.set("max_cals", 5).unwrap_err().to_string());
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn limits_schema() {
    insta::assert_json_snapshot!(Limits::schema());
}

#[test]
fn explanations() {
    let list: Allowlist = [
        AllowEntry::parse("api.example.com").unwrap(),
        AllowEntry::parse("*.partner.example")
            .unwrap()
            .for_app(AppId::parse("shop").unwrap()),
    ]
    .into_iter()
    .collect();
    let classifier =
        Classifier::new().with_deny_ranges(["203.0.113.0/24".parse::<IpNet>().unwrap()]);
    let policy = Policy::new(list, classifier, Limits::default()).unwrap();
    let ips = |s: &[&str]| {
        s.iter()
            .map(|a| a.parse().unwrap())
            .collect::<Vec<IpAddr>>()
    };
    type Case<'a> = (Option<&'a str>, &'a str, Option<Vec<IpAddr>>);
    let cases: Vec<Case> = vec![
        (
            None,
            "https://api.example.com/v1?token=hidden",
            Some(ips(&[
                "93.184.215.14",
                "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            ])),
        ),
        (
            None,
            "https://api.example.com/",
            Some(ips(&["93.184.215.14", "10.0.0.7"])),
        ),
        (
            None,
            "https://api.example.com/",
            Some(ips(&["::ffff:169.254.169.254"])),
        ),
        (Some("shop"), "https://a.partner.example:8443/", None),
        (Some("shop"), "https://evil.example/", None),
        (None, "http://api.example.com/", None),
        (None, "https://2852039166/latest/meta-data/", None),
        (None, "gopher://api.example.com/", None),
        (None, "https://u:p@api.example.com/", None),
    ];
    let out: Vec<_> = cases
        .iter()
        .map(|(app, url, addrs)| policy.explain(*app, url, addrs.as_deref()))
        .collect();
    insta::assert_json_snapshot!(out);
}
