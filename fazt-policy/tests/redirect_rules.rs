//! The redirect rules as a table, one named case per behaviour: what a
//! followed hop does to the request it repeats (method, body, content and
//! credential headers), what the caller's redirect mode allows, and where
//! an injected secret may go along the chain.

use fazt_policy::{
    AllowEntry, Classifier, InjectAs, Injection, Limits, Policy, RedirectMode, SecretRoute,
    SecretValue, Target,
};

fn policy() -> Policy {
    let list = ["api.test", "other.test"]
        .iter()
        .map(|e| AllowEntry::parse(e).unwrap())
        .collect();
    Policy::new(list, Classifier::new(), Limits::default()).unwrap()
}

/// The request every case starts from: a POST to api.test with a body,
/// a content type, caller credentials and one ordinary header.
fn request() -> (Vec<(String, String)>, Option<Vec<u8>>) {
    let headers = [
        ("content-type", "application/json"),
        ("content-language", "en"),
        ("authorization", "Bearer caller"),
        ("cookie", "s=1"),
        ("x-trace", "t1"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    (headers, Some(b"{}".to_vec()))
}

const ALL: &[&str] = &[
    "content-type",
    "content-language",
    "authorization",
    "cookie",
    "x-trace",
];
const NO_CONTENT: &[&str] = &["authorization", "cookie", "x-trace"];
const NO_CREDENTIALS: &[&str] = &["content-type", "content-language", "x-trace"];
const ONLY_TRACE: &[&str] = &["x-trace"];

/// (case, status, method, Location) -> (next URL, next method, body kept,
/// headers kept).
type HopCase = (
    &'static str,
    u16,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

#[test]
fn a_followed_hop_rewrites_the_request_as_fetch_does() {
    let p = policy();
    // (case, status, method, location) -> (url, method, body kept, headers kept)
    let cases: &[HopCase] = &[
        (
            "303 POST /next -> GET, body dropped, same origin",
            303,
            "POST",
            "/next",
            "https://api.test/next",
            "GET",
            false,
            NO_CONTENT,
        ),
        (
            "303 HEAD stays HEAD, nothing dropped",
            303,
            "HEAD",
            "/next",
            "https://api.test/next",
            "HEAD",
            true,
            ALL,
        ),
        (
            "301 POST -> GET, body dropped",
            301,
            "POST",
            "/next",
            "https://api.test/next",
            "GET",
            false,
            NO_CONTENT,
        ),
        (
            "302 POST -> GET, body dropped",
            302,
            "POST",
            "/next",
            "https://api.test/next",
            "GET",
            false,
            NO_CONTENT,
        ),
        (
            "302 PUT stays PUT with its body",
            302,
            "PUT",
            "/next",
            "https://api.test/next",
            "PUT",
            true,
            ALL,
        ),
        (
            "307 POST stays POST with its body",
            307,
            "POST",
            "/next",
            "https://api.test/next",
            "POST",
            true,
            ALL,
        ),
        (
            "308 POST to another origin keeps the body, drops credentials",
            308,
            "POST",
            "https://other.test/x",
            "https://other.test/x",
            "POST",
            true,
            NO_CREDENTIALS,
        ),
        (
            "303 POST to another origin: GET, no body, no credentials",
            303,
            "POST",
            "https://other.test/x",
            "https://other.test/x",
            "GET",
            false,
            ONLY_TRACE,
        ),
        (
            "a relative Location resolves against the current URL",
            307,
            "GET",
            "next",
            "https://api.test/next",
            "GET",
            true,
            ALL,
        ),
        (
            "a query-only Location keeps the path",
            307,
            "GET",
            "?y=2",
            "https://api.test/start?y=2",
            "GET",
            true,
            ALL,
        ),
        (
            "an explicit default port is the same origin",
            307,
            "GET",
            "https://api.test:443/z",
            "https://api.test/z",
            "GET",
            true,
            ALL,
        ),
    ];
    let from = Target::parse("https://api.test/start?x=1").unwrap();
    for &(case, status, method, location, url, new_method, body_kept, kept) in cases {
        let hop = p
            .redirect(
                None,
                &from,
                status,
                Some(location),
                method,
                0,
                RedirectMode::Follow,
            )
            .unwrap_or_else(|e| panic!("{case}: {e}"))
            .unwrap_or_else(|| panic!("{case}: not followed"));
        let (mut headers, mut body) = request();
        hop.apply(&mut headers, &mut body);
        assert_eq!(hop.to.target.url().as_str(), url, "{case}");
        assert_eq!(hop.method, new_method, "{case}");
        assert_eq!(body.is_some(), body_kept, "{case}");
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, kept, "{case}");
    }
}

#[test]
fn the_redirect_mode_decides_before_the_target_is_looked_at() {
    let p = policy();
    let from = Target::parse("https://api.test/start").unwrap();
    // (case, mode, status, location) -> followed, final, or the refusal rule
    for (case, mode, status, location, expected) in [
        (
            "follow a 302",
            RedirectMode::Follow,
            302,
            Some("/n"),
            Ok(true),
        ),
        (
            "manual returns the 302",
            RedirectMode::Manual,
            302,
            Some("/n"),
            Ok(false),
        ),
        (
            "manual, even to a blocked target",
            RedirectMode::Manual,
            302,
            Some("https://evil.test/"),
            Ok(false),
        ),
        (
            "error refuses the 302",
            RedirectMode::Error,
            302,
            Some("/n"),
            Err("redirect"),
        ),
        (
            "error ignores a 302 without Location",
            RedirectMode::Error,
            302,
            None,
            Ok(false),
        ),
        (
            "error ignores a 200",
            RedirectMode::Error,
            200,
            Some("/n"),
            Ok(false),
        ),
        (
            "error ignores a 304",
            RedirectMode::Error,
            304,
            Some("/n"),
            Ok(false),
        ),
    ] {
        let got = p
            .redirect(None, &from, status, location, "GET", 0, mode)
            .map(|h| h.is_some())
            .map_err(|e| e.rule());
        assert_eq!(got, expected, "{case}");
    }
}

fn secret() -> Injection {
    Injection {
        inject_as: InjectAs::Query("key".into()),
        value: SecretValue::new("s3cr3t"),
    }
}

#[test]
fn a_secret_follows_only_while_the_chain_stays_on_its_origin() {
    let t = |u: &str| Target::parse(u).unwrap();
    // (case, the chain's requests in order) -> whether each gets the secret
    for (case, chain, expected) in [
        ("one request", vec!["https://api.test/a"], vec![true]),
        (
            "same origin hops",
            vec!["https://api.test/a", "https://api.test/b"],
            vec![true, true],
        ),
        (
            "another host",
            vec!["https://api.test/a", "https://other.test/b"],
            vec![true, false],
        ),
        (
            "back to the origin after leaving",
            vec![
                "https://api.test/a",
                "https://other.test/b",
                "https://api.test/c",
            ],
            vec![true, false, false],
        ),
        (
            "another port",
            vec!["https://api.test/a", "https://api.test:8443/b"],
            vec![true, false],
        ),
        (
            "another scheme",
            vec!["https://api.test/a", "http://api.test/b"],
            vec![true, false],
        ),
    ] {
        let mut route = SecretRoute::new(&t(chain[0]));
        let got: Vec<bool> = chain.iter().map(|u| route.admits(&t(u))).collect();
        assert_eq!(got, expected, "{case}");
    }
}

/// A header secret; the echo rule's cases are about what a server does
/// with a value it received.
fn header_secret() -> Injection {
    Injection {
        inject_as: InjectAs::Header("x-key".into()),
        value: SecretValue::new("s3cr3t"),
    }
}

/// The echo rule for a redirect from `from` to `location`, answered to a
/// request that carried `secret` (or not): the next URL, or the rule that
/// refused it.
fn echo(
    p: &Policy,
    from: &Target,
    location: &str,
    secret: &Injection,
    carried: bool,
) -> Result<String, &'static str> {
    let decided = p.redirect(
        None,
        from,
        302,
        Some(location),
        "GET",
        0,
        RedirectMode::Follow,
    );
    SecretRoute::new(from)
        .follow(decided, Some(location), secret, carried)
        .map(|hop| hop.unwrap().to.target.url().to_string())
        .map_err(|e| e.rule())
}

#[test]
fn an_echoed_query_value_never_goes_to_another_origin() {
    let p = policy();
    let from = Target::parse("https://api.test/start").unwrap();
    // (case, Location) -> the next URL, or the rule that refused it
    for (case, location, expected) in [
        (
            "other values stay",
            "https://other.test/x?key=other",
            Ok("https://other.test/x?key=other"),
        ),
        (
            "the same origin keeps it (it is injected again there)",
            "/next?key=s3cr3t",
            Ok("https://api.test/next?key=s3cr3t"),
        ),
        (
            "an echoed value is never followed to another origin",
            "https://other.test/x?key=s3cr3t&y=1",
            Err("secret-origin"),
        ),
    ] {
        let got = echo(&p, &from, location, &header_secret(), true);
        assert_eq!(got.as_deref().map_err(|e| *e), expected, "{case}");
    }
}

/// Where the echoed secret cannot be taken out (a host, a port, a path, a
/// URL inside the URL, another encoding, a spelling the URL parser
/// rewrites), the hop is refused; on the secret's own origin it is
/// followed. A query secret never follows to another origin at all.
#[test]
fn a_hop_that_would_carry_the_secret_elsewhere_is_refused() {
    let p = policy_with_subdomains();
    let from = Target::parse("https://api.test/start").unwrap();
    // (case, Location) -> refused?
    for (case, location, refused) in [
        ("in another host's name", "https://s3cr3t.api.test/", true),
        ("in the host, any case", "https://S3CR3T.api.test/", true),
        ("in the path", "https://other.test/k/s3cr3t", true),
        (
            "in the path, percent-encoded",
            "https://other.test/k/%73%33cr3t",
            true,
        ),
        (
            "in a URL inside the query",
            "https://other.test/login?return_to=https%3A%2F%2Fapi.test%2F%3Fkey%3Ds3cr3t",
            true,
        ),
        (
            "twice encoded",
            "https://other.test/x?r=%2573%2533cr3t",
            true,
        ),
        (
            "inside a longer value",
            "https://other.test/x?v=xs3cr3tx",
            true,
        ),
        (
            "in a fragment the parser drops",
            "https://other.test/x#s3cr3t",
            true,
        ),
        (
            "in a Location the policy refuses",
            "https://s3cr3t.evil.test/",
            true,
        ),
        ("in a refused scheme", "s3cr3t:whatever", true),
        ("not there", "https://other.test/x?v=secret", false),
        (
            "on its own origin, in the path",
            "https://api.test/k/s3cr3t",
            false,
        ),
    ] {
        let got = echo(&p, &from, location, &header_secret(), true);
        assert_eq!(got.is_err(), refused, "{case}: {got:?}");
        if let Err(rule) = got {
            assert_eq!(rule, "secret-origin", "{case}");
        }
    }
    // What the URL parser would rewrite is refused on any origin: the
    // script would see the secret in a form no check recognises.
    for (case, secret, location) in [
        (
            "a backslash in a same-origin path",
            r"abcd\efgh",
            r"/land/abcd\efgh",
        ),
        (
            "a fragment in a same-origin query",
            "abcdefgh#ijkl",
            "/land?next=abcdefgh#ijkl",
        ),
        ("a tab in a port", "31337", "https://api.test:313\t37/"),
        (
            "a tab in an IP literal",
            "3232235777",
            "https://32322\t35777/",
        ),
    ] {
        let secret = Injection {
            inject_as: InjectAs::Header("x-key".into()),
            value: SecretValue::new(secret),
        };
        assert_eq!(
            echo(&p, &from, location, &secret, true),
            Err("secret-origin"),
            "{case}"
        );
    }
    // A refusal that does not quote the secret keeps its own rule.
    assert_eq!(
        echo(&p, &from, "https://evil.test/", &header_secret(), true),
        Err("allowlist")
    );
    // A query secret: no hop to another origin after a request that
    // carried it, trace or not; its own origin is followed.
    for (location, carried, expected) in [
        ("https://other.test/x", true, Err("secret-origin")),
        (
            "https://other.test/x",
            false,
            Ok("https://other.test/x".to_string()),
        ),
        ("/next", true, Ok("https://api.test/next".to_string())),
    ] {
        assert_eq!(
            echo(&p, &from, location, &secret(), carried),
            expected,
            "{location} carried={carried}"
        );
    }
    let decided = p.redirect(
        None,
        &from,
        302,
        Some("https://other.test/s3cr3t"),
        "GET",
        0,
        RedirectMode::Follow,
    );
    assert_eq!(
        SecretRoute::new(&from)
            .follow(decided, Some("https://other.test/s3cr3t"), &header_secret(), true)
            .unwrap_err()
            .to_string(),
        "NET_BLOCKED: host api.test redirected where the injected secret could travel on (in the new URL, or a query secret to another origin); the redirect is not followed"
    );
}

/// A policy whose entries admit the hosts the echo cases redirect to.
fn policy_with_subdomains() -> Policy {
    let list = ["api.test", "*.api.test", "other.test"]
        .iter()
        .map(|e| AllowEntry::parse(e).unwrap())
        .collect();
    Policy::new(list, Classifier::new(), Limits::default()).unwrap()
}
