//! `fazt.net.fetch` for serverless JavaScript (being built).
//!
//! It will be a deno_core op crate: one fetch op over `fazt-transport`, an
//! extension whose prelude builds `fazt.net.fetch`, and a script runner with
//! time and memory limits.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
