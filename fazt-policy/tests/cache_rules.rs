//! The cache rules: the key tells tenants and headers apart; what may be
//! stored.

use fazt_policy::cache::{cache_key, cacheable_request, storable, CacheRequest};
use fazt_policy::headers::ResponseHeaders;
use fazt_policy::{AllowEntry, Classifier, EntryOverrides, Limits, Policy, RedirectMode};

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn keys_differ_by_app_method_url_and_every_header() {
    let url = "https://api.test/me?x=1";
    let base = cache_key(Some("a"), "GET", url, &h(&[("x-api-key", "k1")]));
    for (name, other) in [
        (
            "another app",
            cache_key(Some("b"), "GET", url, &h(&[("x-api-key", "k1")])),
        ),
        (
            "no app",
            cache_key(None, "GET", url, &h(&[("x-api-key", "k1")])),
        ),
        (
            "an app named global",
            cache_key(Some("global"), "GET", url, &h(&[("x-api-key", "k1")])),
        ),
        (
            "another query",
            cache_key(
                Some("a"),
                "GET",
                "https://api.test/me?x=2",
                &h(&[("x-api-key", "k1")]),
            ),
        ),
        (
            "another header value",
            cache_key(Some("a"), "GET", url, &h(&[("x-api-key", "k2")])),
        ),
        ("no header", cache_key(Some("a"), "GET", url, &[])),
        (
            "a header split differently",
            cache_key(Some("a"), "GET", url, &h(&[("x-api-", "keyk1")])),
        ),
    ] {
        assert_ne!(base, other, "{name}");
    }
    assert_eq!(
        base,
        cache_key(Some("a"), "GET", url, &h(&[("x-api-key", "k1")]))
    );
}

#[test]
fn what_may_be_stored() {
    let plain = [("content-type", "application/json")];
    for (status, redirected, headers, expected) in [
        (200, false, &plain[..], true),
        (204, false, &plain[..], true),
        (200, false, &[("cache-control", "max-age=60")][..], true),
        (200, false, &[("cache-control", "no-store")][..], false),
        (
            200,
            false,
            &[("cache-control", "Private, max-age=60")][..],
            false,
        ),
        (200, false, &[("set-cookie", "session=1")][..], false),
        (200, false, &[("vary", "Accept-Language")][..], false),
        (200, true, &plain[..], false),
        (304, false, &plain[..], false),
        (404, false, &plain[..], false),
        (500, false, &plain[..], false),
    ] {
        let r = ResponseHeaders::from_pairs(headers.iter().map(|(n, v)| (*n, v.to_string())));
        assert_eq!(
            storable(status, redirected, &r),
            expected,
            "{status} redirected={redirected} {headers:?}"
        );
    }
}

/// The eligibility rule as a table: which requests get a key, read as
/// "entry TTL, redirect mode, method, body, auth, headers -> cached?".
#[test]
fn which_requests_get_a_cache_key() {
    let with_ttl = approved("cached.test", 60);
    let without_ttl = approved("plain.test", 0);
    let none = h(&[]);
    let accept = h(&[("accept", "application/json")]);
    let bearer = h(&[("authorization", "Bearer x")]);
    for (name, approved, redirect, method, body, auth, headers, cached) in [
        (
            "GET with a TTL",
            &with_ttl,
            RedirectMode::Follow,
            "GET",
            false,
            false,
            &accept,
            true,
        ),
        (
            "no TTL on the entry",
            &without_ttl,
            RedirectMode::Follow,
            "GET",
            false,
            false,
            &none,
            false,
        ),
        (
            "manual redirects",
            &with_ttl,
            RedirectMode::Manual,
            "GET",
            false,
            false,
            &none,
            false,
        ),
        (
            "error on redirect",
            &with_ttl,
            RedirectMode::Error,
            "GET",
            false,
            false,
            &none,
            false,
        ),
        (
            "POST",
            &with_ttl,
            RedirectMode::Follow,
            "POST",
            false,
            false,
            &none,
            false,
        ),
        (
            "a body",
            &with_ttl,
            RedirectMode::Follow,
            "GET",
            true,
            false,
            &none,
            false,
        ),
        (
            "a secret",
            &with_ttl,
            RedirectMode::Follow,
            "GET",
            false,
            true,
            &none,
            false,
        ),
        (
            "caller credentials",
            &with_ttl,
            RedirectMode::Follow,
            "GET",
            false,
            false,
            &bearer,
            false,
        ),
    ] {
        let request = CacheRequest {
            app: Some("a"),
            method,
            approved,
            redirect,
            has_body: body,
            has_auth: auth,
            headers,
        };
        let key = request.key();
        assert_eq!(key.is_some(), cached, "{name}");
        if let Some(key) = key {
            let url = approved.target.url().as_str();
            assert_eq!(key, cache_key(Some("a"), method, url, headers), "{name}");
        }
    }
}

/// An approved target on an entry with `cache_ttl_s`.
fn approved(host: &str, cache_ttl_s: u64) -> fazt_policy::Approved {
    let rules = EntryOverrides {
        cache_ttl_s,
        ..EntryOverrides::default()
    };
    let entry = AllowEntry::parse(host)
        .unwrap()
        .with_overrides(rules)
        .unwrap();
    let policy = Policy::new(
        [entry].into_iter().collect(),
        Classifier::new(),
        Limits::default(),
    )
    .unwrap();
    policy
        .check_url(Some("a"), &format!("https://{host}/v1?q=1"))
        .unwrap()
}

#[test]
fn which_requests_may_use_the_cache() {
    for (method, body, auth, headers, expected) in [
        (
            "GET",
            false,
            false,
            h(&[("accept", "application/json")]),
            true,
        ),
        ("POST", false, false, h(&[]), false),
        ("GET", true, false, h(&[]), false),
        ("GET", false, true, h(&[]), false),
        (
            "GET",
            false,
            false,
            h(&[("authorization", "Bearer x")]),
            false,
        ),
        ("GET", false, false, h(&[("Cookie", "s=1")]), false),
    ] {
        assert_eq!(
            cacheable_request(method, body, auth, &headers),
            expected,
            "{method} body={body} auth={auth} {headers:?}"
        );
    }
}
