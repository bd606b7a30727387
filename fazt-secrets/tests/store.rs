//! fazt-secrets against real SQLite files in a temporary directory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fazt_policy::{
    AllowEntry, AppId, CanonicalHost, Classifier, EntryOverrides, ErrorCode, InjectAs, Limits,
    LogEntry, LogSink, Policy, SecretInjector,
};
use fazt_secrets::{LogConfig, LogQuery, RequestLog, Store, StoreError};

const SENTINEL: &str = "sk_live_SENTINEL_9f8e7d6c5b4a";

/// A fresh directory under the target dir, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("fazt-secrets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("fazt.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn app(a: &str) -> AppId {
    AppId::parse(a).unwrap()
}

fn host(h: &str) -> CanonicalHost {
    CanonicalHost::parse(h).unwrap()
}

fn bearer() -> InjectAs {
    InjectAs::Bearer
}

#[test]
fn secrets_crud_and_scope() {
    let s = Store::in_memory().unwrap();
    s.set_secret(
        None,
        "STRIPE_KEY",
        "global-value",
        &bearer(),
        Some("api.stripe.com"),
    )
    .unwrap();
    s.set_secret(
        None,
        "STRIPE_KEY",
        SENTINEL,
        &bearer(),
        Some("API.Stripe.com."),
    )
    .unwrap();
    s.set_secret(
        Some(&app("shop")),
        "STRIPE_KEY",
        "shop-value",
        &InjectAs::parse("header", Some("X-Key")).unwrap(),
        Some("evil.test"),
    )
    .unwrap();
    let all = s.list_secrets(None).unwrap();
    assert_eq!(
        all.len(),
        2,
        "setting a global name twice updates one row: {all:?}"
    );
    assert_eq!(all[0].domain.as_deref(), Some("api.stripe.com"));

    let g = s
        .resolve(None, "STRIPE_KEY", &host("api.stripe.com"))
        .unwrap();
    assert_eq!(
        (g.inject_as, g.value.expose()),
        (InjectAs::Bearer, SENTINEL)
    );
    let a = s
        .resolve(Some("shop"), "STRIPE_KEY", &host("evil.test"))
        .unwrap();
    assert_eq!(
        (a.inject_as, a.value.expose()),
        (InjectAs::Header("x-key".into()), "shop-value")
    );
    let other_app = s
        .resolve(Some("blog"), "STRIPE_KEY", &host("api.stripe.com"))
        .unwrap();
    assert_eq!(
        other_app.value.expose(),
        SENTINEL,
        "apps without their own secret get the global one"
    );

    let e = s
        .resolve(None, "STRIPE_KEY", &host("evil.test"))
        .unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Auth, "secret-domain"));
    let e = s
        .resolve(None, "NOPE", &host("api.stripe.com"))
        .unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Auth, "secret"));

    assert!(s.remove_secret(Some(&app("shop")), "STRIPE_KEY").unwrap());
    assert!(!s.remove_secret(Some(&app("shop")), "STRIPE_KEY").unwrap());
    assert_eq!(
        s.resolve(Some("shop"), "STRIPE_KEY", &host("api.stripe.com"))
            .unwrap()
            .value
            .expose(),
        SENTINEL
    );
}

#[test]
fn wildcard_domain_binding() {
    let s = Store::in_memory().unwrap();
    s.set_secret(None, "G", "value-of-g", &bearer(), Some("*.googleapis.com"))
        .unwrap();
    assert!(s
        .resolve(None, "G", &host("storage.googleapis.com"))
        .is_ok());
    assert!(s.resolve(None, "G", &host("googleapis.com")).is_err());
    assert!(s
        .resolve(None, "G", &host("googleapis.com.evil.test"))
        .is_err());
}

#[test]
fn secret_validation_errors() {
    let s = Store::in_memory().unwrap();
    let err = |r: Result<(), StoreError>| r.unwrap_err().to_string();
    assert!(err(s.set_secret(None, "lower", "v", &bearer(), None)).contains("invalid secret name"));
    assert!(
        err(s.set_secret(None, &"A".repeat(65), "v", &bearer(), None))
            .contains("invalid secret name")
    );
    assert!(err(s.set_secret(None, "K", "v", &bearer(), Some("*"))).contains("every host"));
    assert!(err(s.set_secret(None, "K", "v", &bearer(), Some("*.com"))).contains("public suffix"));
    assert!(err(s.set_secret(None, "K", "v", &bearer(), Some("127.0.0.1"))).contains("IP address"));
    assert!(err(s.set_secret(None, "K", "", &bearer(), None)).contains("empty"));
    let e = err(s.set_secret(None, "K", &format!("{SENTINEL}\n"), &bearer(), None));
    assert!(e.contains("control") && !e.contains(SENTINEL), "{e}");
    assert!(
        s.list_secrets(None).unwrap().is_empty(),
        "nothing written on a refused set"
    );
}

#[test]
fn values_are_masked_and_never_shown() {
    let s = Store::in_memory().unwrap();
    s.set_secret(None, "LONG", SENTINEL, &bearer(), Some("a.test"))
        .unwrap();
    s.set_secret(None, "SHORT", "abc123", &bearer(), None)
        .unwrap();
    let list = s.list_secrets(None).unwrap();
    let masked: Vec<(&str, &str)> = list
        .iter()
        .map(|i| (i.name.as_str(), i.masked.as_str()))
        .collect();
    assert_eq!(masked, [("LONG", "********5b4a"), ("SHORT", "********")]);
    let injection = s.resolve(None, "LONG", &host("a.test")).unwrap();
    for shown in [
        format!("{list:?}"),
        format!("{s:?}"),
        format!("{injection:?}"),
        format!("{:?}", injection.value),
    ] {
        assert!(
            !shown.contains(SENTINEL) && !shown.contains("SENTINEL"),
            "{shown}"
        );
    }
    assert_eq!(fazt_secrets::mask("123456789012345"), "********");
    assert_eq!(fazt_secrets::mask("1234567890123456"), "********3456");
}

#[cfg(unix)]
#[test]
fn database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    let s = Store::open(dir.db()).unwrap();
    s.set_secret(None, "K", SENTINEL, &bearer(), None).unwrap();
    let mode = |p: &PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.db()), 0o600);
    // The WAL holds the same data (the secret, until a checkpoint).
    let wal = dir.0.join("fazt.db-wal");
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(s.tightened_from(), None);
    drop(s);
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Store::open(dir.db()).unwrap();
    assert_eq!(s.tightened_from(), Some(0o644), "the caller is told");
    assert_eq!(mode(&dir.db()), 0o600);
    assert_eq!(s.schema_version().unwrap(), 2);
}

#[test]
fn rules_crud_and_allowlist() {
    let s = Store::in_memory().unwrap();
    let rules = EntryOverrides {
        allow_http: true,
        rate_limit: 30,
        rate_burst: 5,
        max_response: 4096,
        timeout_ms: 2000,
        cache_ttl_s: 60,
    };
    s.allow(
        &AllowEntry::parse("API.Example.com.")
            .unwrap()
            .with_overrides(rules)
            .unwrap(),
    )
    .unwrap();
    s.allow(&AllowEntry::parse("*.googleapis.com").unwrap())
        .unwrap();
    s.allow(
        &AllowEntry::parse("shop.example:8443")
            .unwrap()
            .for_app(app("shop")),
    )
    .unwrap();
    // Upsert: same scope, pattern and port replaces the overrides.
    s.allow(
        &AllowEntry::parse("*.googleapis.com")
            .unwrap()
            .with_overrides(EntryOverrides {
                cache_ttl_s: 5,
                ..EntryOverrides::default()
            })
            .unwrap(),
    )
    .unwrap();
    let listed: Vec<String> = s
        .entries()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {:?}", e.scope(), e, e.overrides()))
        .collect();
    insta::assert_snapshot!(listed.join("\n"), @r#"
    global *.googleapis.com EntryOverrides { allow_http: false, rate_limit: 0, rate_burst: 0, max_response: 0, timeout_ms: 0, cache_ttl_s: 5 }
    global api.example.com EntryOverrides { allow_http: true, rate_limit: 30, rate_burst: 5, max_response: 4096, timeout_ms: 2000, cache_ttl_s: 60 }
    app "shop" shop.example:8443 EntryOverrides { allow_http: false, rate_limit: 0, rate_burst: 0, max_response: 0, timeout_ms: 0, cache_ttl_s: 0 }
    "#);
    let policy = Policy::new(s.allowlist().unwrap(), Classifier::new(), Limits::default()).unwrap();
    assert!(policy.check_url(None, "http://api.example.com/").is_ok());
    assert!(policy
        .check_url(Some("shop"), "https://shop.example:8443/")
        .is_ok());
    assert!(policy
        .check_url(None, "https://shop.example:8443/")
        .is_err());
    assert!(s
        .remove_entry(Some(&app("shop")), "shop.example:8443")
        .unwrap());
    assert!(!s.remove_entry(None, "shop.example:8443").unwrap());
    assert!(matches!(
        s.remove_entry(None, "*"),
        Err(StoreError::Entry(_))
    ));
    assert_eq!(s.entries().unwrap().len(), 2);
}

#[test]
fn another_connection_sees_rule_changes_before_its_next_call() {
    let dir = TempDir::new("watch");
    let host_side = Store::open(dir.db()).unwrap();
    let cli_side = Store::open(dir.db()).unwrap();
    let first = host_side
        .allowlist_if_changed()
        .unwrap()
        .expect("the first poll loads");
    assert!(first.is_empty());
    assert!(
        host_side.allowlist_if_changed().unwrap().is_none(),
        "nothing changed"
    );
    cli_side
        .allow(&AllowEntry::parse("api.example.com").unwrap())
        .unwrap();
    let changed = host_side
        .allowlist_if_changed()
        .unwrap()
        .expect("the edit is seen");
    assert_eq!(changed.len(), 1);
    assert!(host_side.allowlist_if_changed().unwrap().is_none());
    // Secret or log writes do not force a reload.
    cli_side
        .set_secret(None, "K", "v", &bearer(), None)
        .unwrap();
    assert!(host_side.allowlist_if_changed().unwrap().is_none());
    cli_side.remove_entry(None, "api.example.com").unwrap();
    assert!(host_side
        .allowlist_if_changed()
        .unwrap()
        .unwrap()
        .is_empty());
}

fn entry(i: u64, error: Option<ErrorCode>) -> LogEntry {
    LogEntry {
        app: Some(if i % 2 == 0 { "shop" } else { "blog" }.into()),
        host: format!("h{}.test", i % 3),
        method: "GET".into(),
        path: format!("/p/{i}"),
        status: error.is_none().then_some(200),
        error,
        duration_ms: i,
        bytes_in: 10,
        bytes_out: 1,
        cache_hit: false,
        at_unix_ms: 1_700_000_000_000 + i,
    }
}

fn config(buffer: usize, flush_ms: u64, retention: u64) -> LogConfig {
    LogConfig {
        buffer,
        flush_every: Duration::from_millis(flush_ms),
        retention,
        max_bytes: Limits::default().log_max_bytes,
    }
}

#[test]
fn log_writer_batches_and_flushes_on_shutdown() {
    let dir = TempDir::new("log");
    let store = Store::open(dir.db()).unwrap();
    let log = RequestLog::start(&store, config(10_000, 10_000, 100_000)).unwrap();
    for i in 0..5000 {
        log.record(entry(i, None));
    }
    log.shutdown();
    assert_eq!((log.written(), log.dropped()), (5000, 0));
    let rows = store
        .recent_logs(&LogQuery {
            limit: 10_000,
            since_ms: None,
            after_id: None,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 5000);
    assert_eq!(rows[0].path, "/p/4999", "newest first");
    log.record(entry(1, None));
    assert_eq!(
        log.dropped(),
        1,
        "records after shutdown are counted as dropped"
    );
}

#[test]
fn errors_are_written_promptly() {
    let store = Store::in_memory().unwrap();
    let log = RequestLog::start(&store, config(1000, 10_000, 100_000)).unwrap();
    log.record(entry(1, None));
    log.record(entry(2, Some(ErrorCode::Blocked)));
    let started = Instant::now();
    let errors = LogQuery {
        errors_only: true,
        ..LogQuery::default()
    };
    while store.recent_logs(&errors).unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "error entry not written within 3 s (flush interval is 10 s)"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        store.recent_logs(&errors).unwrap()[0].error.as_deref(),
        Some("NET_BLOCKED")
    );
}

#[test]
fn full_buffer_drops_oldest_and_counts() {
    let dir = TempDir::new("drops");
    let store = Store::open(dir.db()).unwrap();
    let log = RequestLog::start(&store, config(100, 10_000, 100_000)).unwrap();
    // Another process holds the write lock: the writer cannot drain.
    let blocker = rusqlite::Connection::open(dir.db()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    for i in 0..1000 {
        log.record(entry(i, None));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "record() must not block: {:?}",
        started.elapsed()
    );
    blocker.execute_batch("COMMIT").unwrap();
    log.flush();
    assert_eq!(log.written() + log.dropped(), 1000);
    assert!(log.dropped() >= 800, "dropped {}", log.dropped());
    let rows = store
        .recent_logs(&LogQuery {
            limit: 1000,
            since_ms: None,
            after_id: None,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len() as u64, log.written());
    assert_eq!(rows[0].path, "/p/999", "the newest entries survive");
}

#[test]
fn retention_trims_oldest_rows() {
    let store = Store::in_memory().unwrap();
    let log = RequestLog::start(&store, config(1000, 10_000, 50)).unwrap();
    for i in 0..120 {
        log.record(entry(i, None));
    }
    log.flush();
    let rows = store
        .recent_logs(&LogQuery {
            limit: 1000,
            since_ms: None,
            after_id: None,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(
        (rows[0].path.as_str(), rows[49].path.as_str()),
        ("/p/119", "/p/70")
    );
}

#[test]
fn log_queries_and_stats() {
    let store = Store::in_memory().unwrap();
    let log = RequestLog::start(&store, config(1000, 10_000, 1000)).unwrap();
    for i in 1..=100 {
        log.record(entry(i, (i % 10 == 0).then_some(ErrorCode::Timeout)));
    }
    log.flush();
    let q = |app: Option<&str>, host: Option<&str>, errors_only| {
        store
            .recent_logs(&LogQuery {
                app: app.map(Into::into),
                host: host.map(Into::into),
                errors_only,
                limit: 1000,
                since_ms: None,
                after_id: None,
            })
            .unwrap()
    };
    assert_eq!(q(Some("shop"), None, false).len(), 50);
    assert_eq!(q(None, Some("h0.test"), false).len(), 33);
    assert_eq!(q(None, None, true).len(), 10);
    assert!(q(Some("shop"), Some("h1.test"), true)
        .iter()
        .all(|r| r.app.as_deref() == Some("shop") && r.host == "h1.test" && r.error.is_some()));
    let stats = store.host_stats().unwrap();
    let h1 = stats.iter().find(|s| s.host == "h1.test").unwrap();
    // h1.test: durations 1, 4, 7, ..., 100 (34 calls); errors at 10, 40, 70, 100.
    assert_eq!(
        (h1.calls, h1.errors, h1.p50_ms, h1.p95_ms, h1.bytes_in),
        (34, 4, 49, 97, 340)
    );
    assert!((h1.error_rate - 4.0 / 34.0).abs() < 1e-9);
    assert_eq!(stats[0].host, "h1.test", "busiest first");
}

/// A secret stored without a domain (by an older version, or through the
/// library) is injected nowhere, with the fix in the message.
#[test]
fn a_secret_without_a_domain_is_refused_at_use() {
    let s = Store::in_memory().unwrap();
    s.set_secret(None, "FREE", SENTINEL, &bearer(), None)
        .unwrap();
    let e = s.resolve(None, "FREE", &host("api.test")).unwrap_err();
    assert_eq!((e.code(), e.rule()), (ErrorCode::Auth, "secret-domain"));
    assert!(e.to_string().contains("--domain"), "{e}");
    assert!(!e.to_string().contains(SENTINEL));
}

/// Every file of the database (main, WAL, shared memory), as bytes.
fn raw_files(dir: &TempDir) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A removed or replaced secret's value is gone from the files, the WAL
/// included, while the store is still open.
#[test]
fn deleted_and_replaced_values_are_erased_from_the_files() {
    let dir = TempDir::new("erase");
    let s = Store::open(dir.db()).unwrap();
    s.set_secret(None, "GONE", SENTINEL, &bearer(), Some("api.test"))
        .unwrap();
    s.set_secret(
        None,
        "ROTATED",
        "sk_old_ROTATED_1234567890",
        &bearer(),
        Some("api.test"),
    )
    .unwrap();
    assert!(
        contains(&raw_files(&dir), SENTINEL),
        "the value was written"
    );
    assert!(s.remove_secret(None, "GONE").unwrap());
    s.set_secret(
        None,
        "ROTATED",
        "sk_new_ROTATED_0987654321",
        &bearer(),
        Some("api.test"),
    )
    .unwrap();
    let files = raw_files(&dir);
    assert!(
        !contains(&files, SENTINEL),
        "a removed value is still in the files"
    );
    assert!(
        !contains(&files, "sk_old_ROTATED_1234567890"),
        "a replaced value is still in the files"
    );
    assert!(contains(&files, "sk_new_ROTATED_0987654321"));
}

/// A stored row today's parser refuses (left by an older version or a hand
/// edit) is skipped and reported: the rest of the allowlist loads, and a
/// running host's reload still applies a removal.
#[test]
fn a_bad_stored_row_is_skipped_and_reported() {
    let dir = TempDir::new("badrow");
    let s = Store::open(dir.db()).unwrap();
    s.allow(&AllowEntry::parse("api.good.test").unwrap())
        .unwrap();
    s.allow(&AllowEntry::parse("revoked.test").unwrap())
        .unwrap();
    assert!(s.allowlist_if_changed().unwrap().is_some());
    {
        let raw = rusqlite::Connection::open(dir.db()).unwrap();
        raw.execute(
            "INSERT INTO allow_rules (app, pattern, port, allow_http, rate_limit, rate_burst,
                 max_response, timeout_ms, cache_ttl_s, created_ms)
             VALUES ('', '*.com', 0, 0, 0, 0, 0, 0, 0, 0)",
            [],
        )
        .unwrap();
        raw.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'allowlist_version'",
            [],
        )
        .unwrap();
    }
    let (entries, skipped) = s.entries_and_skipped().unwrap();
    let names: Vec<String> = entries.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["api.good.test", "revoked.test"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].entry, "*.com");
    assert!(
        skipped[0].reason.contains("public suffix"),
        "{}",
        skipped[0].reason
    );
    // A running host's reload applies a removal despite the bad row.
    assert!(s.remove_entry(None, "revoked.test").unwrap());
    let list = s.allowlist_if_changed().unwrap().expect("a change");
    let policy = Policy::new(list, Classifier::new(), Limits::default()).unwrap();
    assert!(policy.check_url(None, "https://revoked.test/").is_err());
    assert!(policy.check_url(None, "https://api.good.test/").is_ok());
    // The bad row itself can be removed by its text.
    assert!(s.remove_entry(None, "*.com").unwrap());
    assert!(s.entries_and_skipped().unwrap().1.is_empty());
}

#[test]
fn limits_are_stored_reset_and_checked() {
    let s = Store::in_memory().unwrap();
    assert_eq!(s.limits().unwrap(), (Limits::default(), Vec::new()));
    s.set_limit("max_calls", 9).unwrap();
    s.set_limit("cache_ttl_default", 1).unwrap_err();
    let e = s.set_limit("max_calls", 99).unwrap_err();
    assert!(e.to_string().contains("max_calls"), "{e}");
    let (limits, skipped) = s.limits().unwrap();
    assert_eq!((limits.max_calls, skipped.len()), (9, 0));
    assert_eq!(s.reset_limits(Some("max_calls")).unwrap(), 1);
    assert_eq!(s.limits().unwrap().0, Limits::default());
    s.set_limit("max_calls", 7).unwrap();
    s.set_limit("max_redirects", 1).unwrap();
    assert_eq!(s.reset_limits(None).unwrap(), 2);
    assert_eq!(s.limits().unwrap().0, Limits::default());
}

/// A stored limit a newer or older version wrote that this one refuses is
/// skipped and reported; the default applies.
#[test]
fn a_bad_stored_limit_is_skipped_and_reported() {
    let dir = TempDir::new("badlimit");
    let s = Store::open(dir.db()).unwrap();
    s.set_limit("max_calls", 3).unwrap();
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    raw.execute(
        "INSERT INTO limits (name, value) VALUES ('max_redirects', 500), ('gone_limit', 1)",
        [],
    )
    .unwrap();
    let (limits, skipped) = s.limits().unwrap();
    assert_eq!(
        (limits.max_calls, limits.max_redirects),
        (3, Limits::default().max_redirects)
    );
    let names: Vec<&str> = skipped.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["gone_limit", "max_redirects"]);
}

/// Retention is bounded in bytes as well as rows: long rows (a script's
/// long paths) cannot grow the database past log_max_bytes.
#[test]
fn retention_trims_oldest_rows_by_bytes() {
    let store = Store::in_memory().unwrap();
    let mut cfg = config(1000, 10_000, 100_000);
    cfg.max_bytes = 1024 * 1024;
    let log = RequestLog::start(&store, cfg).unwrap();
    for i in 0..800 {
        let mut e = entry(i, None);
        e.path = format!("/p/{i}/{}", "x".repeat(2000));
        log.record(e);
    }
    log.flush();
    let rows = store
        .recent_logs(&LogQuery {
            limit: 100_000,
            since_ms: None,
            after_id: None,
            ..LogQuery::default()
        })
        .unwrap();
    let bytes: usize = rows
        .iter()
        .map(|r| {
            r.app.as_deref().unwrap_or("").len() + r.host.len() + r.method.len() + r.path.len() + 64
        })
        .sum();
    assert!(bytes <= 1024 * 1024, "{bytes} bytes kept");
    assert!(
        rows.len() > 400 && rows.len() < 800,
        "{} rows kept",
        rows.len()
    );
    assert!(rows[0].path.starts_with("/p/799/"), "the newest are kept");
}
