//! `fazt demo`: an offline tour. A local TLS upstream with a throwaway CA, a
//! temporary database with one allowlist entry and one secret, and two
//! scripts: one makes an allowed call with the secret injected and then
//! tries the usual ways out; the other meets the response size cap.
//! Nothing leaves the machine: every name resolves to loopback or to a
//! private address that is refused before any connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fazt_js::ScriptRunner;
use fazt_policy::{AllowEntry, IpNet, Limits};
use fazt_secrets::LogQuery;
use serde_json::Value;

use crate::commands::store_at;
use crate::context::{client, DevOptions};
use crate::demo_server::{DemoCa, DemoReply, DemoServer};
use crate::output::{print, Failure};

const SECRET: &str = "demo_sk_2f6b1c9e8d7a4f30";

const SCRIPT_ESCAPES: &str = r#"
const results = [];
function attempt(what, url, options) {
  try {
    const r = fazt.net.fetch(url, options);
    results.push({ what, url, ok: true, status: r.status, body: r.text() });
  } catch (e) {
    results.push({ what, url, ok: false, code: e.code, message: e.message });
  }
}
attempt("allowed call, secret injected", "BASE/hello", { auth: "DEMO_KEY" });
attempt("loopback IP literal", "https://127.0.0.1/admin");
attempt("cloud metadata, decimal spelling", "https://2852039166/latest/meta-data/");
attempt("redirect to localhost", "BASE/redirect");
attempt("name resolving to a private address", "https://private.demo.test/");
attempt("a sixth call in one run", "BASE/hello");
results
"#;

const SCRIPT_SIZE: &str = r#"
const results = [];
try {
  fazt.net.fetch("BASE/big");
  results.push({ what: "response over the 1 MiB cap", url: "BASE/big", ok: true });
} catch (e) {
  results.push({ what: "response over the 1 MiB cap", url: "BASE/big", ok: false, code: e.code, message: e.message });
}
results
"#;

pub(crate) fn run() -> Result<(), Failure> {
    let dir = std::env::temp_dir().join(format!("fazt-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = tour(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tour(dir: &std::path::Path) -> Result<(), Failure> {
    let ca = DemoCa::new(&["api.demo.test"]).map_err(anyhow_err)?;
    let authorized = Arc::new(AtomicUsize::new(0));
    let seen_ok = Arc::clone(&authorized);
    let expected = format!("Bearer {SECRET}");
    let up = DemoServer::start(&ca, move |req| match req.target.as_str() {
        "/hello" => {
            let ok = req.header("authorization") == Some(expected.as_str());
            if ok {
                seen_ok.fetch_add(1, Ordering::SeqCst);
            }
            DemoReply::ok(format!("{{\"authorized\":{ok}}}"))
                .header("content-type", "application/json")
        }
        "/redirect" => DemoReply::redirect(302, "https://localhost/"),
        "/big" => DemoReply::ok(vec![b'x'; 2 * 1024 * 1024]),
        _ => DemoReply::status(404),
    })
    .map_err(anyhow_err)?;
    let base = format!("https://api.demo.test:{}", up.port());

    let db = dir.join("fazt.db");
    let store = store_at(&db)?;
    let entry = format!("api.demo.test:{}", up.port());
    store.allow(&AllowEntry::parse(&entry).map_err(anyhow_err)?)?;
    store.allow(&AllowEntry::parse("private.demo.test").map_err(anyhow_err)?)?;
    let bearer = fazt_policy::InjectAs::Bearer;
    store.set_secret(None, "DEMO_KEY", SECRET, &bearer, Some("api.demo.test"))?;

    let limits = Limits::default();
    // The demo's only relaxations: its upstream is on 127.0.0.1 with a
    // throwaway CA, and its names resolve without DNS.
    let dev = DevOptions {
        resolve: vec![
            ("api.demo.test".into(), [127, 0, 0, 1].into()),
            ("localhost".into(), [127, 0, 0, 1].into()),
            ("private.demo.test".into(), [10, 0, 0, 5].into()),
        ],
        allow_ranges: vec!["127.0.0.1/32".parse::<IpNet>().map_err(anyhow_err)?],
        ca_pem: Some(ca.ca_pem.clone().into_bytes()),
        system_dns: false,
    };
    let (client, log) = client(&store, &dev, limits)?;
    let runner = ScriptRunner::new(client, limits);

    let mut out = String::new();
    out.push_str("fazt demo: an offline tour (nothing leaves this machine)\n\n");
    out.push_str(&format!("  database   {} (temporary)\n", db.display()));
    out.push_str(&format!(
        "  upstream   {base} (local TLS server, throwaway CA)\n"
    ));
    out.push_str(&format!("  allowlist  {entry}, private.demo.test\n"));
    out.push_str("  secret     DEMO_KEY -> Authorization: Bearer, bound to api.demo.test\n");
    out.push_str(&format!(
        "  limits     {} calls per run, {} byte responses\n\n",
        limits.max_calls, limits.max_response
    ));

    let mut refused = 0;
    let mut script_saw_secret = false;
    for (title, script) in [
        (
            "script 1: an allowed call, then the usual ways out",
            SCRIPT_ESCAPES,
        ),
        ("script 2: a response larger than the cap", SCRIPT_SIZE),
    ] {
        out.push_str(&format!("{title}\n"));
        let run = runner.run(Some("demo"), &script.replace("BASE", &base));
        let results = run
            .result
            .as_ref()
            .map_err(|e| Failure::Other(anyhow::anyhow!("demo script failed: {e}")))?;
        script_saw_secret |= results.to_string().contains(SECRET);
        for r in results.as_array().into_iter().flatten() {
            let (what, url) = (text(r, "what"), text(r, "url"));
            if r["ok"].as_bool() == Some(true) {
                out.push_str(&format!(
                    "  allowed  {what}\n           {url} -> {} {}\n",
                    r["status"],
                    text(r, "body")
                ));
            } else {
                refused += 1;
                let message = text(r, "message");
                out.push_str(&format!(
                    "  REFUSED  {what}\n           {url} -> {message}\n"
                ));
                let fix = run
                    .refusal(message)
                    .and_then(|e| crate::remedy::remedy(e, Some("demo")));
                if let Some(fix) = fix {
                    out.push_str(&format!("           fix: {fix}\n"));
                }
            }
        }
        out.push('\n');
    }
    log.flush();
    let logged = store
        .recent_logs(&LogQuery {
            limit: 100,
            since_ms: None,
            after_id: None,
            ..LogQuery::default()
        })?
        .len();
    log.shutdown();
    out.push_str(&format!(
        "{refused} attempts refused; the upstream received the secret on {} request(s); the scripts {} it.\n",
        authorized.load(Ordering::SeqCst),
        if script_saw_secret { "SAW" } else { "never saw" }
    ));
    out.push_str(&format!(
        "{logged} calls were logged to the request log (host and path only, no query strings or secrets).\n"
    ));
    out.push_str("Try your own: `fazt net allow api.example.com`, `fazt secret set NAME --domain HOST`, `fazt run script.js`.\n");
    print(&out)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn anyhow_err(e: impl std::fmt::Display) -> Failure {
    Failure::Other(anyhow::anyhow!("{e}"))
}
