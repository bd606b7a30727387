//! The redirect rules: which statuses are followed
//! ([`is_redirect_status`]), what a caller's redirect mode allows
//! ([`RedirectMode`]), what a followed hop strips from the request it
//! repeats ([`Hop::apply`]), and where an injected secret may go along the
//! chain ([`SecretRoute`]). Whether the next target may be called at all is
//! [`Policy::redirect`](crate::Policy::redirect)'s, which checks it like a
//! new request.

use crate::{Approved, InjectAs, Injection, NetError, Origin, Target};

/// What to do with a redirect response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedirectMode {
    /// Follow it, checking every hop like a new request (the default).
    #[default]
    Follow,
    /// Return the 3xx response as it is.
    Manual,
    /// Fail with `NET_BLOCKED`.
    Error,
}

/// Whether `status` is one a redirect is followed for (WHATWG fetch's
/// redirect statuses: 301, 302, 303, 307, 308). The one definition: the
/// transport's hop loop and [`Policy::redirect`](crate::Policy::redirect)
/// both ask it.
pub fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The next hop of a redirect, as [`Policy::redirect`](crate::Policy::redirect)
/// decided it.
#[derive(Clone, Debug)]
pub struct Hop {
    /// The approved next target.
    pub to: Approved,
    /// The method to use.
    pub method: String,
    /// Whether the request body is sent again.
    pub keep_body: bool,
    /// Whether the hop stays on the same origin.
    pub same_origin: bool,
}

/// Request headers that carry a caller's credentials: they never follow a
/// redirect to another origin.
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie"];

impl Hop {
    /// What the hop strips from the request it repeats, as fetch does:
    /// when the method changes, the body and every `content-*` header;
    /// on a hop to another origin, the credentials the caller set by hand
    /// ([`CREDENTIAL_HEADERS`]). `headers` have lowercase names, as
    /// [`sanitize_request_headers`](crate::headers::sanitize_request_headers)
    /// leaves them.
    pub fn apply(&self, headers: &mut Vec<(String, String)>, body: &mut Option<Vec<u8>>) {
        if !self.keep_body {
            *body = None;
            headers.retain(|(n, _)| !n.starts_with("content-"));
        }
        if !self.same_origin {
            headers.retain(|(n, _)| !CREDENTIAL_HEADERS.contains(&n.as_str()));
        }
    }
}

/// Where an injected secret may go along one redirect chain: only to the
/// origin it was resolved for, and once the chain has left that origin, to
/// nowhere for the rest of the chain (the other origin chose where the
/// chain goes next).
#[derive(Clone, Debug)]
pub struct SecretRoute {
    origin: Origin,
    left: bool,
}

impl SecretRoute {
    /// The route of a secret resolved for the chain's `first` target.
    pub fn new(first: &Target) -> Self {
        SecretRoute {
            origin: first.origin(),
            left: false,
        }
    }

    /// Whether the secret goes into the request to `to`. Ask for every
    /// request of the chain, in order: once one was to another origin, the
    /// answer stays no.
    pub fn admits(&mut self, to: &Target) -> bool {
        self.left |= to.origin() != self.origin;
        !self.left
    }

    /// The echo rule, applied to what
    /// [`Policy::redirect`](crate::Policy::redirect) `decided` for a
    /// response whose `Location` is `location`: a server may echo the
    /// secret into the `Location` (a redirector that keeps the query
    /// string, a login bounce that carries the whole URL, a host, a port
    /// or a path made of it, in any encoding); it must neither travel on
    /// to another origin nor come back inside an error about the
    /// `Location`.
    ///
    /// - A `Location` that holds the secret ([`Injection::is_in`], read as
    ///   the server sent it, before the URL parser rewrites it) is refused
    ///   when it fails the policy (a refusal about the `Location` would
    ///   quote it: a host, a port, an address made of the secret), leads
    ///   to another origin, or parses to a URL in which the secret is no
    ///   longer recognisable (the script would see it rewritten).
    /// - After a request that carried the secret in its query (`carried`,
    ///   with [`InjectAs::Query`](crate::InjectAs::Query)), no hop to
    ///   another origin is followed: every redirector may copy the URL, in
    ///   encodings no check can know (base64 in a login `state`).
    /// - Any other hop to another origin whose next URL holds the secret is
    ///   refused.
    ///
    /// A hop on the secret's own origin is followed as decided.
    ///
    /// # Errors
    /// [`NetError::SecretWouldLeave`], naming the secret's own host, or the
    /// refusal `decided` held.
    pub fn follow(
        &self,
        decided: Result<Option<Hop>, NetError>,
        location: Option<&str>,
        secret: &Injection,
        carried: bool,
    ) -> Result<Option<Hop>, NetError> {
        let leave = || NetError::SecretWouldLeave {
            host: self.origin.host.to_string(),
        };
        let echoed = location.is_some_and(|l| secret.is_in(l));
        let hop = match decided {
            // Refusals about the redirect itself name only this host.
            Err(e @ (NetError::RedirectNotAllowed { .. } | NetError::TooManyRedirects { .. })) => {
                return Err(e)
            }
            // Any other refusal is about the `Location`, and would quote it.
            Err(_) if echoed => return Err(leave()),
            other => other?,
        };
        let Some(next) = &hop else {
            return Ok(None);
        };
        let parsed = next.to.target.url().as_str();
        // The URL parser rewrote the echoed secret (a `\`, a `#`): what the
        // script would see of it is no longer recognisable, on any origin.
        if echoed && !secret.is_in(parsed) {
            return Err(leave());
        }
        if next.to.target.origin() == self.origin {
            return Ok(hop);
        }
        let query_secret = carried && matches!(secret.inject_as, InjectAs::Query(_));
        if echoed || query_secret || secret.is_in(parsed) {
            return Err(leave());
        }
        Ok(hop)
    }
}
