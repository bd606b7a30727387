//! Allowlist rules on disk, and the poller that brings edits made by other
//! processes to a running host.

use fazt_policy::{AllowEntry, Allowlist, AllowlistSource, AppId, EntryOverrides, Scope};
use rusqlite::params;

use crate::store::now_ms;
use crate::{Store, StoreError};

/// A stored allowlist row the current parser refuses: not enforced, and
/// reported so it can be removed (`fazt net remove ENTRY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The app it was scoped to, if any.
    pub app: Option<String>,
    /// The entry as stored (`pattern` or `pattern:port`).
    pub entry: String,
    /// Why the parser refuses it.
    pub reason: String,
}

impl Store {
    /// Adds or replaces the rule for the entry's scope, pattern and port,
    /// with the entry's overrides. The entry is already canonical: it was
    /// parsed by `fazt_policy::AllowEntry::parse`.
    pub fn allow(&self, entry: &AllowEntry) -> Result<(), StoreError> {
        let r = entry.overrides();
        self.conn.lock().execute(
            "INSERT INTO allow_rules (app, pattern, port, allow_http, rate_limit, rate_burst,
                 max_response, timeout_ms, cache_ttl_s, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (app, pattern, port) DO UPDATE SET allow_http = ?4, rate_limit = ?5,
                 rate_burst = ?6, max_response = ?7, timeout_ms = ?8, cache_ttl_s = ?9",
            params![
                scope_key(entry.scope()),
                entry.pattern().to_string(),
                entry.port().unwrap_or(0),
                r.allow_http,
                r.rate_limit,
                r.rate_burst,
                sql_u64(r.max_response),
                sql_u64(r.timeout_ms),
                sql_u64(r.cache_ttl_s),
                now_ms()
            ],
        )?;
        Ok(())
    }

    /// Removes the rule for `pattern` (e.g. `api.example.com:8443` or
    /// `*.example.com`) in `app`'s scope (global when `None`); returns
    /// whether there was one.
    ///
    /// A row the current parser refuses (see [`SkippedEntry`]) is removed by
    /// its stored text, as `fazt net list` shows it.
    pub fn remove_entry(&self, app: Option<&AppId>, pattern: &str) -> Result<bool, StoreError> {
        let (text, port) = match AllowEntry::parse(pattern) {
            Ok(entry) => (entry.pattern().to_string(), entry.port().unwrap_or(0)),
            Err(e) => {
                let stored = match pattern.rsplit_once(':') {
                    Some((p, port)) => port.parse::<u16>().ok().map(|port| (p.to_string(), port)),
                    None => Some((pattern.to_string(), 0)),
                };
                let exists = match &stored {
                    Some((p, port)) => self.conn.lock().query_row(
                        "SELECT COUNT(*) FROM allow_rules WHERE app = ?1 AND pattern = ?2 AND port = ?3",
                        params![app.map_or("", AppId::as_str), p, port],
                        |r| r.get::<_, i64>(0),
                    )? > 0,
                    None => false,
                };
                match stored.filter(|_| exists) {
                    Some(found) => found,
                    None => return Err(e.into()),
                }
            }
        };
        let n = self.conn.lock().execute(
            "DELETE FROM allow_rules WHERE app = ?1 AND pattern = ?2 AND port = ?3",
            params![app.map_or("", AppId::as_str), text, port],
        )?;
        Ok(n > 0)
    }

    /// Every rule, global first, then by app and pattern.
    pub fn entries(&self) -> Result<Vec<AllowEntry>, StoreError> {
        Ok(self.entries_and_skipped()?.0)
    }

    /// Every rule the current parser accepts, and the stored rows it
    /// refuses (left by an older version or a hand edit). A bad row is
    /// never fatal: the rest of the allowlist is loaded and enforced, and
    /// the row is reported for removal.
    pub fn entries_and_skipped(&self) -> Result<(Vec<AllowEntry>, Vec<SkippedEntry>), StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT app, pattern, port, allow_http, rate_limit, rate_burst, max_response, timeout_ms,
                 cache_ttl_s FROM allow_rules ORDER BY app, pattern, port",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u16>(2)?,
                EntryOverrides {
                    allow_http: r.get(3)?,
                    rate_limit: r.get(4)?,
                    rate_burst: r.get(5)?,
                    max_response: r.get::<_, i64>(6)?.max(0).unsigned_abs(),
                    timeout_ms: r.get::<_, i64>(7)?.max(0).unsigned_abs(),
                    cache_ttl_s: r.get::<_, i64>(8)?.max(0).unsigned_abs(),
                },
            ))
        })?;
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for row in rows {
            let (app, pattern, port, rules) = row?;
            // Stored rows went through the parser; parsing again keeps a
            // hand-edited database from smuggling in what the parser refuses.
            let text = if port == 0 {
                pattern
            } else {
                format!("{pattern}:{port}")
            };
            let parsed = AllowEntry::parse(&text)
                .map_err(|e| e.to_string())
                .and_then(|e| e.with_overrides(rules).map_err(|e| e.to_string()))
                .and_then(|e| match app.as_str() {
                    "" => Ok(e),
                    a => AppId::parse(a)
                        .map(|a| e.for_app(a))
                        .map_err(|e| e.to_string()),
                });
            match parsed {
                Ok(entry) => out.push(entry),
                Err(reason) => skipped.push(SkippedEntry {
                    app: (!app.is_empty()).then_some(app),
                    entry: text,
                    reason,
                }),
            }
        }
        Ok((out, skipped))
    }

    /// The rules as an allowlist.
    pub fn allowlist(&self) -> Result<Allowlist, StoreError> {
        Ok(self.entries()?.into_iter().collect())
    }

    /// The allowlist if it changed since the last call (the first call
    /// always returns it). Cheap when nothing changed: one primary-key read
    /// of a counter that triggers bump on every rule change, whichever
    /// connection or process made it.
    pub fn allowlist_if_changed(&self) -> Result<Option<Allowlist>, StoreError> {
        self.if_changed("allowlist_version", &self.seen_allowlist_version, || {
            self.allowlist()
        })
    }
}

impl AllowlistSource for Store {
    fn poll(&self) -> Option<Allowlist> {
        // A read failure keeps the allowlist in force: failing closed would
        // also be safe, but would stop every app on a transient lock error.
        self.allowlist_if_changed().ok().flatten()
    }

    /// The store's limits are the limits in force: a client using the
    /// store as its source takes them on its first call, and every change
    /// `fazt limits set` makes after that.
    fn poll_limits(&self) -> Option<fazt_policy::Limits> {
        self.limits_if_changed().ok().flatten()
    }
}

fn scope_key(scope: &Scope) -> &str {
    match scope {
        Scope::Global => "",
        Scope::App(a) => a.as_str(),
    }
}

fn sql_u64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
