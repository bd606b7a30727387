//! Proxy variables in the environment are ignored. A separate test binary,
//! because it changes the process environment.

use fazt_policy::{EntryOverrides, Limits, RequestBudget};
use fazt_tests::{allowlist, loopback_client, test_policy, Reply, TestCa, Upstream};
use fazt_transport::Request;

#[test]
fn proxy_variables_are_ignored() {
    let proxy = Upstream::plain(|_| Reply::ok("proxied"));
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        std::env::set_var(var, &proxy_url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let ca = TestCa::new();
    let tls = Upstream::tls(&ca, |_| Reply::ok("direct"));
    let plain = Upstream::plain(|_| Reply::ok("direct"));
    let http = EntryOverrides {
        allow_http: true,
        ..EntryOverrides::default()
    };
    let tls_entry = format!("api.test:{}", tls.port());
    let plain_entry = format!("other.test:{}", plain.port());
    let policy = test_policy(
        allowlist(&[
            (&tls_entry, EntryOverrides::default()),
            (&plain_entry, http),
        ]),
        Limits::default(),
    );
    let client = loopback_client(policy, &ca, &["api.test", "other.test"])
        .build()
        .unwrap();
    let mut budget = RequestBudget::new(&Limits::default());
    let r = client
        .fetch(
            None,
            Request::get(format!("https://api.test:{}/", tls.port())),
            &mut budget,
        )
        .unwrap();
    assert_eq!(r.body, b"direct");
    let r = client
        .fetch(
            None,
            Request::get(format!("http://other.test:{}/", plain.port())),
            &mut budget,
        )
        .unwrap();
    assert_eq!(r.body, b"direct");
    assert_eq!(
        proxy.accepted(),
        0,
        "no connection may go to the proxy from the environment"
    );
}
