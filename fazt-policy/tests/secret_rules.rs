//! The secret rules: where a secret may be injected, and what is scrubbed
//! from what goes back to the caller.

use fazt_policy::{
    check_secret_domain, CanonicalHost, ErrorCode, HostPattern, InjectAs, Injection, SecretValue,
};

fn host(h: &str) -> CanonicalHost {
    CanonicalHost::parse(h).unwrap()
}

#[test]
fn a_secret_goes_only_to_a_host_its_domain_matches() {
    for (domain, to, expected) in [
        (Some("api.stripe.com"), "api.stripe.com", Ok(())),
        (Some("api.stripe.com"), "evil.test", Err("secret-domain")),
        (Some("*.example.com"), "a.b.example.com", Ok(())),
        (Some("*.example.com"), "example.com", Err("secret-domain")),
        (None, "api.stripe.com", Err("secret-domain")),
    ] {
        let pattern = domain.map(|d| HostPattern::parse(d).unwrap());
        let got = check_secret_domain("KEY", pattern.as_ref(), &host(to))
            .map_err(|e| (e.code(), e.rule()));
        assert_eq!(
            got,
            expected.map_err(|rule| (ErrorCode::Auth, rule)),
            "{domain:?} -> {to}"
        );
    }
}

#[test]
fn an_unbound_secret_names_the_fix() {
    let e = check_secret_domain("KEY", None, &host("api.test")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "NET_AUTH: secret \"KEY\" is not bound to a domain; set it again with `fazt secret set KEY --domain HOST`"
    );
}

fn secret(value: &str) -> Injection {
    Injection {
        inject_as: InjectAs::Query("key".into()),
        value: SecretValue::new(value),
    }
}

#[test]
fn every_form_of_the_value_is_scrubbed() {
    for (value, text, expected) in [
        (
            "sk_1",
            "https://a.test/?x=1&key=sk_1",
            "https://a.test/?x=1&key=[REDACTED]",
        ),
        (
            "sk_1",
            "Bearer sk_1, again sk_1",
            "Bearer [REDACTED], again [REDACTED]",
        ),
        ("a b/c", "?key=a+b%2Fc", "?key=[REDACTED]"),
        ("a b/c", "?key=a%20b%2Fc", "?key=[REDACTED]"),
        ("a b/c", "said a b/c", "said [REDACTED]"),
        ("sk_1", "nothing here", "nothing here"),
        (
            "",
            "an empty secret scrubs nothing",
            "an empty secret scrubs nothing",
        ),
    ] {
        assert_eq!(secret(value).scrub(text), expected, "{value:?} in {text:?}");
    }
}

/// The placement rule as a table: where each mode puts the value, and the
/// injected value winning over what the caller set under the same name.
#[test]
fn a_secret_is_placed_where_its_mode_says_and_wins() {
    let caller = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    // (case, mode, URL, caller headers) -> (URL, headers)
    for (case, inject_as, url, headers, want_url, want_headers) in [
        (
            "bearer goes in Authorization",
            InjectAs::Bearer,
            "https://api.test/v1?a=1",
            caller(&[("accept", "*/*")]),
            "https://api.test/v1?a=1",
            caller(&[("accept", "*/*"), ("authorization", "Bearer v@lue")]),
        ),
        (
            "bearer replaces the caller's Authorization",
            InjectAs::Bearer,
            "https://api.test/",
            caller(&[("authorization", "Bearer mine"), ("accept", "*/*")]),
            "https://api.test/",
            caller(&[("accept", "*/*"), ("authorization", "Bearer v@lue")]),
        ),
        (
            "header goes under its name",
            InjectAs::Header("x-api-key".into()),
            "https://api.test/",
            caller(&[("accept", "*/*")]),
            "https://api.test/",
            caller(&[("accept", "*/*"), ("x-api-key", "v@lue")]),
        ),
        (
            "header replaces the caller's, any case",
            InjectAs::Header("x-api-key".into()),
            "https://api.test/",
            caller(&[("X-Api-Key", "mine")]),
            "https://api.test/",
            caller(&[("x-api-key", "v@lue")]),
        ),
        (
            "header leaves Authorization alone",
            InjectAs::Header("x-api-key".into()),
            "https://api.test/",
            caller(&[("authorization", "Bearer mine")]),
            "https://api.test/",
            caller(&[("authorization", "Bearer mine"), ("x-api-key", "v@lue")]),
        ),
        (
            "query is added, encoded",
            InjectAs::Query("key".into()),
            "https://api.test/v1?a=1",
            caller(&[("accept", "*/*")]),
            "https://api.test/v1?a=1&key=v%40lue",
            caller(&[("accept", "*/*")]),
        ),
        (
            "query replaces the caller's parameter",
            InjectAs::Query("key".into()),
            "https://api.test/v1?key=mine&a=1",
            caller(&[]),
            "https://api.test/v1?a=1&key=v%40lue",
            caller(&[]),
        ),
    ] {
        let secret = Injection {
            inject_as,
            value: SecretValue::new("v@lue"),
        };
        let mut target = fazt_policy::Target::parse(url).unwrap();
        let mut headers = headers;
        secret.apply(&mut target, &mut headers);
        assert_eq!(target.url().as_str(), want_url, "{case}");
        assert_eq!(headers, want_headers, "{case}");
    }
}

/// The inject mode rule: one parser, used by the store and the CLI.
#[test]
fn inject_modes_parse_or_name_their_rule() {
    use fazt_policy::InjectAsError as E;
    for (mode, key, expected) in [
        ("bearer", None, Ok(InjectAs::Bearer)),
        ("BEARER", Some("  "), Ok(InjectAs::Bearer)),
        (
            "header",
            Some("X-Api-Key"),
            Ok(InjectAs::Header("x-api-key".into())),
        ),
        (
            "query",
            Some("api_key"),
            Ok(InjectAs::Query("api_key".into())),
        ),
        ("bearer", Some("x"), Err(E::KeyNotTaken)),
        ("header", None, Err(E::KeyMissing("header"))),
        ("query", Some(""), Err(E::KeyMissing("query"))),
        (
            "header",
            Some("bad name"),
            Err(E::InvalidHeader("bad name".into())),
        ),
        ("header", Some("Host"), Err(E::ManagedHeader("host".into()))),
        (
            "header",
            Some("proxy-authorization"),
            Err(E::ManagedHeader("proxy-authorization".into())),
        ),
        ("query", Some("a&b"), Err(E::InvalidQueryKey("a&b".into()))),
        (
            "query",
            Some(&"k".repeat(65)),
            Err(E::InvalidQueryKey("k".repeat(65))),
        ),
        ("cookie", None, Err(E::UnknownMode("cookie".into()))),
    ] {
        let got = InjectAs::parse(mode, key);
        assert_eq!(got, expected, "{mode} {key:?}");
        if let Ok(parsed) = got {
            assert_eq!(
                InjectAs::parse(parsed.mode(), parsed.key()),
                Ok(parsed.clone())
            );
        }
    }
    assert_eq!(
        InjectAs::parse("header", Some("Host"))
            .unwrap_err()
            .to_string(),
        "invalid inject key: header \"host\" is managed by the transport"
    );
}

/// The secret name rule: one parser, for the store, the CLI and `auth`.
#[test]
fn secret_names_are_upper_snake_case_up_to_64() {
    use fazt_policy::{check_secret_name, InvalidSecretName};
    for ok in ["STRIPE_KEY", "A", "K2", "_", &"A".repeat(64)] {
        assert_eq!(check_secret_name(ok), Ok(()), "{ok}");
    }
    for bad in ["", "lower", "STRIPE-KEY", "KEY ", "KÉY", &"A".repeat(65)] {
        assert_eq!(
            check_secret_name(bad),
            Err(InvalidSecretName(bad.escape_debug().to_string())),
            "{bad}"
        );
    }
    assert_eq!(
        check_secret_name("a\nb").unwrap_err().to_string(),
        "invalid secret name \"a\\nb\": expected 1..64 characters of A-Z, 0-9 and _"
    );
}

/// The trace rule: the spellings in which a server or a URL gives a value
/// back. What holds a trace is scrubbed whole when no known form could be
/// replaced in it.
#[test]
fn a_trace_of_the_secret_is_found_in_any_spelling() {
    let secret = Injection {
        inject_as: InjectAs::Header("x-key".into()),
        value: SecretValue::new("sk/live+SENTINEL="),
    };
    // (case, text) -> holds a trace?
    for (case, text, found) in [
        ("as it is", "a sk/live+SENTINEL= b", true),
        (
            "lowercased (a host)",
            "https://sk-x.test/sk/live+sentinel=",
            true,
        ),
        ("upper hex", "sk%2Flive%2BSENTINEL%3D", true),
        ("lower hex", "sk%2flive%2bSENTINEL%3d", true),
        ("only some bytes", "sk/live%2BSENTINEL%3D", true),
        (
            "every byte",
            "%73%6B%2F%6C%69%76%65%2B%53%45%4E%54%49%4E%45%4C%3D",
            true,
        ),
        ("twice encoded", "sk%252Flive%252BSENTINEL%253D", true),
        (
            "a URL in a URL",
            "return_to=https%3A%2F%2Fa%2F%3Fk%3Dsk%252Flive%252BSENTINEL%253D",
            true,
        ),
        (
            "its plus made a space by a form decoder",
            "x=sk/live SENTINEL=",
            true,
        ),
        (
            "escaped slashes (JSON)",
            r#"{"k":"sk\/live+SENTINEL="}"#,
            true,
        ),
        (
            "eight layers",
            "sk%252525252525252Flive%252525252525252BSENTINEL=",
            true,
        ),
        ("another value", "sk/live+SENTINEL", false),
        ("a broken escape", "sk%2Glive", false),
    ] {
        assert_eq!(secret.is_in(text), found, "{case}: {text}");
    }
    // Known forms are replaced in place; other spellings redact the text.
    assert_eq!(secret.scrub("k=sk%2FLIVE%2BSENTINEL%3D&x=1"), "[REDACTED]");
    assert_eq!(
        secret.scrub("k=sk%2Flive%2BSENTINEL%3D&x=1"),
        "k=[REDACTED]&x=1"
    );
    assert_eq!(secret.scrub("nothing here"), "nothing here");
}

/// The header rule: a header named after the secret goes, values are
/// scrubbed, and headers without it come back untouched.
#[test]
fn response_headers_lose_every_trace_of_the_secret() {
    let secret = Injection {
        inject_as: InjectAs::Header("x-key".into()),
        value: SecretValue::new("sk-live-sentinel42"),
    };
    let headers = |pairs: &[(&str, &str)]| {
        fazt_policy::headers::ResponseHeaders::from_pairs(
            pairs.iter().map(|(n, v)| (*n, v.to_string())),
        )
    };
    let clean = headers(&[("content-type", "text/plain"), ("etag", "\"1\"")]);
    assert_eq!(secret.scrub_headers(&clean), None);
    let echoed = headers(&[
        ("content-type", "text/plain"),
        ("x-echo", "key=sk-live-sentinel42"),
        ("sk-live-sentinel42", "1"),
        ("X-SK-LIVE-SENTINEL42-trace", "2"),
        ("set-cookie", "s=sk%2Dlive%2Dsentinel42"),
    ]);
    let scrubbed = secret.scrub_headers(&echoed).unwrap();
    assert_eq!(
        scrubbed.pairs(),
        headers(&[
            ("content-type", "text/plain"),
            ("x-echo", "key=[REDACTED]"),
            ("set-cookie", "s=[REDACTED]"),
        ])
        .pairs()
    );
}
