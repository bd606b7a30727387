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
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// [`MAX_LOOKUP_THREADS`] lookups were already waiting on the system
    /// resolver.
    Busy {
        /// The limit in force.
        max: usize,
    },
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
            Some(t) => SYSTEM_LOOKUP_THREADS.run(lookup, t)?,
        };
        if addrs.is_empty() {
            Err(LookupError::NotFound)
        } else {
            Ok(addrs)
        }
    }
}

/// The most lookups waiting on the system resolver at once, in the process.
/// A lookup runs on a helper thread so that its call's deadline holds, and a
/// lookup that outlives its call keeps that thread until the resolver gives
/// up (seconds, when a name server does not answer): past this many, a
/// lookup is refused (`NET_LIMIT`, retryable, rule `lookups`) instead of
/// starting one more thread, so slow name servers cannot pile up threads
/// until the host can start none.
pub const MAX_LOOKUP_THREADS: usize = 64;

static SYSTEM_LOOKUP_THREADS: LookupThreads = LookupThreads::new(MAX_LOOKUP_THREADS);

/// Helper threads for lookups with a timeout, counted while they run.
#[derive(Debug)]
struct LookupThreads {
    live: AtomicUsize,
    max: usize,
}

/// One of [`LookupThreads`]' places, given back when its thread ends (or
/// could not start).
struct LookupThread(&'static LookupThreads);

impl Drop for LookupThread {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LookupThreads {
    const fn new(max: usize) -> Self {
        LookupThreads {
            live: AtomicUsize::new(0),
            max,
        }
    }

    /// Runs `lookup` on a helper thread and waits at most `timeout` for it.
    fn run(
        &'static self,
        lookup: impl FnOnce() -> Result<Vec<IpAddr>, LookupError> + Send + 'static,
        timeout: Duration,
    ) -> Result<Vec<IpAddr>, LookupError> {
        if self.live.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err(LookupError::Busy { max: self.max });
        }
        let place = LookupThread(self);
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("fazt-lookup".into())
            .spawn(move || {
                let _place = place;
                let _ = tx.send(lookup());
            })
            .map_err(|e| LookupError::Failed(format!("no thread for the lookup: {e}")))?;
        rx.recv_timeout(timeout).map_err(|_| LookupError::Timeout)?
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};
    use std::time::Instant;

    /// Lookups whose name server never answers outlive their calls: they
    /// hold at most `max` threads, and the next ones are refused at once
    /// instead of starting more. The places come back when the resolver
    /// finally answers.
    #[test]
    fn lookups_that_outlive_their_calls_hold_at_most_max_threads() {
        static THREADS: LookupThreads = LookupThreads::new(8);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let answers: Vec<_> = (0..20)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                THREADS.run(
                    move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        let (open, changed) = &*gate;
                        let mut open = open.lock().unwrap();
                        while !*open {
                            open = changed.wait(open).unwrap();
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(vec![])
                    },
                    Duration::from_millis(5),
                )
            })
            .collect();
        assert!(
            answers[..8].iter().all(|a| *a == Err(LookupError::Timeout)),
            "{answers:?}"
        );
        assert!(
            answers[8..]
                .iter()
                .all(|a| *a == Err(LookupError::Busy { max: 8 })),
            "{answers:?}"
        );
        assert!(
            peak.load(Ordering::SeqCst) <= 8,
            "{} threads",
            peak.load(Ordering::SeqCst)
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        let waited = Instant::now();
        while THREADS.live.load(Ordering::SeqCst) > 0 {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "the places came back"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            THREADS.run(move || Ok(vec![ip]), Duration::from_secs(5)),
            Ok(vec![ip])
        );
        // The refusal a call gets.
        let e = LookupError::Busy { max: 8 }.into_net_error("api.example.com");
        assert_eq!(e.code(), fazt_policy::ErrorCode::Limit);
        assert!(e.is_retryable());
        assert_eq!(e.rule(), "lookups");
        assert_eq!(
            e.to_string(),
            "NET_LIMIT: 8 name lookups already waiting on the system resolver (lookups)"
        );
    }
}
