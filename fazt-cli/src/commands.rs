//! The commands. Each parses and checks all of its input before it opens or
//! writes the database, so a usage error changes nothing.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use fazt_policy::{AllowEntry, EntryOverrides, Explanation, Limits, RequestBudget, Step};
use fazt_secrets::Store;
use fazt_transport::Request;
use serde_json::json;

use crate::context::{app_id, client, db_path, open_store, DevOptions};
use crate::output::{print, print_bytes, print_json, shown, usage, Failure};
use crate::Global;

/// `fazt net allow`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  fazt net allow api.stripe.com
  fazt net allow '*.googleapis.com' --app shop
  fazt net allow hooks.example.com:8443 --rate 60 --burst 10 --timeout 2000
  fazt net allow api.example.com --cache-ttl 60")]
pub(crate) struct AllowArgs {
    /// `api.example.com`, `*.example.com`, optionally with `:port`
    host: String,
    /// Scope the entry to one app
    #[arg(long)]
    app: Option<String>,
    /// Also allow plain http
    #[arg(long)]
    http: bool,
    /// Requests per minute to this domain (0 = the global limit)
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Burst above the rate
    #[arg(long, default_value_t = 0)]
    burst: u32,
    /// Per-call timeout in milliseconds
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// Response size cap in bytes (at most 10 MiB)
    #[arg(long = "max-response", default_value_t = 0)]
    max_response: u64,
    /// Cache responses for this many seconds
    #[arg(long = "cache-ttl", default_value_t = 0)]
    cache_ttl: u64,
}

pub(crate) fn allow(g: &Global, a: &AllowArgs) -> Result<(), Failure> {
    let rules = EntryOverrides {
        allow_http: a.http,
        rate_limit: a.rate,
        rate_burst: a.burst,
        max_response: a.max_response,
        timeout_ms: a.timeout,
        cache_ttl_s: a.cache_ttl,
    };
    let mut entry = AllowEntry::parse(&a.host)
        .map_err(usage)?
        .with_overrides(rules)
        .map_err(usage)?;
    if let Some(app) = app_id(a.app.as_deref())? {
        entry = entry.for_app(app);
    }
    let store = open_store(g)?;
    store.allow(&entry)?;
    print(&format!("allowed {entry} ({})\n", entry.scope()))
}

pub(crate) fn list(g: &Global, app: Option<&str>, json: bool) -> Result<(), Failure> {
    let app = app_id(app)?;
    let store = open_store(g)?;
    let (entries, skipped) = store.entries_and_skipped()?;
    let entries: Vec<AllowEntry> = entries
        .into_iter()
        .filter(|e| match (&app, e.scope()) {
            (None, _) | (_, fazt_policy::Scope::Global) => true,
            (Some(a), fazt_policy::Scope::App(b)) => a == b,
        })
        .collect();
    let skipped: Vec<_> = skipped
        .into_iter()
        .filter(|b| {
            app.is_none()
                || b.app.is_none()
                || b.app.as_deref() == app.as_ref().map(fazt_policy::AppId::as_str)
        })
        .collect();
    if json {
        let mut rows: Vec<_> = entries
            .iter()
            .map(|e| {
                let r = e.overrides();
                json!({
                    "entry": e.to_string(),
                    "app": match e.scope() { fazt_policy::Scope::App(a) => Some(a.as_str()), _ => None },
                    "http": r.allow_http, "rate": r.rate_limit, "burst": r.rate_burst,
                    "timeout_ms": r.timeout_ms, "max_response": r.max_response, "cache_ttl_s": r.cache_ttl_s,
                })
            })
            .collect();
        rows.extend(
            skipped
                .iter()
                .map(|b| json!({"entry": b.entry, "app": b.app, "skipped": b.reason})),
        );
        return print_json(&rows);
    }
    let mut bad = String::new();
    for b in &skipped {
        let scope = b
            .app
            .as_ref()
            .map(|a| format!(" --app {}", shown(a)))
            .unwrap_or_default();
        bad.push_str(&format!(
            "skipped, not enforced: {}{scope}: {}; remove it with `fazt net remove '{}'{scope}`\n",
            shown(&b.entry),
            shown(&b.reason),
            shown(&b.entry)
        ));
    }
    if !bad.is_empty() {
        eprint!("{bad}");
    }
    if entries.is_empty() {
        return print("no allowlist entries; add one with `fazt net allow HOST`\n");
    }
    let mut out = String::new();
    for e in &entries {
        let r = e.overrides();
        let mut extras = Vec::new();
        if r.allow_http {
            extras.push("http".to_string());
        }
        for (name, v) in [
            ("rate", u64::from(r.rate_limit)),
            ("burst", u64::from(r.rate_burst)),
            ("timeout_ms", r.timeout_ms),
            ("max_response", r.max_response),
            ("cache_ttl_s", r.cache_ttl_s),
        ] {
            if v > 0 {
                extras.push(format!("{name}={v}"));
            }
        }
        let line = format!(
            "{:<40} {:<16} {}",
            e.to_string(),
            e.scope().to_string(),
            extras.join(" ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    print(&out)
}

pub(crate) fn remove(g: &Global, host: &str, app: Option<&str>) -> Result<(), Failure> {
    let app = app_id(app)?;
    if let Err(e) = AllowEntry::parse(host) {
        // Only a row an older version stored can be named this way: there
        // is none without a database, and none is created to find out.
        if !db_path(g)?.exists() {
            return Err(usage(e));
        }
    }
    let store = open_store(g)?;
    let removed = match store.remove_entry(app.as_ref(), host) {
        Err(fazt_secrets::StoreError::Entry(e)) => return Err(usage(e)),
        other => other?,
    };
    if removed {
        print(&format!("removed {host}\n"))
    } else {
        Err(Failure::Other(anyhow::anyhow!(
            "no allowlist entry {host} for {}",
            scope_name(app.as_ref())
        )))
    }
}

fn scope_name(app: Option<&fazt_policy::AppId>) -> String {
    app.map_or("global scope".to_string(), |a| format!("app \"{a}\""))
}

pub(crate) fn check(
    g: &Global,
    url: &str,
    app: Option<&str>,
    as_json: bool,
) -> Result<(), Failure> {
    let dev = DevOptions::parse(g)?;
    app_id(app)?;
    let store = open_store(g)?;
    // The explanation comes from the very policy `fazt fetch` enforces,
    // built in one place: own interface addresses and overrides included.
    let (client, log) = client(&store, &dev, limits_in_force(g)?)?;
    log.shutdown();
    let policy = client.policy();
    let mut explanation = policy.explain(app, url, None);
    if explanation.allowed() {
        // The connect-time check needs the addresses: resolve the name.
        let host = explanation.host.clone().unwrap_or_default();
        match dev.lookup().resolve(&host, Some(Duration::from_secs(5))) {
            Ok(addrs) => explanation = policy.explain(app, url, Some(&addrs)),
            Err(e) => {
                let err = e.into_net_error(&host);
                explanation.steps.push(Step {
                    step: "dns",
                    ok: false,
                    detail: err.message(),
                });
                explanation.error = Some(err);
            }
        }
    }
    if as_json {
        print_json(&explanation)?;
    } else {
        print(&render_explanation(&explanation, app))?;
    }
    if explanation.allowed() {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

fn render_explanation(e: &Explanation, app: Option<&str>) -> String {
    let mut out = match &e.error {
        None => format!("{}: allowed\n", e.url),
        Some(err) => format!("{}: refused ({})\n", e.url, err.code()),
    };
    for s in &e.steps {
        out.push_str(&format!(
            "  [{}] {:<11} {}\n",
            if s.ok { "ok" } else { "no" },
            s.step,
            s.detail
        ));
    }
    if let Some(err) = &e.error {
        out.push_str(&format!("{err}\n"));
        if let Some(fix) = crate::remedy::remedy(err, app) {
            out.push_str(&format!("fix: {fix}\n"));
        }
    }
    out
}

pub(crate) fn stats(g: &Global, as_json: bool) -> Result<(), Failure> {
    let store = open_store(g)?;
    let stats = store.host_stats()?;
    if as_json {
        let rows: Vec<_> = stats
            .iter()
            .map(|s| {
                json!({"host": s.host, "calls": s.calls, "errors": s.errors, "error_rate": s.error_rate,
                       "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "bytes_in": s.bytes_in, "bytes_out": s.bytes_out})
            })
            .collect();
        return print_json(&rows);
    }
    let mut out = format!(
        "{:<32} {:>7} {:>7} {:>8} {:>8} {:>12}\n",
        "host", "calls", "errors", "p50 ms", "p95 ms", "bytes in"
    );
    for s in &stats {
        out.push_str(&format!(
            "{:<32} {:>7} {:>6.1}% {:>8} {:>8} {:>12}\n",
            shown(&s.host),
            s.calls,
            s.error_rate * 100.0,
            s.p50_ms,
            s.p95_ms,
            s.bytes_in
        ));
    }
    print(&out)
}

/// `fazt secret set`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  printf %s \"$STRIPE_KEY\" | fazt secret set STRIPE_KEY --domain api.stripe.com
  fazt secret set OPENAI_KEY --domain api.openai.com
  fazt secret set MAPS_KEY --domain maps.example.com --as query --key key --app shop")]
pub(crate) struct SecretSetArgs {
    /// The name scripts pass as `auth` (A-Z, 0-9, _)
    name: String,
    /// How it is injected
    #[arg(long = "as", value_name = "MODE", default_value = "bearer", value_parser = ["bearer", "header", "query"])]
    inject_as: String,
    /// Header name (`--as header`) or query parameter (`--as query`)
    #[arg(long)]
    key: Option<String>,
    /// The host it is injected for, and no other (`api.example.com` or
    /// `*.example.com`); required
    #[arg(long)]
    domain: String,
    /// Scope the secret to one app
    #[arg(long)]
    app: Option<String>,
}

pub(crate) fn secret_set(g: &Global, a: &SecretSetArgs) -> Result<(), Failure> {
    fazt_policy::check_secret_name(&a.name).map_err(usage)?;
    let mode = fazt_policy::InjectAs::parse(&a.inject_as, a.key.as_deref()).map_err(usage)?;
    fazt_policy::HostPattern::parse(&a.domain).map_err(usage)?;
    let app = app_id(a.app.as_deref())?;
    let value = read_secret_value(&a.name)?;
    let store = open_store(g)?;
    store.set_secret(app.as_ref(), &a.name, &value, &mode, Some(&a.domain))?;
    print(&format!(
        "stored secret {} ({})\n",
        a.name,
        scope_name(app.as_ref())
    ))
}

/// The value from stdin, or from a no-echo prompt on a terminal; never
/// from the command line.
fn read_secret_value(name: &str) -> Result<String, Failure> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("value for {name}: "))
            .map_err(|e| Failure::Other(e.into()))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::Other(e.into()))?;
        s
    };
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value)
        .to_string();
    if value.is_empty() {
        return Err(usage(format!("no value for secret {name}: pipe it on stdin, e.g. `printf %s \"$KEY\" | fazt secret set {name} --domain HOST`")));
    }
    Ok(value)
}

pub(crate) fn secret_list(g: &Global, app: Option<&str>, as_json: bool) -> Result<(), Failure> {
    let app = app_id(app)?;
    let store = open_store(g)?;
    let list = store.list_secrets(app.as_ref())?;
    let mode = |m: &fazt_policy::InjectAs| (m.mode(), m.key().map(str::to_string));
    if as_json {
        let rows: Vec<_> = list
            .iter()
            .map(|s| {
                let (m, k) = mode(&s.mode);
                json!({"name": s.name, "app": s.app, "as": m, "key": k, "domain": s.domain, "value": s.masked,
                       "created_ms": s.created_ms, "updated_ms": s.updated_ms})
            })
            .collect();
        return print_json(&rows);
    }
    if list.is_empty() {
        return print("no secrets; add one with `fazt secret set NAME --domain HOST`\n");
    }
    let mut out = String::new();
    for s in &list {
        let (m, k) = mode(&s.mode);
        let how = k.map_or(m.to_string(), |k| format!("{m}:{k}"));
        out.push_str(&format!(
            "{:<24} {:<16} {:<22} {:<24} {}\n",
            s.name,
            s.app
                .as_deref()
                .map_or("global".to_string(), |a| format!("app \"{a}\"")),
            how,
            s.domain.as_deref().unwrap_or("no domain: never injected"),
            s.masked
        ));
    }
    print(&out)
}

pub(crate) fn secret_remove(g: &Global, name: &str, app: Option<&str>) -> Result<(), Failure> {
    fazt_policy::check_secret_name(name).map_err(usage)?;
    let app = app_id(app)?;
    let store = open_store(g)?;
    if store.remove_secret(app.as_ref(), name)? {
        print(&format!("removed secret {name}\n"))
    } else {
        Err(Failure::Other(anyhow::anyhow!(
            "no secret {name} in {}",
            scope_name(app.as_ref())
        )))
    }
}

/// `fazt fetch`.
#[derive(Args, Debug)]
pub(crate) struct FetchArgs {
    /// The URL
    url: String,
    /// Make the request as this app
    #[arg(long)]
    app: Option<String>,
    /// Inject this secret
    #[arg(long)]
    auth: Option<String>,
    /// Method
    #[arg(short = 'X', long = "request", default_value = "GET")]
    method: String,
    /// Header `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "K: V")]
    headers: Vec<String>,
    /// Request body
    #[arg(short = 'd', long = "data", conflicts_with = "data_file")]
    data: Option<String>,
    /// Request body from a file
    #[arg(long = "data-file")]
    data_file: Option<PathBuf>,
    /// Print the status line and headers before the body
    #[arg(short = 'i', long = "include")]
    include: bool,
}

pub(crate) fn fetch(g: &Global, a: &FetchArgs) -> Result<(), Failure> {
    let dev = DevOptions::parse(g)?;
    let app = app_id(a.app.as_deref())?;
    let mut headers = Vec::new();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| usage(format!("invalid header \"{h}\": expected 'Name: value'")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let body = match (&a.data, &a.data_file) {
        (Some(d), _) => Some(d.clone().into_bytes()),
        (None, Some(f)) => {
            Some(std::fs::read(f).map_err(|e| usage(format!("cannot read {}: {e}", f.display())))?)
        }
        (None, None) => None,
    };
    let store = open_store(g)?;
    let limits = limits_in_force(g)?;
    let (client, log) = client(&store, &dev, limits)?;
    let request = Request {
        method: a.method.clone(),
        url: a.url.clone(),
        headers,
        body,
        timeout: None,
        redirect: fazt_transport::RedirectMode::Follow,
        auth: a.auth.clone(),
    };
    let result = client.fetch(
        app.as_ref().map(|a| a.as_str()),
        request,
        &mut RequestBudget::new(&limits),
    );
    log.shutdown();
    let r = result.map_err(|e| Failure::Net(e, a.app.clone()))?;
    if a.include {
        let mut head = format!("HTTP/1.1 {} {}\n", r.status, r.status_text);
        for (n, v) in r.headers.pairs() {
            head.push_str(&format!("{n}: {v}\n"));
        }
        head.push('\n');
        print(&head)?;
    }
    print_bytes(&r.body)
}

pub(crate) fn run(g: &Global, script: &Path, app: Option<&str>) -> Result<(), Failure> {
    let dev = DevOptions::parse(g)?;
    app_id(app)?;
    let source = std::fs::read_to_string(script)
        .map_err(|e| usage(format!("cannot read {}: {e}", script.display())))?;
    let store = open_store(g)?;
    let limits = limits_in_force(g)?;
    let (client, log) = client(&store, &dev, limits)?;
    // Isolated: the script's engine runs in a child process of this
    // executable that holds no secret, database or socket.
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Other(anyhow::anyhow!("cannot find this executable: {e}")))?;
    let runner = fazt_js::ScriptRunner::new(client, limits)
        .isolated(exe)
        .script_name(script.display().to_string());
    let out = runner.run(app, &source);
    log.shutdown();
    let mut text = String::new();
    for line in &out.console {
        text.push_str(line);
        text.push('\n');
    }
    let fix = out
        .uncaught_refusal()
        .and_then(|refusal| crate::remedy::remedy(refusal, app));
    match out.result {
        Ok(v) => {
            if !v.is_null() {
                text.push_str(&format!("{v}\n"));
            }
            print(&text)
        }
        Err(e) => {
            print(&text)?;
            eprintln!("{e}");
            if let Some(fix) = fix {
                eprintln!("fix: {fix}");
            }
            Err(Failure::Reported)
        }
    }
}

pub(crate) fn limits(g: &Global, as_json: bool, schema: bool) -> Result<(), Failure> {
    if schema {
        return print_json(&Limits::schema());
    }
    let limits = limits_in_force(g)?;
    if as_json {
        return print_json(&limits);
    }
    let defaults = Limits::default();
    let mut out = String::new();
    for f in Limits::schema() {
        let value = limits.get(f.name).unwrap_or(f.default);
        let changed = if value == defaults.get(f.name).unwrap_or(f.default) {
            ' '
        } else {
            '*'
        };
        out.push_str(&format!(
            "{:<22} {:>10}{changed} {:<13} {:<16} {}\n",
            f.name,
            value,
            f.unit,
            format!("{}..{}", f.min, f.max),
            f.label
        ));
    }
    print(&out)
}

/// The limits every command uses: the defaults, with what `fazt limits set`
/// stored. Without a database, the defaults (none is created to find out).
pub(crate) fn limits_in_force(g: &Global) -> Result<Limits, Failure> {
    if !db_path(g)?.exists() {
        return Ok(Limits::default());
    }
    let (limits, skipped) = open_store(g)?.limits()?;
    for k in &skipped {
        eprintln!(
            "warning: stored limit {} = {} is refused by this version ({}); the default applies. Reset it with `fazt limits reset {}`",
            shown(&k.name),
            k.value,
            shown(&k.reason),
            shown(&k.name)
        );
    }
    Ok(limits)
}

/// `fazt limits set`.
pub(crate) fn limits_set(g: &Global, name: &str, value: u64) -> Result<(), Failure> {
    // Checked before the database is opened.
    Limits::default().set(name, value).map_err(usage)?;
    open_store(g)?.set_limit(name, value)?;
    print(&format!("{name} = {value}\n"))
}

/// `fazt limits reset`.
pub(crate) fn limits_reset(g: &Global, name: Option<&str>) -> Result<(), Failure> {
    if let Some(name) = name {
        if Limits::default().get(name).is_none() && !db_path(g)?.exists() {
            return Err(usage(format!("unknown limit \"{}\"", shown(name))));
        }
    }
    let removed = open_store(g)?.reset_limits(name)?;
    match name {
        Some(name) if removed == 0 => print(&format!("{name} already has its default\n")),
        Some(name) => print(&format!("{name} reset to its default\n")),
        None => print(&format!("{removed} limit(s) reset to their defaults\n")),
    }
}

/// Opens the store at `path` (the demo's).
pub(crate) fn store_at(path: &Path) -> Result<Store, Failure> {
    Store::open(path).map_err(|e| Failure::Other(e.into()))
}
