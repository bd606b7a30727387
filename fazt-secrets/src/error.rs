//! [`StoreError`]: what can go wrong with the database or its input.
//!
//! No variant carries a secret value: invalid input is described by the
//! rule it broke and the name (never the value) it concerns.

use std::fmt;

use fazt_policy::{EntryError, InjectAsError, InvalidSecretName, LimitsError};

/// A storage failure or invalid input.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// The database file or its directory could not be prepared.
    Io(std::io::Error),
    /// A secret name does not match `[A-Z0-9_]{1,64}`
    /// ([`check_secret_name`](fazt_policy::check_secret_name)).
    InvalidName(InvalidSecretName),
    /// The inject mode or its key is refused ([`InjectAs::parse`](fazt_policy::InjectAs::parse)).
    InjectAs(InjectAsError),
    /// A host, pattern, port, app id or override is invalid.
    Entry(EntryError),
    /// The secret value is empty or contains control characters.
    InvalidValue(&'static str),
    /// A limit name is unknown or its value out of range.
    Limit(LimitsError),
    /// The database was written by a newer version.
    TooNew {
        /// Schema version found.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Io(e) => write!(f, "database file error: {e}"),
            StoreError::InvalidName(e) => e.fmt(f),
            StoreError::InjectAs(e) => e.fmt(f),
            StoreError::Entry(e) => e.fmt(f),
            StoreError::InvalidValue(why) => write!(f, "invalid secret value: {why}"),
            StoreError::Limit(e) => e.fmt(f),
            StoreError::TooNew { found, known } => write!(
                f,
                "database schema version {found} is newer than this build understands ({known})"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(e),
            StoreError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl From<EntryError> for StoreError {
    fn from(e: EntryError) -> Self {
        StoreError::Entry(e)
    }
}

impl From<InvalidSecretName> for StoreError {
    fn from(e: InvalidSecretName) -> Self {
        StoreError::InvalidName(e)
    }
}

impl From<InjectAsError> for StoreError {
    fn from(e: InjectAsError) -> Self {
        StoreError::InjectAs(e)
    }
}

impl From<LimitsError> for StoreError {
    fn from(e: LimitsError) -> Self {
        StoreError::Limit(e)
    }
}
