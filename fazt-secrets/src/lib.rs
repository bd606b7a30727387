//! SQLite state of fazt egress: everything fazt keeps on disk, in one
//! database file.
//!
//! # In scope
//! - [`Store::open`]: the file (mode 0600), WAL, migrations keyed by
//!   `PRAGMA user_version`.
//! - Secrets: [`Store::set_secret`], [`Store::list_secrets`] (masked),
//!   [`Store::remove_secret`], and the [`SecretInjector`](fazt_policy::SecretInjector)
//!   implementation the transport calls.
//! - Allowlist rules with their per-domain overrides, and
//!   [`Store::allowlist_if_changed`] so a running host sees edits made by
//!   another process before its next call.
//! - The request log: [`RequestLog`] (a non-blocking
//!   [`LogSink`](fazt_policy::LogSink) with a batching writer) and its
//!   queries ([`Store::recent_logs`], [`Store::host_stats`]).
//!
//! # Out of scope
//! Network I/O, policy decisions (the rows hold what fazt-policy parsed and
//! are parsed again on load), encryption at rest: values are plaintext in a
//! file only its owner can read, as the design decided.
//!
//! # Central decision
//! **A secret value is write-only.** It enters through `set_secret` and
//! leaves only inside an [`Injection`](fazt_policy::Injection) handed to the
//! transport for one outgoing request. Listings mask it, no error or `Debug`
//! output contains it, and no public function returns it.
//!
//! SQLite treats NULLs in a UNIQUE key as distinct, so "global" is stored as
//! the empty string in the `app` column, never NULL: setting a global secret
//! twice updates one row.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod entries;
mod error;
mod limits;
mod log;
mod query;
mod secrets;
mod store;

pub use entries::SkippedEntry;
pub use error::StoreError;
pub use limits::SkippedLimit;
pub use log::{LogConfig, RequestLog, DEFAULT_RETENTION, ROW_OVERHEAD};
pub use query::{HostStats, LogQuery, LogRow};
pub use secrets::{mask, SecretInfo};
pub use store::Store;
