//! The cache rules: the key tells tenants and headers apart; what may be
//! stored.

use fazt_policy::cache::{cache_key, cacheable_request, storable};
use fazt_policy::headers::ResponseHeaders;

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
    for (headers, expected) in [
        (vec![("content-type", "application/json")], true),
        (vec![("cache-control", "max-age=60")], true),
        (vec![("cache-control", "no-store")], false),
        (vec![("cache-control", "Private, max-age=60")], false),
        (vec![("set-cookie", "session=1")], false),
        (vec![("vary", "Accept-Language")], false),
    ] {
        let r = ResponseHeaders::from_pairs(headers.iter().map(|(n, v)| (*n, v.to_string())));
        assert_eq!(storable(&r), expected, "{headers:?}");
    }
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
