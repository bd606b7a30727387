//! A full decision (parse, canonicalize, allowlist lookup, connect-time
//! address check) against allowlists of 10 to 100k entries.
//!
//! Run with `cargo xtask bench -p fazt-policy` (or `cargo bench -p
//! fazt-policy`). Results are recorded in the crate README.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fazt_policy::{AllowEntry, Allowlist, AppId, Classifier, Limits, Policy};

fn policy_with(n: usize) -> Policy {
    let mut list = Allowlist::new();
    for i in 0..n {
        let text = match i % 4 {
            0 => format!("*.svc{i}.example{}.com", i % 97),
            1 => format!("api{i}.example{}.com:8443", i % 97),
            _ => format!("api{i}.example{}.com", i % 97),
        };
        let mut e = AllowEntry::parse(&text).unwrap();
        if i % 3 == 0 {
            e = e.for_app(AppId::parse(&format!("app{}", i % 50)).unwrap());
        }
        list.insert(e);
    }
    // The entries the benchmark hits, present at every size.
    list.insert(AllowEntry::parse("api.stripe.com").unwrap());
    list.insert(AllowEntry::parse("*.googleapis.com").unwrap());
    Policy::new(list, Classifier::new(), Limits::default()).unwrap()
}

fn decision(c: &mut Criterion) {
    let addrs: Vec<IpAddr> = vec![
        "93.184.215.14".parse().unwrap(),
        "2606:2800:21f::1".parse().unwrap(),
    ];
    let mut group = c.benchmark_group("decision");
    group.bench_function("url_parse_only", |b| {
        b.iter(|| url::Url::parse(black_box("https://api.stripe.com/v1/charges?limit=3")).unwrap())
    });
    group.bench_function("target_only", |b| {
        b.iter(|| {
            fazt_policy::Target::parse(black_box("https://api.stripe.com/v1/charges?limit=3"))
                .unwrap()
        })
    });
    for n in [10usize, 1_000, 10_000, 100_000] {
        let policy = policy_with(n);
        group.bench_with_input(BenchmarkId::new("exact", n), &policy, |b, p| {
            b.iter(|| {
                let a = p
                    .check_url(
                        Some("app7"),
                        black_box("https://api.stripe.com/v1/charges?limit=3"),
                    )
                    .unwrap();
                p.check_addrs(a.target.host(), black_box(&addrs)).unwrap();
                a
            })
        });
        group.bench_with_input(BenchmarkId::new("wildcard", n), &policy, |b, p| {
            b.iter(|| {
                let a = p
                    .check_url(
                        None,
                        black_box("https://storage.eu.googleapis.com/bucket/obj"),
                    )
                    .unwrap();
                p.check_addrs(a.target.host(), black_box(&addrs)).unwrap();
                a
            })
        });
        group.bench_with_input(BenchmarkId::new("refused", n), &policy, |b, p| {
            b.iter(|| {
                p.check_url(Some("app7"), black_box("https://evil.example.net/x"))
                    .unwrap_err()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
