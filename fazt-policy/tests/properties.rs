//! Property tests: canonicalization, wildcard matching, embedded IPv4 and the
//! allowlist index, each through one helper.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fazt_policy::{
    AllowEntry, Allowlist, AppId, CanonicalHost, Classifier, HostPattern, Lookup, Scheme, Scope,
    Target,
};
use proptest::prelude::*;

/// A DNS-ish label, sometimes with upper case, digits, `-` and `_`. Not an
/// `xn--` label: those must be valid punycode, and random ones are not (the
/// canonicalizer rightly refuses them; urls.toml has such vectors).
fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,8}[a-zA-Z0-9]?".prop_filter("random punycode", |l| {
        !l.to_ascii_lowercase().starts_with("xn--")
    })
}

/// A host name of 2..5 labels, with a non-numeric last label.
fn host() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..4), "[a-z]{2,6}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// Spellings the URL parser reads as the same host.
fn spelling(h: &str, variant: u8) -> String {
    match variant % 5 {
        0 => h.to_string(),
        1 => h.to_ascii_uppercase(),
        2 => format!("{h}."),
        3 => h.replace('.', "\u{3002}"),
        _ => {
            // Percent-encode the first character.
            let (first, rest) = h.split_at(1);
            format!("%{:02X}{rest}", first.as_bytes()[0])
        }
    }
}

fn check_idempotent(input: &str) {
    if let Ok(h) = CanonicalHost::parse(input) {
        assert_eq!(CanonicalHost::parse(h.as_str()), Ok(h.clone()), "{input:?}");
        let url = format!("https://{h}/");
        let t = Target::parse(&url).unwrap();
        assert_eq!(t.host(), &h);
    }
}

proptest! {
    #[test]
    fn canonicalization_is_idempotent(h in host()) {
        check_idempotent(&h);
    }

    #[test]
    fn canonicalization_is_idempotent_on_arbitrary_text(s in "\\PC{0,24}") {
        check_idempotent(&s);
    }

    #[test]
    fn entry_and_request_agree(h in host(), a in 0u8..5, b in 0u8..5) {
        let entry = AllowEntry::parse(&spelling(&h, a)).unwrap();
        let list: Allowlist = [entry].into_iter().collect();
        let target = Target::parse(&format!("https://{}/x", spelling(&h, b))).unwrap();
        let found = list.lookup(None, target.host(), target.scheme(), target.port());
        prop_assert!(matches!(found, Lookup::Found(_)), "{:?} vs {:?}", spelling(&h, a), spelling(&h, b));
    }

    #[test]
    fn wildcard_matches_subdomains_only(suffix in host(), prefix in label(), deeper in label()) {
        let Ok(HostPattern::Wildcard(s)) = HostPattern::parse(&format!("*.{suffix}")) else {
            return Ok(()); // a public suffix: refused, nothing to match
        };
        let pattern = HostPattern::Wildcard(s.clone());
        let sub = CanonicalHost::parse(&format!("{prefix}.{suffix}")).unwrap();
        let deep = CanonicalHost::parse(&format!("{deeper}.{prefix}.{suffix}")).unwrap();
        // Gluing can spell an `xn--` label that is not valid punycode.
        let glued = CanonicalHost::parse(&format!("{prefix}{suffix}"));
        prop_assert!(pattern.matches(&sub));
        prop_assert!(pattern.matches(&deep));
        prop_assert!(!pattern.matches(&s), "apex");
        if let Ok(glued) = glued {
            prop_assert!(!pattern.matches(&glued), "non-boundary suffix");
        }
    }

    #[test]
    fn embedded_ipv4_classifies_as_itself(bits in any::<u32>()) {
        let v4 = Ipv4Addr::from(bits);
        let c = Classifier::new();
        let plain = c.classify(IpAddr::V4(v4)).is_allowed();
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        let nat64 = IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(bits)));
        prop_assert_eq!(c.classify(mapped).is_allowed(), plain);
        prop_assert_eq!(c.classify(nat64).is_allowed(), plain);
        // The deprecated embeddings are refused whatever the inner address.
        let compat = IpAddr::V6(Ipv6Addr::from(u128::from(bits)));
        let six_to_four = IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(bits) << 80)));
        prop_assert!(!c.classify(compat).is_allowed());
        prop_assert!(!c.classify(six_to_four).is_allowed());
    }

    #[test]
    fn allowlist_index_agrees_with_linear_scan(
        specs in prop::collection::vec(entry_spec(), 0..40),
        queries in prop::collection::vec(query(), 1..40),
    ) {
        let entries: Vec<AllowEntry> = specs.iter().filter_map(build_entry).collect();
        let list: Allowlist = entries.iter().cloned().collect();
        for (app, host, https, port) in &queries {
            let host = CanonicalHost::parse(host).unwrap();
            let scheme = if *https { Scheme::Https } else { Scheme::Http };
            let indexed = list.lookup(app.as_deref(), &host, scheme, *port);
            let linear = linear_lookup(list.entries(), app.as_deref(), &host, scheme, *port);
            prop_assert_eq!(indexed, linear, "{} {:?}", host, app);
        }
    }
}

/// (app, wildcard, labels, port) over a tiny alphabet so entries collide.
fn entry_spec(
) -> impl Strategy<Value = (Option<&'static str>, bool, Vec<&'static str>, Option<u16>)> {
    (
        prop::option::of(prop::sample::select(vec!["shop", "blog"])),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "api"]), 0..3),
        prop::option::of(prop::sample::select(vec![443u16, 80, 8443])),
    )
}

fn query() -> impl Strategy<Value = (Option<&'static str>, String, bool, u16)> {
    (
        prop::option::of(prop::sample::select(vec!["shop", "blog", "other"])),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "api"]), 0..4).prop_map(|l| {
            l.into_iter().map(|s| format!("{s}.")).collect::<String>() + "example.com"
        }),
        any::<bool>(),
        prop::sample::select(vec![443u16, 80, 8443]),
    )
}

fn build_entry(spec: &(Option<&str>, bool, Vec<&str>, Option<u16>)) -> Option<AllowEntry> {
    let (app, wild, labels, port) = spec;
    let mut name: String = labels.iter().map(|l| format!("{l}.")).collect();
    name.push_str("example.com");
    if *wild {
        name = format!("*.{name}");
    }
    if let Some(p) = port {
        name = format!("{name}:{p}");
    }
    let e = AllowEntry::parse(&name).ok()?;
    Some(match app {
        Some(a) => e.for_app(AppId::parse(a).unwrap()),
        None => e,
    })
}

/// The oracle: scan every entry, rank the matches the documented way.
fn linear_lookup<'a>(
    entries: &'a [std::sync::Arc<AllowEntry>],
    app: Option<&str>,
    host: &CanonicalHost,
    scheme: Scheme,
    port: u16,
) -> Lookup<'a> {
    let scope_rank = |s: &Scope| match s {
        Scope::App(a) if Some(a.as_str()) == app => Some(0),
        Scope::Global => Some(1),
        Scope::App(_) => None,
    };
    // Exact first (rank 0), then wildcards by decreasing suffix length.
    let pattern_rank = |p: &HostPattern| match p {
        HostPattern::Exact(h) if h == host => Some(0),
        HostPattern::Wildcard(s) if host.is_subdomain_of(s) => Some(1000 - s.as_str().len()),
        _ => None,
    };
    let mut host_matches: Vec<(usize, usize, usize, &std::sync::Arc<AllowEntry>)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((scope_rank(e.scope())?, pattern_rank(e.pattern())?, i, e)))
        .collect();
    host_matches.sort_by_key(|&(s, p, i, _)| (s, p, i));
    if host_matches.is_empty() {
        return Lookup::NotFound;
    }
    host_matches
        .iter()
        .find(|(_, _, _, e)| e.admits_port(scheme, port))
        .map_or(Lookup::WrongPort, |(_, _, _, e)| Lookup::Found(e))
}
