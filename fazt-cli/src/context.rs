//! What commands share: the database, the development overrides, and the
//! client and runner built from them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use fazt_policy::{AppId, Classifier, IpNet, Limits, LogSink, Policy};
use fazt_secrets::{LogConfig, RequestLog, Store};
use fazt_transport::{EgressClient, NameLookup, StaticLookup, SystemLookup};

use crate::output::{usage, Failure};
use crate::Global;

/// Development overrides, parsed and announced.
pub(crate) struct DevOptions {
    pub(crate) resolve: Vec<(String, IpAddr)>,
    pub(crate) allow_ranges: Vec<IpNet>,
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// Names not in `resolve` go to the system resolver (off for the demo,
    /// which must not touch the network).
    pub(crate) system_dns: bool,
}

impl DevOptions {
    /// Parses the flags (usage errors name the bad value) and prints one
    /// warning line per override in use.
    pub(crate) fn parse(g: &Global) -> Result<DevOptions, Failure> {
        let mut resolve = Vec::new();
        for r in &g.resolve {
            let (host, ip) = r
                .split_once('=')
                .ok_or_else(|| usage(format!("invalid --resolve \"{r}\": expected HOST=IP")))?;
            let ip: IpAddr = ip.trim().parse().map_err(|_| {
                usage(format!(
                    "invalid --resolve \"{r}\": \"{ip}\" is not an IP address"
                ))
            })?;
            let host = fazt_policy::CanonicalHost::parse(host.trim())
                .map_err(|e| usage(format!("invalid --resolve \"{r}\": {e}")))?;
            resolve.push((host.to_string(), ip));
        }
        let mut allow_ranges = Vec::new();
        for c in &g.allow_range {
            let net: IpNet = c.trim().parse().map_err(|_| {
                usage(format!(
                    "invalid --allow-range \"{c}\": expected a CIDR such as 127.0.0.1/32"
                ))
            })?;
            allow_ranges.push(net);
        }
        let ca_pem = match &g.ca_file {
            None => None,
            Some(p) => {
                let pem = std::fs::read(p)
                    .map_err(|e| usage(format!("cannot read --ca-file {}: {e}", p.display())))?;
                // Checked here, before any command opens the database.
                fazt_transport::parse_pem_roots(&pem)
                    .map_err(|e| usage(format!("invalid --ca-file {}: {e}", p.display())))?;
                Some(pem)
            }
        };
        for (host, ip) in &resolve {
            eprintln!("warning: --resolve is for development: {host} resolves to {ip} without DNS");
        }
        for net in &allow_ranges {
            eprintln!(
                "warning: --allow-range is for development: connections to {net} are allowed"
            );
        }
        if let Some(p) = &g.ca_file {
            eprintln!(
                "warning: --ca-file is for development: trusting the roots in {}",
                p.display()
            );
        }
        Ok(DevOptions {
            resolve,
            allow_ranges,
            ca_pem,
            system_dns: true,
        })
    }

    /// The resolver: the fixed answers first, then the system's.
    pub(crate) fn lookup(&self) -> Arc<dyn NameLookup> {
        let mut r = StaticLookup::new();
        if self.system_dns {
            r = r.with_fallback(Arc::new(SystemLookup));
        }
        for (host, ip) in &self.resolve {
            r = r.with(host, [*ip]);
        }
        Arc::new(r)
    }

    /// Whether any override weakens the client's defaults.
    fn weakens(&self) -> bool {
        !self.resolve.is_empty()
            || !self.allow_ranges.is_empty()
            || self.ca_pem.is_some()
            || !self.system_dns
    }
}

/// The database path: `--db`, then `FAZT_DB`, then the user data dir.
pub(crate) fn db_path(g: &Global) -> Result<PathBuf, Failure> {
    if let Some(p) = &g.db {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("FAZT_DB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| usage("no database path: pass --db or set FAZT_DB (HOME is not set)"))?;
    Ok(data.join("fazt").join("fazt.db"))
}

/// Opens the database, telling the user if its permissions were tightened.
pub(crate) fn open_store(g: &Global) -> Result<Store, Failure> {
    let path = db_path(g)?;
    let store = Store::open(&path)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", path.display())))?;
    if let Some(mode) = store.tightened_from() {
        eprintln!(
            "warning: {} was readable by others (mode {mode:o}); tightened to 600",
            path.display()
        );
    }
    Ok(store)
}

/// Parses an optional `--app`.
pub(crate) fn app_id(app: Option<&str>) -> Result<Option<AppId>, Failure> {
    app.map(AppId::parse).transpose().map_err(usage)
}

/// A client over the store (allowlist, secrets, log) with the overrides.
pub(crate) fn client(
    store: &Store,
    dev: &DevOptions,
    limits: Limits,
) -> Result<(EgressClient, RequestLog), Failure> {
    let log = RequestLog::start(store, LogConfig::from_limits(&limits))?;
    let (entries, skipped) = store.entries_and_skipped()?;
    if !skipped.is_empty() {
        eprintln!(
            "warning: {} allowlist row(s) are refused by this version and not enforced; see `fazt net list`",
            skipped.len()
        );
    }
    let policy =
        Policy::new(entries.into_iter().collect(), Classifier::new(), limits).map_err(usage)?;
    let mut builder = EgressClient::builder(policy)
        .secrets(Arc::new(store.clone()))
        .allowlist_source(Arc::new(store.clone()))
        .log_sink(Arc::new(log.clone()) as Arc<dyn LogSink>);
    if dev.weakens() {
        let mut weakened = builder
            .dangerous()
            .lookup(dev.lookup())
            .allow_ranges(dev.allow_ranges.iter().copied());
        if let Some(pem) = &dev.ca_pem {
            weakened = weakened.add_root_certificates_pem(pem).map_err(usage)?;
        }
        builder = weakened.finish();
    }
    let client = builder.build().map_err(usage)?;
    Ok((client, log))
}
