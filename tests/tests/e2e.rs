//! The transport wired to the SQLite store the way a host wires them: the
//! store injects secrets, supplies the allowlist, and receives the log.

use std::sync::Arc;

use fazt_policy::{AllowEntry, Classifier, Limits, LogSink, Policy, RequestBudget};
use fazt_secrets::{LogConfig, LogQuery, RequestLog, Store};
use fazt_tests::{Reply, TestCa, Upstream};
use fazt_transport::Request;

const SENTINEL: &str = "sk_e2e_SENTINEL_0123456789";

#[test]
fn store_backed_client_sees_cli_edits_injects_and_logs() {
    let dir = std::env::temp_dir().join(format!("fazt-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("fazt.db");
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |seen| {
        Reply::ok(seen.header("authorization").unwrap_or("none").to_string())
    });
    let url = format!("https://api.test:{}/v1?q=secret-query", up.port());

    let host_store = Store::open(&db).unwrap();
    let log = RequestLog::start(&host_store, LogConfig::from_limits(&Limits::default())).unwrap();
    let policy = Policy::new(Default::default(), Classifier::new(), Limits::default()).unwrap();
    let client = fazt_tests::loopback_client(policy, &ca, &["api.test"])
        .secrets(Arc::new(host_store.clone()))
        .allowlist_source(Arc::new(host_store.clone()))
        .log_sink(Arc::new(log.clone()) as Arc<dyn LogSink>)
        .build()
        .unwrap();
    let fetch = |req: Request| {
        client.fetch(
            Some("shop"),
            req,
            &mut RequestBudget::new(&Limits::default()),
        )
    };

    assert_eq!(fetch(Request::get(&url)).unwrap_err().rule(), "allowlist");

    // The CLI, another connection, allows the host and stores a secret.
    let cli = Store::open(&db).unwrap();
    cli.allow(&AllowEntry::parse(&format!("api.test:{}", up.port())).unwrap())
        .unwrap();
    cli.set_secret(
        None,
        "API_KEY",
        SENTINEL,
        &fazt_policy::InjectAs::Bearer,
        Some("api.test"),
    )
    .unwrap();

    let r = fetch(Request::get(&url).auth("API_KEY")).unwrap();
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        format!("Bearer {SENTINEL}")
    );

    cli.remove_entry(None, &format!("api.test:{}", up.port()))
        .unwrap();
    assert_eq!(fetch(Request::get(&url)).unwrap_err().rule(), "allowlist");

    log.flush();
    let rows = host_store.recent_logs(&LogQuery::default()).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].status, Some(200));
    assert!(rows
        .iter()
        .all(|r| r.app.as_deref() == Some("shop") && r.path == "/v1"));
    let dump = format!("{rows:?}");
    assert!(
        !dump.contains("SENTINEL") && !dump.contains("secret-query"),
        "{dump}"
    );
    log.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Limits are configuration a running host re-reads like the allowlist: a
/// `fazt limits set` from another connection reaches the next call.
#[test]
fn a_running_client_uses_limits_set_after_it_started() {
    let dir = std::env::temp_dir().join(format!("fazt-e2e-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("fazt.db");
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, |seen| Reply::ok(format!("{} bytes", seen.body.len())));
    let url = format!("https://api.test:{}/upload", up.port());
    let host_store = Store::open(&db).unwrap();
    host_store
        .allow(&AllowEntry::parse(&format!("api.test:{}", up.port())).unwrap())
        .unwrap();
    let (limits, _) = host_store.limits().unwrap();
    let policy = Policy::new(host_store.allowlist().unwrap(), Classifier::new(), limits).unwrap();
    let client = fazt_tests::loopback_client(policy, &ca, &["api.test"])
        .allowlist_source(Arc::new(host_store.clone()))
        .build()
        .unwrap();
    let post = || {
        client.fetch(
            None,
            Request::get(&url).method("POST").body(vec![b'x'; 4096]),
            &mut RequestBudget::new(&Limits::default()),
        )
    };
    assert!(post().is_ok());
    Store::open(&db)
        .unwrap()
        .set_limit("max_request_body", 1024)
        .unwrap();
    let e = post().unwrap_err();
    assert_eq!(e.rule(), "max_request_body");
    assert_eq!(client.policy().limits().max_request_body, 1024);
    let _ = std::fs::remove_dir_all(&dir);
}
