//! The hardened transport of fazt egress (being built).
//!
//! It will hold the blocking HTTP client over ureq 3 and rustls that turns
//! `fazt_policy` decisions into requests: a validating resolver that connects
//! only to checked addresses, its own redirect loop, per-call deadlines,
//! capped bodies, concurrency slots, rate limits, a response cache and a log
//! sink.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
