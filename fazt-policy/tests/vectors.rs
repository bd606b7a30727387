//! The shared test vectors in `testdata/*.toml`, checked against the policy.

use fazt_policy::{
    AllowEntry, Allowlist, AppId, Classifier, EntryError, EntryOverrides, HostError, Limits,
    Policy, Target, Verdict,
};

// The one loader of the vectors, the file the `fazt-tests` crate exports as
// `fazt_tests::vectors`, compiled here by path: see that file for why this
// crate does not depend on `fazt-tests`. Some of its items serve only the
// other layers' tests.
#[path = "../../tests/src/vectors.rs"]
#[allow(dead_code, unreachable_pub)]
mod vectors;

use vectors::{EntryCase, IpCase, MatchCase, UrlCase};

/// Checks every case, `check` giving (label, wanted, got); reports all the
/// mismatches at once.
fn check_all<T>(cases: &[T], check: impl Fn(&T) -> (String, String, String)) {
    let failures: Vec<String> = cases
        .iter()
        .map(&check)
        .filter(|(_, want, got)| want != got)
        .map(|(label, want, got)| format!("{label}: want {want}, got {got}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `ok X` or `CODE rule`, the form both sides of a check take.
fn outcome(
    ok: Option<&String>,
    code: Option<&String>,
    rule: Option<&String>,
    label: &str,
) -> String {
    match (ok, code, rule) {
        (Some(ok), None, None) => format!("ok {ok}"),
        (None, Some(code), Some(rule)) => format!("{code} {rule}"),
        _ => panic!("bad vector {label:?}"),
    }
}

#[test]
fn url_vectors() {
    let cases: Vec<UrlCase> = vectors::urls();
    check_all(&cases, |c| {
        let got = match Target::parse(&c.url) {
            Ok(t) => format!("ok {}", t.url()),
            Err(e) => format!("{} {}", e.code(), e.rule()),
        };
        let want = outcome(
            c.canonical.as_ref(),
            c.code.as_ref(),
            c.rule.as_ref(),
            &c.url,
        );
        (format!("{:?}", c.url), want, got)
    });
}

#[test]
fn canonical_urls_are_fixed_points() {
    // What we request must parse back to itself: no second reading.
    for c in vectors::urls().iter().filter_map(|c| c.canonical.as_ref()) {
        let t = Target::parse(c).unwrap();
        assert_eq!(t.url().as_str(), c);
    }
}

#[test]
fn ip_vectors() {
    let cases: Vec<IpCase> = vectors::ips();
    let classifier = Classifier::new();
    check_all(&cases, |c| {
        let got = match classifier.classify(c.ip) {
            Verdict::Allowed => "global".to_string(),
            Verdict::Blocked(fazt_policy::BlockReason::Special(class)) => format!("{class:?}"),
            Verdict::Blocked(fazt_policy::BlockReason::Embedded { class, .. }) => {
                format!("{class:?}")
            }
            other => format!("{other:?}"),
        };
        (c.ip.to_string(), c.class.clone(), got)
    });
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
    let cases: Vec<EntryCase> = vectors::entries();
    check_all(&cases, |c| {
        let got = match AllowEntry::parse(&c.entry) {
            Ok(e) => format!("ok {e}"),
            Err(e) => entry_error_kind(&e).to_string(),
        };
        let want = match (&c.display, &c.error) {
            (Some(d), None) => format!("ok {d}"),
            (None, Some(e)) => e.clone(),
            _ => panic!("bad vector {:?}", c.entry),
        };
        (format!("{:?}", c.entry), want, got)
    });
}

/// The policy built from `testdata/matches.toml`'s entries.
fn matches_policy() -> (Policy, Vec<MatchCase>) {
    let m = vectors::matches();
    let list: Allowlist = m
        .entries
        .iter()
        .map(|s| {
            let mut e = AllowEntry::parse(&s.entry).unwrap();
            if let Some(app) = &s.app {
                e = e.for_app(AppId::parse(app).unwrap());
            }
            e.with_overrides(EntryOverrides {
                allow_http: s.http,
                ..EntryOverrides::default()
            })
            .unwrap()
        })
        .collect();
    let policy = Policy::new(list, Classifier::new(), Limits::default()).unwrap();
    (policy, m.cases)
}

#[test]
fn match_vectors() {
    let (policy, cases) = matches_policy();
    check_all(&cases, |c| {
        let got = match policy.check_url(c.app.as_deref(), &c.url) {
            Ok(a) => format!("ok {}", a.entry),
            Err(e) => format!("{} {}", e.code(), e.rule()),
        };
        let want = outcome(c.entry.as_ref(), c.code.as_ref(), c.rule.as_ref(), &c.url);
        (format!("{:?} (app {:?})", c.url, c.app), want, got)
    });
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
