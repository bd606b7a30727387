//! Limits set by the operator, on disk: a value per changed field; a field
//! without a row has its default.

use fazt_policy::Limits;
use rusqlite::params;

use crate::{Store, StoreError};

/// A stored limit the current version refuses (an unknown name, or a value
/// out of today's range): the default applies, and the row is reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLimit {
    /// The stored name.
    pub name: String,
    /// The stored value.
    pub value: i64,
    /// Why it is refused.
    pub reason: String,
}

impl Store {
    /// The limits in force: the defaults with every stored value applied,
    /// and the stored rows the current version refuses (never fatal).
    pub fn limits(&self) -> Result<(Limits, Vec<SkippedLimit>), StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare("SELECT name, value FROM limits ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut limits = Limits::default();
        let mut skipped = Vec::new();
        for row in rows {
            let (name, value) = row?;
            let applied = u64::try_from(value)
                .map_err(|_| format!("{value} is negative"))
                .and_then(|v| limits.set(&name, v).map_err(|e| e.to_string()));
            if let Err(reason) = applied {
                skipped.push(SkippedLimit {
                    name,
                    value,
                    reason,
                });
            }
        }
        Ok((limits, skipped))
    }

    /// The limits in force if they changed since the last call (the first
    /// call always returns them); cheap when nothing changed, like
    /// [`Store::allowlist_if_changed`]. Refused rows are skipped.
    pub fn limits_if_changed(&self) -> Result<Option<Limits>, StoreError> {
        self.if_changed("limits_version", &self.seen_limits_version, || {
            Ok(self.limits()?.0)
        })
    }

    /// Sets limit `name` to `value`, refusing an unknown name or a value
    /// outside its range (nothing is written then).
    pub fn set_limit(&self, name: &str, value: u64) -> Result<(), StoreError> {
        Limits::default().set(name, value)?;
        // Every range fits: the largest is a few GiB.
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        self.conn.lock().execute(
            "INSERT INTO limits (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = ?2",
            params![name, value],
        )?;
        Ok(())
    }

    /// Resets `name` to its default, or every limit with `None`; returns how
    /// many stored values were removed.
    pub fn reset_limits(&self, name: Option<&str>) -> Result<usize, StoreError> {
        let conn = self.conn.lock();
        let n = match name {
            Some(name) => conn.execute("DELETE FROM limits WHERE name = ?1", params![name])?,
            None => conn.execute("DELETE FROM limits", [])?,
        };
        Ok(n)
    }
}
