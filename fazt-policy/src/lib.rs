//! Pure, I/O-free egress decisions.
//!
//! fazt-policy answers one question for every outgoing call a script wants to
//! make: *may it happen, and under which limits?* It is the sans-IO core under
//! `fazt-transport`, in the way `ureq-proto` sits under `ureq`.
//!
//! **Rule: no I/O, no clock reads.** Nothing in this crate opens a socket,
//! reads a file, resolves a name or looks at the time: addresses are handed
//! in after resolution, and time is an argument. That keeps every decision
//! reproducible in a unit test and reusable by any egress tool.
//!
//! # In scope
//! - [`Target`]: a URL parsed once, WHATWG-style, into the scheme, canonical
//!   host ([`CanonicalHost`]) and port that will be connected to; userinfo and
//!   IP literals (in every spelling the parser accepts) refused.
//! - [`Classifier`]: the IANA special-purpose registries, embedded IPv4, and
//!   operator `allow_ranges` / `deny_ranges`.
//! - [`Allowlist`] of [`AllowEntry`]s, indexed so lookup cost does not grow
//!   with the number of entries.
//! - [`Limits`] with validation and a schema; [`RequestBudget`] and
//!   [`TokenBucket`] arithmetic.
//! - Header rules ([`headers`]); redirect decisions ([`Policy::redirect`])
//!   and what a hop strips ([`Hop::apply`], [`SecretRoute`]); secret
//!   placement ([`Injection::apply`]); cache rules ([`cache`]).
//! - [`NetError`], the one error type of egress, with its stable codes.
//! - [`Policy::explain`]: the ordered steps of a decision.
//! - The seams ([`SecretInjector`], [`LogSink`]) between transport and
//!   secrets.
//!
//! # Out of scope
//! Sockets, DNS, TLS, files, databases, clocks: see `fazt-transport` and
//! `fazt-secrets`.
//!
//! # Central decision
//! Entries and requests go through the same canonicalizer, the one the URL
//! parser itself uses ([`url::Host::parse`]). A host is checked in exactly the
//! form it will be resolved and connected to, so no spelling of a host can be
//! checked as one name and dialed as another.
//!
//! ```
//! use fazt_policy::{AllowEntry, Allowlist, Classifier, Limits, Policy};
//! let list: Allowlist = [AllowEntry::parse("api.stripe.com").unwrap()].into_iter().collect();
//! let policy = Policy::new(list, Classifier::new(), Limits::default()).unwrap();
//! let approved = policy.check_url(Some("shop"), "https://API.stripe.com./v1/charges").unwrap();
//! // After resolving the name, every address must pass.
//! let resolved = ["93.184.215.14".parse().unwrap()];
//! assert!(policy.check_addrs(approved.target.host(), &resolved).is_ok());
//! let private = ["10.0.0.1".parse().unwrap()];
//! assert!(policy.check_addrs(approved.target.host(), &private).is_err());
//! let err = policy.check_url(Some("shop"), "https://evil.example/").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "NET_BLOCKED: host evil.example is not on the allowlist for app \"shop\""
//! );
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod allowlist;
mod budget;
pub mod cache;
mod error;
mod explain;
pub mod headers;
mod hop;
mod host;
mod inject;
mod ip;
mod limits;
mod policy;
mod rate;
mod seams;
mod target;

pub use allowlist::{
    AllowEntry, Allowlist, AppId, EntryError, EntryOverrides, HostPattern, Lookup, Scope,
};
pub use budget::{millis, RequestBudget};
pub use error::{ErrorCode, NetError, UnknownErrorCode};
pub use explain::{Explanation, Step};
pub use hop::{is_redirect_status, Hop, RedirectMode, SecretRoute, CREDENTIAL_HEADERS};
pub use host::{CanonicalHost, HostError, HostProblem};
pub use inject::{
    check_secret_domain, check_secret_name, InjectAs, InjectAsError, Injection, InvalidSecretName,
    SecretValue, MAX_ENCODING_LAYERS, MAX_QUERY_KEY, REDACTED,
};
pub use ip::{classify_v4, classify_v6, embedded_ipv4, BlockReason, Classifier, IpClass, Verdict};
pub use ipnet::IpNet;
pub use limits::{FieldSchema, Limits, LimitsError};
pub use policy::{Approved, Policy};
pub use rate::TokenBucket;
pub use seams::{
    log_field, AllowlistSource, LogEntry, LogSink, NullSink, SecretInjector, LOG_FIELD_MAX,
};
pub use target::{Origin, Scheme, Target};
