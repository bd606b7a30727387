//! The transport's errors: [`TransportError`] (a client that cannot be
//! built), and ureq, rustls, http, io and DNS failures mapped to
//! [`NetError`], the only place in the transport that makes a `NetError`
//! from a failure of the I/O below it (the policy's own refusals are made
//! in fazt-policy and only carried through here).

use std::time::Duration;

use fazt_policy::{IpNet, NetError};

#[cfg(doc)]
use crate::DangerousOptions;
use crate::LookupError;

/// Why a client could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// A root certificate could not be parsed.
    Certificate(String),
    /// The policy's classifier admits ranges of its own: operator
    /// `allow_ranges` reach the transport only through
    /// [`DangerousOptions::allow_ranges`].
    AllowRangesOutsideDangerous(Vec<IpNet>),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Certificate(e) => write!(f, "invalid root certificate: {e}"),
            TransportError::AllowRangesOutsideDangerous(ranges) => write!(
                f,
                "the policy's classifier admits {ranges:?}: allow_ranges reach the transport only through EgressBuilder::dangerous().allow_ranges()"
            ),
        }
    }
}

impl std::error::Error for TransportError {}

/// Context for the mapping: which host, which deadline and limits applied.
pub(crate) struct Ctx<'a> {
    pub(crate) host: &'a str,
    pub(crate) deadline: Duration,
    pub(crate) max_response: u64,
    pub(crate) max_headers: u64,
}

pub(crate) fn from_ureq(e: ureq::Error, ctx: &Ctx<'_>) -> NetError {
    let host = || ctx.host.to_string();
    match e {
        ureq::Error::Other(inner) => match inner.downcast::<NetError>() {
            Ok(net) => *net,
            Err(other) => NetError::Connection {
                host: host(),
                reason: other.to_string(),
            },
        },
        ureq::Error::Timeout(_) => timeout(ctx),
        ureq::Error::HostNotFound => NetError::Dns {
            host: host(),
            reason: "no addresses".into(),
        },
        ureq::Error::LargeResponseHeader(..) => NetError::ResponseHeadersTooLarge {
            host: host(),
            max: ctx.max_headers,
        },
        ureq::Error::BodyExceedsLimit(_) => response_too_large(ctx),
        ureq::Error::Rustls(e) => NetError::Tls {
            host: host(),
            reason: e.to_string(),
        },
        ureq::Error::Tls(e) => NetError::Tls {
            host: host(),
            reason: e.to_string(),
        },
        ureq::Error::Io(io) => from_io(io, ctx),
        ureq::Error::BadUri(reason) => NetError::InvalidUrl { reason },
        ureq::Error::Http(e) => NetError::InvalidUrl {
            reason: e.to_string(),
        },
        ureq::Error::Protocol(e) => NetError::Connection {
            host: host(),
            reason: format!("HTTP protocol error: {e}"),
        },
        other => NetError::Connection {
            host: host(),
            reason: other.to_string(),
        },
    }
}

pub(crate) fn from_io(io: std::io::Error, ctx: &Ctx<'_>) -> NetError {
    let host = || ctx.host.to_string();
    if matches!(
        io.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        return timeout(ctx);
    }
    if let Some(inner) = io.get_ref() {
        if let Some(net) = inner.downcast_ref::<NetError>() {
            return net.clone();
        }
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return NetError::Tls {
                host: host(),
                reason: tls.to_string(),
            };
        }
        if let Some(u) = inner.downcast_ref::<ureq::Error>() {
            if matches!(u, ureq::Error::Timeout(_)) {
                return timeout(ctx);
            }
            if let ureq::Error::BodyExceedsLimit(_) = u {
                return response_too_large(ctx);
            }
        }
    }
    NetError::Connection {
        host: host(),
        reason: io.to_string(),
    }
}

/// The request could not be built from the checked parts (a header value
/// the http crate refuses).
pub(crate) fn from_http(e: &ureq::http::Error) -> NetError {
    NetError::InvalidUrl {
        reason: e.to_string(),
    }
}

/// The response declared or sent more than the target's cap.
pub(crate) fn response_too_large(ctx: &Ctx<'_>) -> NetError {
    NetError::ResponseTooLarge {
        host: ctx.host.to_string(),
        max: ctx.max_response,
    }
}

/// The call's deadline passed.
pub(crate) fn timeout(ctx: &Ctx<'_>) -> NetError {
    NetError::Timeout {
        host: ctx.host.to_string(),
        after_ms: fazt_policy::millis(ctx.deadline),
    }
}

impl LookupError {
    /// The egress error for a failed lookup of `host`: a timeout is
    /// `NET_TIMEOUT`, anything else `NET_ERROR`.
    pub fn into_net_error(self, host: &str) -> NetError {
        let host = host.to_string();
        match self {
            LookupError::Timeout => NetError::DnsTimeout { host },
            LookupError::NotFound => NetError::Dns {
                host,
                reason: "no addresses".into(),
            },
            LookupError::Failed(reason) => NetError::Dns { host, reason },
            LookupError::Busy { max } => NetError::LookupsInFlight {
                max: u32::try_from(max).unwrap_or(u32::MAX),
            },
        }
    }
}
