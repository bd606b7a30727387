//! Allowlist rules on disk, and the poller that brings edits made by other
//! processes to a running host.

use fazt_policy::{AllowEntry, Allowlist, AllowlistSource, AppId, EntryRules, Scope};
use rusqlite::params;

use crate::store::now_ms;
use crate::{Store, StoreError};

impl Store {
    /// Adds or replaces the rule for the entry's scope, pattern and port,
    /// with the entry's overrides. The entry is already canonical: it was
    /// parsed by `fazt_policy::AllowEntry::parse`.
    pub fn allow(&self, entry: &AllowEntry) -> Result<(), StoreError> {
        let r = entry.rules();
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
    pub fn remove_rule(&self, app: Option<&AppId>, pattern: &str) -> Result<bool, StoreError> {
        let entry = AllowEntry::parse(pattern)?;
        let n = self.conn.lock().execute(
            "DELETE FROM allow_rules WHERE app = ?1 AND pattern = ?2 AND port = ?3",
            params![
                app.map_or("", AppId::as_str),
                entry.pattern().to_string(),
                entry.port().unwrap_or(0)
            ],
        )?;
        Ok(n > 0)
    }

    /// Every rule, global first, then by app and pattern.
    pub fn rules(&self) -> Result<Vec<AllowEntry>, StoreError> {
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
                EntryRules {
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
        for row in rows {
            let (app, pattern, port, rules) = row?;
            // Stored rows went through the parser; parsing again keeps a
            // hand-edited database from smuggling in what the parser refuses.
            let text = if port == 0 {
                pattern
            } else {
                format!("{pattern}:{port}")
            };
            let mut entry = AllowEntry::parse(&text)?.with_rules(rules)?;
            if !app.is_empty() {
                entry = entry.for_app(AppId::parse(&app)?);
            }
            out.push(entry);
        }
        Ok(out)
    }

    /// The rules as an allowlist.
    pub fn allowlist(&self) -> Result<Allowlist, StoreError> {
        Ok(self.rules()?.into_iter().collect())
    }

    /// The allowlist if it changed since the last call (the first call
    /// always returns it). Cheap when nothing changed: one primary-key read
    /// of a counter that triggers bump on every rule change, whichever
    /// connection or process made it.
    pub fn allowlist_if_changed(&self) -> Result<Option<Allowlist>, StoreError> {
        let version: i64 = self.conn.lock().query_row(
            "SELECT value FROM meta WHERE key = 'allowlist_version'",
            [],
            |r| r.get(0),
        )?;
        let mut seen = self.seen_allowlist_version.lock();
        if *seen == Some(version) {
            return Ok(None);
        }
        let list = self.allowlist()?;
        *seen = Some(version);
        Ok(Some(list))
    }
}

impl AllowlistSource for Store {
    fn poll(&self) -> Option<Allowlist> {
        // A read failure keeps the allowlist in force: failing closed would
        // also be safe, but would stop every app on a transient lock error.
        self.allowlist_if_changed().ok().flatten()
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
