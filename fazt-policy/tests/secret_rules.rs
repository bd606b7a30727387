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
