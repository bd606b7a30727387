//! Name resolution, checked: every answer goes through the client's
//! classifier before ureq may dial it.
//!
//! [`NameLookup`] is the pluggable lookup (the system resolver, or fixed answers
//! for tests and `--resolve`); [`CheckingResolver`] is the ureq
//! [`Resolver`](ureq::unversioned::resolver::Resolver) that calls it once per
//! connection attempt, refuses the whole answer if any address is blocked,
//! and hands ureq exactly the addresses it checked.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use fazt_policy::{CanonicalHost, Classifier, NetError};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Why a lookup failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// The name has no addresses.
    NotFound,
    /// The lookup did not finish in time.
    Timeout,
    /// The resolver failed.
    Failed(String),
}

/// Looks a host name up. Implementations must not consult anything the
/// caller controls beyond the name.
pub trait NameLookup: Send + Sync + fmt::Debug + 'static {
    /// The addresses of `host`; `timeout` is the time left for the call.
    fn resolve(&self, host: &str, timeout: Option<Duration>) -> Result<Vec<IpAddr>, LookupError>;
}

/// The operating system's resolver (`getaddrinfo`), run on a helper thread
/// when a timeout applies so that a slow lookup cannot outlive the call.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemLookup;

impl NameLookup for SystemLookup {
    fn resolve(&self, host: &str, timeout: Option<Duration>) -> Result<Vec<IpAddr>, LookupError> {
        let name = format!("{host}:0");
        let lookup = move || {
            name.to_socket_addrs()
                .map(|it| it.map(|a| a.ip()).collect::<Vec<_>>())
                .map_err(|e| LookupError::Failed(e.to_string()))
        };
        let addrs = match timeout {
            None => lookup()?,
            Some(t) => {
                let (tx, rx) = mpsc::sync_channel(1);
                std::thread::spawn(move || tx.send(lookup()));
                rx.recv_timeout(t).map_err(|_| LookupError::Timeout)??
            }
        };
        if addrs.is_empty() {
            Err(LookupError::NotFound)
        } else {
            Ok(addrs)
        }
    }
}

/// Fixed answers, for tests and the CLI's `--resolve HOST=IP`. Names not in
/// the table are passed to a fallback resolver, or not found.
#[derive(Debug, Default)]
pub struct StaticLookup {
    table: HashMap<String, Vec<IpAddr>>,
    fallback: Option<Arc<dyn NameLookup>>,
}

impl StaticLookup {
    /// An empty table with no fallback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `host` (canonicalized) with `addrs`.
    pub fn with(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        let key = CanonicalHost::parse(host)
            .map_or_else(|_| host.to_ascii_lowercase(), |h| h.to_string());
        self.table.entry(key).or_default().extend(addrs);
        self
    }

    /// Asks `fallback` for names not in the table.
    pub fn with_fallback(mut self, fallback: Arc<dyn NameLookup>) -> Self {
        self.fallback = Some(fallback);
        self
    }
}

impl NameLookup for StaticLookup {
    fn resolve(&self, host: &str, timeout: Option<Duration>) -> Result<Vec<IpAddr>, LookupError> {
        match (self.table.get(host), &self.fallback) {
            (Some(addrs), _) => Ok(addrs.clone()),
            (None, Some(f)) => f.resolve(host, timeout),
            (None, None) => Err(LookupError::NotFound),
        }
    }
}

/// The ureq resolver that resolves once and checks every address.
#[derive(Debug)]
pub(crate) struct CheckingResolver {
    pub(crate) inner: Arc<dyn NameLookup>,
    /// The client's one classifier, built with it and never swapped.
    pub(crate) classifier: Arc<Classifier>,
}

impl Resolver for CheckingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") {
                80
            } else {
                443
            });
        let host = CanonicalHost::parse(host).map_err(|e| wrap(e.into()))?;
        let limit = (!timeout.after.is_not_happening()).then(|| *timeout.after);
        let addrs = self
            .inner
            .resolve(host.as_str(), limit)
            .map_err(|e| wrap(e.into_net_error(host.as_str())))?;
        self.classifier.check_addrs(&host, &addrs).map_err(wrap)?;
        let mut out = self.empty();
        // ureq keeps at most 16 addresses; all of them were checked above.
        for ip in addrs.into_iter().take(16) {
            out.push(SocketAddr::new(ip, port));
        }
        Ok(out)
    }
}

/// Carries a policy refusal through ureq, to be unwrapped by
/// [`crate::error::from_ureq`].
pub(crate) fn wrap(e: NetError) -> ureq::Error {
    ureq::Error::Other(Box::new(e))
}
