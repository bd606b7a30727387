//! The hardened transport of fazt egress: [`EgressClient::fetch`] turns a
//! script's request into a real, safe HTTP exchange.
//!
//! # In scope
//! Blocking HTTP/1.1 over ureq 3 and rustls (TLS 1.2+, Mozilla roots):
//! - a checking resolver: each name is resolved once per connection, every
//!   address is classified by `fazt_policy`, and ureq dials only the
//!   addresses that were checked (no second lookup, no DNS rebinding);
//! - our own redirect loop, each hop checked like a new request, secrets
//!   applied only on their origin;
//! - one deadline per call (min of call timeout, budget left, caller
//!   timeout) enforced by ureq's global timeout, body reads included;
//! - capped request and response bodies, counted on raw bytes (no
//!   decompression: ureq is built without gzip and brotli, and every request
//!   says `Accept-Encoding: identity`);
//! - per-app and global concurrency slots, per-domain rate limits, a memory
//!   response cache, and one log entry per call;
//! - no proxy from the environment (`HTTP_PROXY` and friends are ignored).
//!
//! # Out of scope
//! Policy decisions (fazt-policy), persistence (fazt-secrets), JavaScript
//! (fazt-js). Asynchronous I/O: a call blocks its thread; a host that makes
//! several calls of one request at once runs them on threads of its own
//! and shares the request's budget between them ([`SharedBudget`]).
//!
//! # Central decision
//! The policy check on addresses lives *inside* the resolver ureq calls
//! while connecting. There is no window between checking an address and
//! dialing it, and no code path that dials an address that was not checked.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod budget;
mod builder;
mod cache;
mod client;
mod error;
mod hops;
mod kept;
mod log;
mod ratelimit;
mod request;
mod resolve;
mod slots;

pub use budget::{Counted, SharedBudget};
pub use builder::{parse_pem_roots, DangerousOptions, EgressBuilder};
pub use client::EgressClient;
pub use error::TransportError;
pub use kept::{Job, KeptThreads};
pub use log::TracingSink;
pub use request::{RedirectMode, Request, Response};
pub use resolve::{
    LookupError, NameLookup, StaticLookup, SystemLookup, MAX_LOOKUP_THREADS,
    MAX_LOOKUP_THREADS_PER_APP,
};
