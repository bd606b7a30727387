//! Secrets: write-only values injected into outgoing requests.

use std::fmt;

use fazt_policy::{
    check_secret_domain, check_secret_name, AppId, CanonicalHost, HostPattern, InjectAs, Injection,
    NetError, SecretInjector, SecretValue,
};
use rusqlite::{params, OptionalExtension};

use crate::store::now_ms;
use crate::{Store, StoreError};

/// A secret as listings show it: everything but the value, which is masked.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// Name.
    pub name: String,
    /// Owning app, `None` for a global secret.
    pub app: Option<String>,
    /// Where the value is injected.
    pub mode: InjectAs,
    /// Domain binding (canonical pattern), if any.
    pub domain: Option<String>,
    /// Masked value: `********` then, for values of 16 or more characters,
    /// the last 4.
    pub masked: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last update, ms since the Unix epoch.
    pub updated_ms: i64,
}

impl fmt::Debug for SecretInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretInfo")
            .field("name", &self.name)
            .field("app", &self.app)
            .field("mode", &self.mode)
            .field("domain", &self.domain)
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

/// Masks a value: at most its last 4 characters show, and only when it has
/// 16 or more.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n >= 16 {
        let tail: String = value.chars().skip(n - 4).collect();
        format!("********{tail}")
    } else {
        "********".to_string()
    }
}

impl Store {
    /// Stores (or replaces) a secret. `domain` (`api.example.com` or
    /// `*.example.com`) binds it: injecting it for another host is
    /// `NET_AUTH`.
    pub fn set_secret(
        &self,
        app: Option<&AppId>,
        name: &str,
        value: &str,
        mode: &InjectAs,
        domain: Option<&str>,
    ) -> Result<(), StoreError> {
        check_secret_name(name)?;
        if value.is_empty() {
            return Err(StoreError::InvalidValue("empty"));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(StoreError::InvalidValue("contains control characters"));
        }
        let domain = domain
            .map(HostPattern::parse)
            .transpose()?
            .map(|d| d.to_string());
        let (kind, key) = (mode.mode(), mode.key().unwrap_or_default());
        let now = now_ms();
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO secrets (app, name, value, inject_as, inject_key, domain, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (app, name) DO UPDATE SET value = ?3, inject_as = ?4, inject_key = ?5,
                 domain = ?6, updated_ms = ?7",
            params![app_key(app), name, value, kind, key, domain.unwrap_or_default(), now],
        )?;
        crate::store::erase_history(&conn)
    }

    /// Removes a secret; returns whether it existed.
    pub fn remove_secret(&self, app: Option<&AppId>, name: &str) -> Result<bool, StoreError> {
        check_secret_name(name)?;
        let conn = self.conn.lock();
        let n = conn.execute(
            "DELETE FROM secrets WHERE app = ?1 AND name = ?2",
            params![app_key(app), name],
        )?;
        crate::store::erase_history(&conn)?;
        Ok(n > 0)
    }

    /// Lists secrets, masked: all of them, or one app's and the global ones.
    pub fn list_secrets(&self, app: Option<&AppId>) -> Result<Vec<SecretInfo>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT name, app, inject_as, inject_key, domain, value, created_ms, updated_ms FROM secrets
             WHERE ?1 IS NULL OR app = ?1 OR app = '' ORDER BY app, name",
        )?;
        let rows = stmt.query_map(params![app.map(AppId::as_str)], |r| {
            let value: String = r.get(5)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                mask(&value),
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, app, kind, key, domain, masked, created_ms, updated_ms) = row?;
            // A row the current parser refuses is left out of listings
            // (and never injected: `resolve` reads it the same way).
            let Ok(mode) = InjectAs::parse(&kind, Some(&key)) else {
                continue;
            };
            out.push(SecretInfo {
                name,
                app: (!app.is_empty()).then_some(app),
                mode,
                domain: (!domain.is_empty()).then_some(domain),
                masked,
                created_ms,
                updated_ms,
            });
        }
        Ok(out)
    }
}

impl SecretInjector for Store {
    /// The app's secret of that name if there is one, else the global one.
    fn resolve(
        &self,
        app: Option<&str>,
        name: &str,
        host: &CanonicalHost,
    ) -> Result<Injection, NetError> {
        let missing = || NetError::SecretMissing {
            name: name.escape_debug().to_string(),
        };
        let row = self
            .conn
            .lock()
            .query_row(
                "SELECT inject_as, inject_key, domain, value FROM secrets
                 WHERE name = ?1 AND (app = ?2 OR app = '') ORDER BY app DESC LIMIT 1",
                params![name, app.unwrap_or("")],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            // A database failure must not look like success; it is reported
            // as a missing secret, without the SQLite detail.
            .map_err(|_| missing())?;
        let (kind, key, domain, value) = row.ok_or_else(missing)?;
        let bound = match domain.as_str() {
            "" => None,
            d => Some(HostPattern::parse(d).map_err(|_| missing())?),
        };
        check_secret_domain(name, bound.as_ref(), host)?;
        let inject_as = InjectAs::parse(&kind, Some(&key)).map_err(|_| missing())?;
        Ok(Injection {
            inject_as,
            value: SecretValue::new(value),
        })
    }
}

pub(crate) fn app_key(app: Option<&AppId>) -> &str {
    app.map_or("", AppId::as_str)
}
