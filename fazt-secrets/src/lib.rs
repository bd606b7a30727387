//! SQLite state of fazt egress (being built).
//!
//! It will hold write-only secrets (a value leaves only by injection into an
//! outgoing request), persisted allowlist rules, and the batched request log.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
