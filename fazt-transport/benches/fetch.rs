//! A 1 KiB GET over keep-alive TLS: through `EgressClient` (policy, checking
//! resolver, slots, caps, logging) and through a plain ureq `Agent`, against
//! the same local server in one run.
//!
//! Run with `cargo xtask bench -p fazt-transport`. Results are recorded in
//! the crate README.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use fazt_policy::{EntryOverrides, Limits, NullSink, RequestBudget};
use fazt_tests::{allowlist, loopback_client, test_policy, Reply, SameWindows, TestCa, Upstream};
use fazt_transport::Request;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Plain ureq needs the test name mapped too; this does only that.
#[derive(Debug)]
struct Fixed(SocketAddr);

impl Resolver for Fixed {
    fn resolve(
        &self,
        _: &Uri,
        _: &Config,
        _: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut v = self.empty();
        v.push(self.0);
        Ok(v)
    }
}

fn fetch_1k(c: &mut Criterion) {
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |_| {
        Reply::ok(vec![b'x'; 1024]).header("content-type", "text/plain")
    });
    let url = format!("https://api.test:{}/item", up.port());

    let entry = format!("api.test:{}", up.port());
    let policy = test_policy(
        allowlist(&[(&entry, EntryOverrides::default())]),
        Limits::default(),
    );
    let egress = loopback_client(policy, &ca, &["api.test"])
        .log_sink(Arc::new(NullSink))
        .build()
        .unwrap();

    let ca_cert = Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap();
    let config = ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[ca_cert]))
                .build(),
        )
        .build();
    let plain = ureq::Agent::with_parts(config, DefaultConnector::default(), Fixed(up.addr));

    let limits = Limits::default();
    let egress_call = || {
        let mut budget = RequestBudget::new(&limits);
        let r = egress
            .fetch(None, Request::get(black_box(url.as_str())), &mut budget)
            .unwrap();
        assert_eq!(r.body.len(), 1024);
    };
    let plain_call = || {
        let mut r = plain.get(black_box(url.as_str())).call().unwrap();
        let body = r.body_mut().read_to_vec().unwrap();
        assert_eq!(body.len(), 1024);
    };
    // Both clients in the same time windows (see SameWindows): each
    // benchmark reports its own side, and the ratio of the totals follows.
    let mut group = c.benchmark_group("get_1k_keepalive");
    let mut windows = SameWindows::default();
    group.bench_function("egress_client", |b| {
        b.iter_custom(|i| windows.run(i, 1, plain_call, egress_call))
    });
    group.bench_function("plain_ureq", |b| {
        b.iter_custom(|i| windows.run(i, 0, plain_call, egress_call))
    });
    if let Some(ratio) = windows.ratio() {
        println!("get_1k_keepalive: egress_client / plain_ureq over the same windows: {ratio:.2}");
    }
    group.bench_function("plain_ureq_with_deadline", |b| {
        b.iter(|| {
            let mut r = plain
                .get(black_box(url.as_str()))
                .config()
                .timeout_global(Some(std::time::Duration::from_secs(4)))
                .build()
                .call()
                .unwrap();
            let body = r.body_mut().read_to_vec().unwrap();
            assert_eq!(body.len(), 1024);
        })
    });
    group.finish();
    assert!(
        up.accepted() <= 2,
        "both clients keep their connection alive"
    );
    if std::env::var_os("FAZT_BENCH_SHOW").is_some() {
        for s in up
            .seen()
            .iter()
            .rev()
            .take(1)
            .chain(up.seen().iter().take(1))
        {
            eprintln!("{s:?}");
        }
    }
}

/// The system resolver's answer for `localhost` (from the hosts file, no
/// network) with a call's deadline: the lookup runs on a helper thread.
fn system_lookup(c: &mut Criterion) {
    use fazt_transport::{NameLookup, SystemLookup};
    let timeout = Some(std::time::Duration::from_secs(4));
    c.bench_function("system_lookup/localhost_with_deadline", |b| {
        b.iter(|| {
            let addrs = SystemLookup
                .resolve(black_box("localhost"), timeout)
                .unwrap();
            assert!(!addrs.is_empty());
        })
    });
}

criterion_group!(benches, fetch_1k, system_lookup);
criterion_main!(benches);
