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

use crate::kept::KeptThreads;
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
    /// resolver, or [`MAX_LOOKUP_THREADS_PER_APP`] of the calling app's.
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
            Some(t) => SYSTEM_LOOKUP_THREADS.run(&lookup_app(), lookup, t)?,
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

/// The most of [`MAX_LOOKUP_THREADS`] one app's calls may hold (calls made
/// without an app share one such share): an app whose names resolve
/// through a name server that never answers fills its own share, not the
/// others'.
pub const MAX_LOOKUP_THREADS_PER_APP: usize = 16;

/// The threads lookups run on, kept between lookups (a thread started per
/// lookup cost tens of microseconds on every call).
static LOOKUP_KEPT: KeptThreads = KeptThreads::new("fazt-lookup", Duration::from_secs(10));

static SYSTEM_LOOKUP_THREADS: LookupThreads =
    LookupThreads::new(MAX_LOOKUP_THREADS, MAX_LOOKUP_THREADS_PER_APP);

thread_local! {
    /// The app whose call is being made on this thread (ureq asks the
    /// resolver on the calling thread): set by the transport around each
    /// hop ([`for_app`]), read by [`SystemLookup`].
    static LOOKUP_APP: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Runs `f` with lookups on this thread counted as `app`'s.
pub(crate) fn for_app<T>(app: Option<&str>, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LOOKUP_APP.with(|a| a.borrow_mut().clear());
        }
    }
    LOOKUP_APP.with(|a| {
        let mut a = a.borrow_mut();
        a.clear();
        a.push_str(app.unwrap_or(""));
    });
    let _reset = Reset;
    f()
}

/// The app lookups on this thread are counted as (`""`: none).
fn lookup_app() -> String {
    LOOKUP_APP.with(|a| a.borrow().clone())
}

/// Helper threads for lookups with a timeout, counted while they run, in
/// all and per app.
#[derive(Debug)]
struct LookupThreads {
    live: AtomicUsize,
    max: usize,
    per_app: std::sync::Mutex<Option<HashMap<String, usize>>>,
    max_per_app: usize,
}

/// One of [`LookupThreads`]' places, given back when its thread ends (or
/// could not start).
struct LookupThread {
    threads: &'static LookupThreads,
    app: String,
}

impl Drop for LookupThread {
    fn drop(&mut self) {
        self.threads.live.fetch_sub(1, Ordering::AcqRel);
        let mut per_app = self.threads.per_app();
        if let Some(map) = per_app.as_mut() {
            if let Some(n) = map.get_mut(&self.app) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.app);
                }
            }
        }
    }
}

impl LookupThreads {
    const fn new(max: usize, max_per_app: usize) -> Self {
        LookupThreads {
            live: AtomicUsize::new(0),
            max,
            per_app: std::sync::Mutex::new(None),
            max_per_app,
        }
    }

    fn per_app(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, usize>>> {
        self.per_app
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a place for one of `app`'s lookups, or says which limit is
    /// full.
    fn take(&'static self, app: &str) -> Result<LookupThread, LookupError> {
        let mut per_app = self.per_app();
        let map = per_app.get_or_insert_with(HashMap::new);
        let held = map.get(app).copied().unwrap_or(0);
        if held >= self.max_per_app {
            return Err(LookupError::Busy {
                max: self.max_per_app,
            });
        }
        if self.live.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err(LookupError::Busy { max: self.max });
        }
        map.insert(app.to_string(), held + 1);
        Ok(LookupThread {
            threads: self,
            app: app.to_string(),
        })
    }

    /// Runs `lookup` for `app` on a helper thread and waits at most
    /// `timeout` for it.
    fn run(
        &'static self,
        app: &str,
        lookup: impl FnOnce() -> Result<Vec<IpAddr>, LookupError> + Send + 'static,
        timeout: Duration,
    ) -> Result<Vec<IpAddr>, LookupError> {
        let place = self.take(app)?;
        let (tx, rx) = mpsc::sync_channel(1);
        LOOKUP_KEPT
            .run(Box::new(move || {
                let _place = place;
                let _ = tx.send(lookup());
            }))
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

    /// A lookup whose name server never answers (until `gate` opens),
    /// counting the helper threads running it in `running` and their peak
    /// in `peak`.
    fn stuck(
        gate: &Arc<(Mutex<bool>, Condvar)>,
        running: &Arc<AtomicUsize>,
        peak: &Arc<AtomicUsize>,
    ) -> impl FnOnce() -> Result<Vec<IpAddr>, LookupError> + Send + 'static {
        let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
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
        }
    }

    /// Lookups whose name server never answers outlive their calls: they
    /// hold at most `max` threads in all and `max_per_app` per app, the
    /// next ones are refused at once instead of starting more, and one
    /// app's full share leaves the others theirs. The places come back when
    /// the resolver finally answers.
    #[test]
    fn lookups_that_outlive_their_calls_hold_at_most_max_threads() {
        static THREADS: LookupThreads = LookupThreads::new(8, 3);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let short = Duration::from_millis(5);
        let run = |app: &str| THREADS.run(app, stuck(&gate, &running, &peak), short);
        let busy_app = Err(LookupError::Busy { max: 3 });
        let busy_all = Err(LookupError::Busy { max: 8 });
        // One app: three places, then refused.
        let shop: Vec<_> = (0..6).map(|_| run("shop")).collect();
        assert!(
            shop[..3].iter().all(|a| *a == Err(LookupError::Timeout)),
            "{shop:?}"
        );
        assert!(shop[3..].iter().all(|a| *a == busy_app), "{shop:?}");
        // The others still have theirs, until all eight are taken.
        let others: Vec<_> = ["a", "a", "a", "b", "b", "c", "d"]
            .iter()
            .map(|app| run(app))
            .collect();
        assert!(
            others[..5].iter().all(|a| *a == Err(LookupError::Timeout)),
            "{others:?}"
        );
        assert_eq!(others[5], busy_all, "{others:?}");
        assert_eq!(others[6], busy_all, "{others:?}");
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
        assert_eq!(THREADS.per_app().as_ref().map(HashMap::len), Some(0));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            THREADS.run("shop", move || Ok(vec![ip]), Duration::from_secs(5)),
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

    /// The app the transport names around a hop is the one lookups on that
    /// thread are counted as, and only for that hop.
    #[test]
    fn lookups_are_counted_as_the_calling_apps() {
        assert_eq!(lookup_app(), "");
        assert_eq!(for_app(Some("shop"), lookup_app), "shop");
        assert_eq!(lookup_app(), "");
        assert_eq!(for_app(None, lookup_app), "");
    }
}
