//! The shared test vectors in `testdata/*.toml`, checked against the policy.

use std::net::IpAddr;

use fazt_policy::{
    AllowEntry, Allowlist, AppId, Classifier, EntryError, EntryRules, HostError, Limits, Policy,
    Target, Verdict,
};
use serde::Deserialize;

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Deserialize)]
struct Cases<T> {
    case: Vec<T>,
}

#[derive(Deserialize)]
struct UrlCase {
    url: String,
    canonical: Option<String>,
    code: Option<String>,
    rule: Option<String>,
}

#[test]
fn url_vectors() {
    let cases: Cases<UrlCase> = load("urls.toml");
    let mut failures = Vec::new();
    for c in &cases.case {
        let got = match Target::parse(&c.url) {
            Ok(t) => format!("ok {}", t.url()),
            Err(e) => format!("{} {}", e.code(), e.rule()),
        };
        let want = match (&c.canonical, &c.code, &c.rule) {
            (Some(canon), None, None) => format!("ok {canon}"),
            (None, Some(code), Some(rule)) => format!("{code} {rule}"),
            _ => panic!("bad vector {:?}", c.url),
        };
        if got != want {
            failures.push(format!("{:?}: want {want}, got {got}", c.url));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn canonical_urls_are_fixed_points() {
    // What we request must parse back to itself: no second reading.
    let cases: Cases<UrlCase> = load("urls.toml");
    for c in cases.case.iter().filter_map(|c| c.canonical.as_ref()) {
        let t = Target::parse(c).unwrap();
        assert_eq!(t.url().as_str(), c);
    }
}

#[derive(Deserialize)]
struct IpCase {
    ip: IpAddr,
    class: String,
}

#[test]
fn ip_vectors() {
    let cases: Cases<IpCase> = load("ips.toml");
    let classifier = Classifier::new();
    let mut failures = Vec::new();
    for c in &cases.case {
        let got = match classifier.classify(c.ip) {
            Verdict::Allowed => "global".to_string(),
            Verdict::Blocked(fazt_policy::BlockReason::Special(class)) => format!("{class:?}"),
            Verdict::Blocked(fazt_policy::BlockReason::Embedded { class, .. }) => {
                format!("{class:?}")
            }
            other => format!("{other:?}"),
        };
        if got != c.class {
            failures.push(format!("{}: want {}, got {got}", c.ip, c.class));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct EntryCase {
    entry: String,
    display: Option<String>,
    error: Option<String>,
}

fn entry_error_kind(e: &EntryError) -> &'static str {
    match e {
        EntryError::Empty => "empty",
        EntryError::BareWildcard => "bare-wildcard",
        EntryError::MisplacedWildcard(_) => "misplaced-wildcard",
        EntryError::PublicSuffixWildcard(_) => "public-suffix",
        EntryError::NotAHost(_) => "not-a-host",
        EntryError::Host(HostError::IpLiteral(_)) => "ip-literal",
        EntryError::Host(_) => "host",
        EntryError::Port(_) => "port",
        _ => "other",
    }
}

#[test]
fn entry_vectors() {
    let cases: Cases<EntryCase> = load("entries.toml");
    let mut failures = Vec::new();
    for c in &cases.case {
        let got = match AllowEntry::parse(&c.entry) {
            Ok(e) => format!("ok {e}"),
            Err(e) => entry_error_kind(&e).to_string(),
        };
        let want = match (&c.display, &c.error) {
            (Some(d), None) => format!("ok {d}"),
            (None, Some(e)) => e.clone(),
            _ => panic!("bad vector {:?}", c.entry),
        };
        if got != want {
            failures.push(format!("{:?}: want {want}, got {got}", c.entry));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct Matches {
    entries: Vec<EntrySpec>,
    case: Vec<MatchCase>,
}

#[derive(Deserialize)]
struct EntrySpec {
    entry: String,
    app: Option<String>,
    #[serde(default)]
    http: bool,
}

#[derive(Deserialize)]
struct MatchCase {
    url: String,
    app: Option<String>,
    entry: Option<String>,
    code: Option<String>,
    rule: Option<String>,
}

/// The policy built from `testdata/matches.toml`'s entries.
fn matches_policy() -> (Policy, Vec<MatchCase>) {
    let m: Matches = load("matches.toml");
    let list: Allowlist = m
        .entries
        .iter()
        .map(|s| {
            let mut e = AllowEntry::parse(&s.entry).unwrap();
            if let Some(app) = &s.app {
                e = e.for_app(AppId::parse(app).unwrap());
            }
            e.with_rules(EntryRules {
                allow_http: s.http,
                ..EntryRules::default()
            })
            .unwrap()
        })
        .collect();
    let policy = Policy::new(list, Classifier::new(), Limits::default()).unwrap();
    (policy, m.case)
}

#[test]
fn match_vectors() {
    let (policy, cases) = matches_policy();
    let mut failures = Vec::new();
    for c in &cases {
        let got = match policy.check_url(c.app.as_deref(), &c.url) {
            Ok(a) => format!("ok {}", a.entry),
            Err(e) => format!("{} {}", e.code(), e.rule()),
        };
        let want = match (&c.entry, &c.code, &c.rule) {
            (Some(e), None, None) => format!("ok {e}"),
            (None, Some(code), Some(rule)) => format!("{code} {rule}"),
            _ => panic!("bad vector {:?}", c.url),
        };
        if got != want {
            failures.push(format!(
                "{:?} (app {:?}): want {want}, got {got}",
                c.url, c.app
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn explain_agrees_with_check_on_every_vector() {
    let (policy, cases) = matches_policy();
    for c in &cases {
        let decided = policy.check_url(c.app.as_deref(), &c.url).err();
        let explained = policy.explain(c.app.as_deref(), &c.url, None);
        assert_eq!(explained.error, decided, "{}", c.url);
        // The refusing step is the last one, and only that one failed.
        let failed: Vec<_> = explained.steps.iter().filter(|s| !s.ok).collect();
        assert_eq!(failed.len(), usize::from(decided.is_some()), "{}", c.url);
        if decided.is_some() {
            assert!(!explained.steps.last().unwrap().ok, "{}", c.url);
        }
    }
}
