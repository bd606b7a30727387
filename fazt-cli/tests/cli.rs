//! The `fazt` binary, run as a user would: a cleared environment, a
//! temporary database, and (for requests) a local TLS upstream reached
//! through the development overrides. Snapshots hold stdout, stderr and
//! the exit status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fazt_tests::{Reply, TestCa, Upstream};

const SECRET: &str = "sk_cli_SENTINEL_f00dbabe12345678";

struct Sandbox {
    dir: PathBuf,
    /// Replacements applied to output before snapshotting.
    redact: Vec<(String, String)>,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("fazt-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let redact = vec![(dir.display().to_string(), "[TMP]".to_string())];
        Sandbox { dir, redact }
    }

    fn db(&self) -> PathBuf {
        self.dir.join("fazt.db")
    }

    /// Runs `fazt --db DB ARGS` with `stdin`; returns the snapshot text.
    fn run(&self, args: &[&str], stdin: &str) -> String {
        let (out, err, code) = self.raw(args, stdin);
        let mut text = format!("status: {code}\n--- stdout\n{out}--- stderr\n{err}");
        for (from, to) in &self.redact {
            text = text.replace(from, to);
        }
        text
    }

    fn raw(&self, args: &[&str], stdin: &str) -> (String, String, i32) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
            .env_clear()
            .arg("--db")
            .arg(self.db())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A local TLS upstream and the development flags that reach it.
struct Remote {
    up: Upstream,
    flags: Vec<String>,
}

fn remote(sb: &mut Sandbox) -> Remote {
    let ca = TestCa::new();
    let ca_file = sb.dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let up = Upstream::tls(&ca, |seen| match seen.target.as_str() {
        "/json" => Reply::ok(r#"{"ok":true}"#).header("content-type", "application/json"),
        "/secret-check" => {
            let ok = seen.header("authorization") == Some(&format!("Bearer {SECRET}"));
            Reply::ok(format!("authorized={ok}"))
        }
        _ => Reply::ok("hello from upstream").header("x-test", "1"),
    });
    sb.redact
        .push((up.port().to_string(), "[PORT]".to_string()));
    let flags = vec![
        "--resolve".into(),
        "api.test=127.0.0.1".into(),
        "--allow-range".into(),
        "127.0.0.1/32".into(),
        "--ca-file".into(),
        ca_file.display().to_string(),
    ];
    Remote { up, flags }
}

impl Remote {
    fn url(&self, path: &str) -> String {
        format!("https://api.test:{}{path}", self.up.port())
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        v.extend_from_slice(args);
        v
    }
}

#[test]
fn help_and_limits() {
    let sb = Sandbox::new("help");
    insta::assert_snapshot!("help", sb.run(&["--help"], ""));
    insta::assert_snapshot!("net_allow_help", sb.run(&["net", "allow", "--help"], ""));
    insta::assert_snapshot!("limits", sb.run(&["limits"], ""));
    let json: serde_json::Value =
        serde_json::from_str(&sb.raw(&["limits", "--json"], "").0).unwrap();
    assert_eq!(json["max_calls"], 5);
    let schema: serde_json::Value =
        serde_json::from_str(&sb.raw(&["limits", "--schema"], "").0).unwrap();
    assert_eq!(schema.as_array().unwrap().len(), 21);
    assert!(!sb.db().exists(), "nothing here needs the database");
}

#[test]
fn allow_list_remove() {
    let sb = Sandbox::new("allow");
    let steps = [
        sb.run(&["net", "allow", "API.Stripe.com."], ""),
        sb.run(
            &["net", "allow", "*.googleapis.com", "--cache-ttl", "60"],
            "",
        ),
        sb.run(
            &[
                "net",
                "allow",
                "shop.example:8443",
                "--app",
                "shop",
                "--http",
                "--rate",
                "30",
                "--burst",
                "5",
                "--timeout",
                "2000",
            ],
            "",
        ),
        sb.run(&["net", "list"], ""),
        sb.run(&["net", "list", "--json"], ""),
        sb.run(&["net", "remove", "shop.example:8443", "--app", "shop"], ""),
        sb.run(&["net", "remove", "nothere.example"], ""),
        sb.run(&["net", "list"], ""),
    ];
    insta::assert_snapshot!(steps.join("\n"));
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let sb = Sandbox::new("usage");
    let bad_pem = sb.dir.join("bad.pem");
    std::fs::write(&bad_pem, "not a certificate").unwrap();
    let bad_pem = bad_pem.display().to_string();
    let cases: Vec<String> = [
        vec!["--ca-file", &bad_pem, "fetch", "https://api.example.com/"],
        vec!["net", "allow", "*"],
        vec!["net", "allow", "*.com"],
        vec!["net", "allow", "127.0.0.1"],
        vec!["net", "allow", "api.example.com:0"],
        vec![
            "net",
            "allow",
            "api.example.com",
            "--max-response",
            "99999999",
        ],
        vec!["net", "allow", "api.example.com", "--app", "bad app"],
        vec!["net", "allow", "api.example.com", "--bogus"],
        vec![
            "--resolve",
            "nope",
            "net",
            "check",
            "https://api.example.com/",
        ],
        vec![
            "--resolve",
            "api.test=300.1.1.1",
            "net",
            "check",
            "https://api.example.com/",
        ],
        vec![
            "--allow-range",
            "10.0.0.0/99",
            "net",
            "check",
            "https://api.example.com/",
        ],
        vec!["secret", "set", "lower_case", "--domain", "api.example.com"],
        vec![
            "secret",
            "set",
            "KEY",
            "--as",
            "header",
            "--domain",
            "api.example.com",
        ],
        vec!["secret", "set", "KEY", "--domain", "*"],
        vec!["secret", "set", "KEY"],
        vec!["fetch", "https://api.example.com/", "-H", "no-colon"],
    ]
    .iter()
    .map(|args| {
        let shown = args
            .join(" ")
            .replace(&sb.dir.display().to_string(), "[TMP]");
        format!("$ fazt {shown}\n{}", sb.run(args, ""))
    })
    .collect();
    insta::assert_snapshot!(cases.join("\n"));
    assert!(
        !sb.db().exists(),
        "a usage error must not create or write the database"
    );
}

#[test]
fn check_explains_decisions() {
    let sb = Sandbox::new("check");
    sb.run(&["net", "allow", "api.example.com"], "");
    sb.run(&["net", "allow", "*.partner.example", "--app", "shop"], "");
    let resolve = [
        "--resolve",
        "api.example.com=93.184.215.14",
        "--resolve",
        "a.partner.example=10.0.0.8",
    ];
    let check = |extra: &[&str]| {
        let mut args: Vec<&str> = resolve.to_vec();
        args.push("net");
        args.push("check");
        args.extend_from_slice(extra);
        sb.run(&args, "")
    };
    let out = [
        check(&["https://api.example.com/v1?key=x"]),
        check(&["https://evil.example/", "--app", "shop"]),
        check(&["https://a.partner.example/", "--app", "shop"]),
        check(&["http://api.example.com/"]),
        check(&["https://0x7f.1/"]),
        check(&["https://api.example.com:8443/"]),
        check(&["https://api.example.com/", "--json"]),
        check(&["https://evil.example/", "--json"]),
    ];
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn secrets_are_set_from_stdin_and_never_printed() {
    let sb = Sandbox::new("secrets");
    let out = [
        sb.run(
            &["secret", "set", "STRIPE_KEY", "--domain", "api.stripe.com"],
            &format!("{SECRET}\n"),
        ),
        sb.run(
            &[
                "secret",
                "set",
                "SHORT",
                "--as",
                "header",
                "--key",
                "X-Api-Key",
                "--app",
                "shop",
                "--domain",
                "*.shop.example",
            ],
            "abc",
        ),
        sb.run(
            &[
                "secret",
                "set",
                "Q",
                "--as",
                "query",
                "--key",
                "api_key",
                "--domain",
                "api.query.example",
            ],
            "value-for-query-key",
        ),
        sb.run(&["secret", "list"], ""),
        sb.run(&["secret", "list", "--json"], ""),
        sb.run(&["secret", "remove", "SHORT", "--app", "shop"], ""),
        sb.run(&["secret", "list", "--app", "shop"], ""),
    ];
    let text = out.join("\n");
    assert!(
        !text.contains(SECRET) && !text.contains("SENTINEL"),
        "{text}"
    );
    let text = regex_like_timestamps(&text);
    insta::assert_snapshot!(text);
    let db = std::fs::read(sb.db()).unwrap_or_default();
    assert!(!db.is_empty());
}

/// Replaces 13-digit millisecond timestamps.
fn regex_like_timestamps(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() == 13 {
            out.push_str("[MS]");
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.push(c);
    }
    out.push_str(&digits);
    out
}

#[test]
fn fetch_through_the_policy() {
    let mut sb = Sandbox::new("fetch");
    let r = remote(&mut sb);
    sb.run(&["net", "allow", &format!("api.test:{}", r.up.port())], "");
    sb.run(
        &["secret", "set", "API_KEY", "--domain", "api.test"],
        SECRET,
    );
    let url = r.url("/secret-check");
    let json_url = r.url("/json");
    let out = [
        sb.run(&r.args(&["fetch", &url, "--auth", "API_KEY"]), ""),
        sb.run(&r.args(&["fetch", &json_url, "-i"]), ""),
        sb.run(
            &r.args(&[
                "fetch",
                &r.url("/echo"),
                "-X",
                "POST",
                "-d",
                "payload",
                "-H",
                "X-A: 1",
            ]),
            "",
        ),
        sb.run(&r.args(&["fetch", "https://evil.test/"]), ""),
        sb.run(&r.args(&["fetch", "https://127.0.0.1/"]), ""),
        sb.run(&r.args(&["fetch", &url, "--auth", "MISSING"]), ""),
    ];
    let text = out.join("\n");
    assert!(!text.contains(SECRET), "{text}");
    insta::assert_snapshot!(text);
    let seen = r.up.seen();
    assert!(seen
        .iter()
        .any(|s| s.method == "POST" && s.body == b"payload" && s.header("x-a") == Some("1")));
    // Every call was logged; show the log and stats.
    let logs = sb.run(&["net", "logs", "--json"], "");
    let rows: serde_json::Value = serde_json::from_str(
        logs.split("--- stdout\n")
            .nth(1)
            .unwrap()
            .split("--- stderr")
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6);
    let errors = sb.raw(&["net", "logs", "--errors", "--json"], "").0;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&errors)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let stats = sb.raw(&["net", "stats", "--json"], "").0;
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let api = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == "api.test")
        .unwrap();
    assert_eq!(
        (api["calls"].as_u64(), api["errors"].as_u64()),
        (Some(4), Some(1))
    );
    assert!(sb.raw(&["net", "stats"], "").0.starts_with("host"));
    assert!(sb.raw(&["net", "logs"], "").0.contains("api.test/json"));
}

#[test]
fn run_scripts() {
    let mut sb = Sandbox::new("run");
    let r = remote(&mut sb);
    sb.run(&["net", "allow", &format!("api.test:{}", r.up.port())], "");
    let script = |name: &str, body: &str| {
        let p = sb.dir.join(name);
        std::fs::write(&p, body.replace("URL", &r.url("/json"))).unwrap();
        p.display().to_string()
    };
    let ok = script(
        "ok.js",
        r#"console.log("fetching"); const r = fazt.net.fetch("URL"); ({ status: r.status, body: r.json() })"#,
    );
    let blocked = script(
        "blocked.js",
        r#"fazt.net.fetch("https://169.254.169.254/latest/meta-data/")"#,
    );
    let caught = script(
        "caught.js",
        r#"try { fazt.net.fetch("https://evil.test/") } catch (e) { e.code }"#,
    );
    let broken = script("broken.js", "this is not javascript");
    let out = [
        sb.run(&r.args(&["run", &ok, "--app", "shop"]), ""),
        sb.run(&r.args(&["run", &blocked]), ""),
        sb.run(&r.args(&["run", &caught]), ""),
        sb.run(&r.args(&["run", &broken]), ""),
        sb.run(&r.args(&["run", "missing.js"]), ""),
    ];
    insta::assert_snapshot!(out.join("\n"));
    let logs = sb.raw(&["net", "logs", "--app", "shop", "--json"], "").0;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&logs)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn demo_runs_offline_and_names_each_refusal() {
    let sb = Sandbox::new("demo");
    let (out, err, code) = sb.raw(&["demo"], "");
    assert_eq!(code, 0, "{err}");
    for needle in [
        "allowed  allowed call, secret injected",
        "-> 200 {\"authorized\":true}",
        "NET_BLOCKED: IP address 127.0.0.1",
        "NET_BLOCKED: IP address 169.254.169.254",
        "NET_BLOCKED: host localhost is not on the allowlist",
        "NET_BLOCKED: host private.demo.test resolves to 10.0.0.5",
        "NET_LIMIT: call limit reached",
        "NET_SIZE: response from host api.demo.test",
        "6 attempts refused; the upstream received the secret on 1 request(s); the scripts never saw it.",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    assert!(
        !Path::new(&sb.db()).exists(),
        "the demo uses its own temporary database"
    );
}

/// A row this version refuses (an older version allowed `*.com`) is shown,
/// flagged and removable; it stops nothing else.
#[test]
fn a_bad_stored_row_is_flagged_and_removable() {
    let sb = Sandbox::new("badrow");
    sb.run(&["net", "allow", "api.good.test"], "");
    rusqlite::Connection::open(sb.db())
        .unwrap()
        .execute(
            "INSERT INTO allow_rules (app, pattern, port, allow_http, rate_limit, rate_burst,
                 max_response, timeout_ms, cache_ttl_s, created_ms)
             VALUES ('', '*.com', 0, 0, 0, 0, 0, 0, 0, 0)",
            [],
        )
        .unwrap();
    let out = [
        sb.run(&["net", "list"], ""),
        sb.run(&["net", "list", "--json"], ""),
        sb.run(&["net", "remove", "*.com"], ""),
        sb.run(&["net", "list"], ""),
    ];
    insta::assert_snapshot!(out.join("\n"));
}

/// Limits are configuration: `limits set` is checked, shown, and used by
/// the next command (here a run that makes two calls under max_calls 1).
#[test]
fn limits_are_set_shown_used_and_reset() {
    let mut sb = Sandbox::new("limits");
    let r = remote(&mut sb);
    let url = r.url("/json");
    sb.run(&["net", "allow", &format!("api.test:{}", r.up.port())], "");
    let script = sb.dir.join("two.js");
    std::fs::write(
        &script,
        format!(
            "fazt.net.fetch({url:?}); try {{ fazt.net.fetch({url:?}); 'second' }} catch (e) {{ e.code }}"
        ),
    )
    .unwrap();
    let script = script.display().to_string();
    let out = [
        sb.run(&["limits", "set", "max_calls", "99"], ""),
        sb.run(&["limits", "set", "no_such_limit", "1"], ""),
        sb.run(&["limits", "set", "max_calls", "1"], ""),
        sb.run(&r.args(&["run", &script]), ""),
        sb.run(&["limits", "--json"], ""),
        sb.run(&["limits", "reset", "max_calls"], ""),
        sb.run(&r.args(&["run", &script]), ""),
        sb.run(&["limits", "reset"], ""),
    ];
    let text = out.join("\n").replace(&script, "[SCRIPT]");
    insta::assert_snapshot!(text);
    let shown = sb.run(&["limits"], "");
    assert!(!shown.contains('*'), "all back to defaults: {shown}");
}

/// Every readable byte of process `pid`'s memory, region by region
/// (regions that cannot be read are skipped).
#[cfg(target_os = "linux")]
fn process_memory(pid: &str) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let Ok(mut mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
        return Vec::new();
    };
    let mut all = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        let mut region = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
            all.extend_from_slice(&region);
        }
    }
    all
}

/// The worker that runs a script never holds a secret value, even while
/// the parent has one in memory for the script's call: searched for in
/// every readable page of both processes.
#[cfg(target_os = "linux")]
#[test]
fn a_workers_memory_holds_no_secret() {
    let mut sb = Sandbox::new("memscan");
    let r = remote(&mut sb);
    sb.run(&["net", "allow", &format!("api.test:{}", r.up.port())], "");
    sb.run(
        &["secret", "set", "API_KEY", "--domain", "api.test"],
        &format!("{SECRET}\n"),
    );
    let script = sb.dir.join("call.js");
    std::fs::write(
        &script,
        format!(
            "console.log(fazt.net.fetch({:?}, {{ auth: 'API_KEY' }}).text()); while (true) {{}}",
            r.url("/secret-check")
        ),
    )
    .unwrap();
    let mut args: Vec<String> = vec!["--db".into(), sb.db().display().to_string()];
    args.extend(r.flags.iter().cloned());
    args.extend(["run".into(), script.display().to_string()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut scanned = None;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        // The call has been made once the upstream saw it.
        if r.up.seen().is_empty() {
            continue;
        }
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(worker) = children.split_whitespace().next() {
            scanned = Some((process_memory(&pid), process_memory(worker)));
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let (parent, worker) = scanned.expect("the worker was seen after the call");
    let has = |m: &[u8]| m.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    assert!(!worker.is_empty(), "the worker's memory was read");
    assert!(has(&parent), "the scan finds the secret where it is");
    assert!(!has(&worker), "the worker's memory holds the secret");
}

/// Plants a log row in `sb`'s database, as the log writer would.
fn plant_log_row(
    sb: &Sandbox,
    at_ms: i64,
    app: &str,
    path: &str,
    status: Option<u16>,
    error: Option<&str>,
) {
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.execute(
        "INSERT INTO request_log (at_ms, app, host, method, path, status, error, duration_ms,
                                  bytes_in, bytes_out, cache_hit)
         VALUES (?1, ?2, 'api.test', 'GET', ?3, ?4, ?5, 12, 34, 0, 0)",
        rusqlite::params![at_ms, app, path, status, error],
    )
    .unwrap();
}

/// `fazt net logs` shows ISO 8601 times in UTC, keeps epoch ms in its
/// JSON and adds the ISO time, and reads `--since` as a time (or, below, a
/// duration back from now).
#[test]
fn logs_show_readable_times_and_a_window() {
    let sb = Sandbox::new("logs");
    sb.raw(&["net", "list"], ""); // creates the database
                                  // 2026-11-20T09:30:00.250Z and 2026-11-20T10:15:00Z.
    plant_log_row(&sb, 1_795_167_000_250, "shop", "/old", Some(200), None);
    plant_log_row(
        &sb,
        1_795_169_700_000,
        "",
        "/refused",
        None,
        Some("NET_BLOCKED"),
    );
    let out = [
        sb.run(&["net", "logs"], ""),
        sb.run(&["net", "logs", "--since", "2026-11-20T10:00"], ""),
        sb.run(&["net", "logs", "--since", "2026-11-20T10:00:00+01:00"], ""),
        sb.run(&["net", "logs", "--limit", "1"], ""),
        sb.run(&["net", "logs", "--since", "yesterday"], ""),
    ];
    insta::assert_snapshot!(out.join("\n"));
    let json: serde_json::Value =
        serde_json::from_str(&sb.raw(&["net", "logs", "--json"], "").0).unwrap();
    let old = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/old")
        .unwrap();
    assert_eq!(old["at_ms"], 1_795_167_000_250_i64);
    assert_eq!(old["at"], "2026-11-20T09:30:00.250Z");
    // --local: the system's zone, with its offset.
    let local = sb.raw(&["net", "logs", "--local", "--limit", "1"], "").0;
    let time = local.split_whitespace().next().unwrap_or("");
    assert!(
        time.len() == "2026-11-20T10:15:00.000+00:00".len() && time.starts_with("2026-11-20T"),
        "{local}"
    );
    // A duration back from now: only what was logged since.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    plant_log_row(&sb, now_ms - 300_000, "shop", "/recent", Some(201), None);
    let recent = sb.raw(&["net", "logs", "--since", "10m"], "").0;
    assert!(
        recent.contains("/recent") && !recent.contains("/old"),
        "{recent}"
    );
}

/// `--follow` prints rows as they are written, until interrupted.
#[test]
fn logs_follow_prints_new_rows() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new("follow");
    sb.raw(&["net", "list"], "");
    plant_log_row(&sb, 1_795_167_000_250, "shop", "/before", Some(200), None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .arg("--db")
        .arg(sb.db())
        .args(["net", "logs", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains("/before"), "{first}");
    plant_log_row(
        &sb,
        1_795_169_700_000,
        "shop",
        "/after",
        None,
        Some("NET_TIMEOUT"),
    );
    let next = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        next,
        "2026-11-20T10:15:00.000Z  shop     GET    api.test/after  NET_TIMEOUT  12 ms  34 B"
    );
}

/// The help: the global and development options under their own headings,
/// after a command's own; an example in every command's long help.
#[test]
fn help_groups_the_global_options_and_shows_examples() {
    let sb = Sandbox::new("help");
    let out = [sb.run(&["--help"], ""), sb.run(&["net", "allow", "-h"], "")];
    insta::assert_snapshot!(out.join("\n"));
    for command in [
        &[][..],
        &["net"],
        &["net", "allow"],
        &["net", "list"],
        &["net", "remove"],
        &["net", "check"],
        &["net", "logs"],
        &["net", "stats"],
        &["secret"],
        &["secret", "set"],
        &["secret", "list"],
        &["secret", "remove"],
        &["fetch"],
        &["run"],
        &["limits"],
        &["limits", "set"],
        &["limits", "reset"],
        &["completions"],
        &["demo"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let (help, _, code) = sb.raw(&args, "");
        assert_eq!(code, 0, "{command:?}");
        let examples = help.split("Examples:\n").nth(1).unwrap_or("");
        assert!(
            examples.starts_with("  ") && examples.lines().next().unwrap_or("").contains("fazt "),
            "{command:?} has no example:\n{help}"
        );
        let own = help.split("Global options:").next().unwrap();
        assert!(!own.contains("--resolve"), "{command:?}: {help}");
    }
}

/// `fazt completions SHELL` prints a script the shell accepts.
#[test]
fn completions_for_each_shell() {
    let sb = Sandbox::new("completions");
    for shell in ["bash", "zsh", "fish"] {
        let (script, err, code) = sb.raw(&["completions", shell], "");
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(script.contains("fazt"), "{shell}");
        for word in ["allow", "secret", "logs", "since", "completions"] {
            assert!(script.contains(word), "{shell} does not complete {word}");
        }
    }
    let bash = sb.raw(&["completions", "bash"], "").0;
    if let Ok(mut check) = Command::new("bash").arg("-n").stdin(Stdio::piped()).spawn() {
        check
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
        assert!(
            check.wait().unwrap().success(),
            "bash -n refused the script"
        );
    }
    let (_, err, code) = sb.raw(&["completions", "tcsh"], "");
    assert_eq!(code, 2, "{err}");
}

/// A script's failure points at the code: the file, line and column, the
/// script's frames, and for a syntax error the line with a caret.
#[test]
fn script_errors_point_at_the_code() {
    let sb = Sandbox::new("locations");
    let write = |name: &str, text: &str| {
        let path = sb.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let thrown = write(
        "charge.js",
        "let x = 1;\nfunction charge() {\n  return g();\n}\ncharge();\n",
    );
    let syntax = write("syntax.js", "let x = 1;\nlet y = {,};\n");
    let refused = write(
        "refused.js",
        "function pay() {\n  return fazt.net.fetch(\"https://api.stripe.com/v1/charges\");\n}\npay();\n",
    );
    let out = [
        sb.run(&["run", &thrown], ""),
        sb.run(&["run", &syntax], ""),
        sb.run(&["run", &refused], ""),
    ];
    insta::assert_snapshot!(out.join("\n"));
}
