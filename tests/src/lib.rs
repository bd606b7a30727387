//! Loopback upstreams for end-to-end tests and benchmarks: local
//! HTTP(S) servers (TLS with a CA generated at run time), an in-memory
//! secret injector, a recording log sink, a policy over test entries, and
//! a client builder that reaches the upstreams on loopback
//! ([`loopback_client`]); and the shared test vectors ([`vectors`]).
//!
//! Nothing here touches any address but `127.0.0.0/8`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A test harness fails loudly: panicking on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fazt_policy::{
    AllowEntry, Allowlist, CanonicalHost, Classifier, EntryOverrides, HostPattern, InjectAs,
    Injection, IpNet, Limits, LogEntry, LogSink, NetError, Policy, SecretInjector, SecretValue,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub mod vectors;

/// Host names the test certificate covers.
pub const TEST_NAMES: &[&str] = &[
    "api.test",
    "other.test",
    "*.api.test",
    "slow.test",
    "big.test",
];

/// A certificate authority made for one test run, and a server certificate
/// it signed for [`TEST_NAMES`].
#[derive(Debug)]
pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// Generates a CA and a server certificate for [`TEST_NAMES`].
    pub fn new() -> TestCa {
        Self::with_names(TEST_NAMES)
    }

    /// Generates a CA and a server certificate for `names`.
    pub fn with_names(names: &[&str]) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fazt test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            server_chain: vec![cert.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                self.server_chain.clone(),
                PrivateKeyDer::Pkcs8(self.server_key.clone_key()),
            )
            .unwrap();
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A request as the upstream saw it.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Seen {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the upstream answers.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (Content-Length is added unless `raw` is used).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Written verbatim instead of the above (for lying or broken answers).
    pub raw: Option<Vec<u8>>,
    /// Write the bytes one at a time with this pause between them.
    pub drip: Option<Duration>,
}

impl Reply {
    /// A 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200).body(body)
    }

    /// An empty answer with `status`.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            raw: None,
            drip: None,
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    /// Raw bytes instead of a well-formed answer.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            raw: Some(bytes.into()),
            ..Reply::status(200)
        }
    }

    /// Drips the answer one byte at a time.
    pub fn drip(mut self, pause: Duration) -> Reply {
        self.drip = Some(pause);
        self
    }

    fn bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = format!("HTTP/1.1 {} X\r\n", self.status).into_bytes();
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// Counters an upstream keeps.
#[derive(Debug, Default)]
pub struct Stats {
    /// TCP connections accepted.
    pub accepted: AtomicUsize,
    /// Connections open right now.
    pub open: AtomicUsize,
    /// Most connections open at once.
    pub peak: AtomicUsize,
    /// Requests served.
    pub requests: AtomicUsize,
}

/// A local HTTP(S) server on `127.0.0.1` with a handler per request.
#[derive(Debug)]
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    /// Every request it saw.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// A TLS upstream with a certificate from `ca`.
    pub fn tls(ca: &TestCa, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        Self::start("127.0.0.1", Some(ca.server_config()), Arc::new(handler))
    }

    /// A plain-HTTP upstream.
    pub fn plain(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        Self::start("127.0.0.1", None, Arc::new(handler))
    }

    /// A plain-HTTP upstream on another loopback address (e.g. 127.0.0.2).
    pub fn plain_on(
        ip: &str,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Upstream {
        Self::start(ip, None, Arc::new(handler))
    }

    fn start(ip: &str, tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Upstream {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, sn) = (Arc::clone(&stats), Arc::clone(&seen));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                st.accepted.fetch_add(1, Ordering::SeqCst);
                let open = st.open.fetch_add(1, Ordering::SeqCst) + 1;
                st.peak.fetch_max(open, Ordering::SeqCst);
                let (st, sn, handler, tls) = (
                    Arc::clone(&st),
                    Arc::clone(&sn),
                    Arc::clone(&handler),
                    tls.clone(),
                );
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(15)));
                    match tls {
                        Some(cfg) => {
                            let Ok(server) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            let stream = rustls::StreamOwned::new(server, conn);
                            serve(stream, &handler, &st, &sn);
                        }
                        None => serve(conn, &handler, &st, &sn),
                    }
                    st.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Upstream { addr, stats, seen }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }
}

/// Serves keep-alive requests on one connection until it closes.
fn serve<S: Read + Write>(
    stream: S,
    handler: &Arc<Handler>,
    stats: &Stats,
    seen: &Mutex<Vec<Seen>>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        stats.requests.fetch_add(1, Ordering::SeqCst);
        seen.lock().unwrap().push(req.clone());
        let reply = handler(&req);
        let bytes = reply.bytes();
        let out = reader.get_mut();
        let written = match reply.drip {
            Some(pause) => bytes.iter().try_for_each(|b| {
                out.write_all(&[*b])?;
                out.flush()?;
                std::thread::sleep(pause);
                Ok::<_, std::io::Error>(())
            }),
            None => out.write_all(&bytes).and_then(|_| out.flush()),
        };
        if written.is_err() || reply.raw.is_some() {
            return;
        }
    }
}

fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

/// Allowlist entries for tests, as `(entry, rules)`.
pub fn allowlist(entries: &[(&str, EntryOverrides)]) -> Allowlist {
    entries
        .iter()
        .map(|(e, r)| AllowEntry::parse(e).unwrap().with_overrides(*r).unwrap())
        .collect()
}

/// A policy over `list` with `limits` and the built-in classifier; the
/// client admits the test upstreams' loopback address
/// ([`loopback_range`]) through its `dangerous()` options.
pub fn test_policy(list: Allowlist, limits: Limits) -> Policy {
    Policy::new(list, Classifier::new(), limits).unwrap()
}

/// `127.0.0.1/32`: where every test upstream listens, admitted by test
/// clients with `dangerous().allow_ranges(..)`.
pub fn loopback_range() -> IpNet {
    IpNet::from(localhost())
}

/// `127.0.0.1`.
pub fn localhost() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// Opens a raw TCP connection (for tests that probe listeners).
pub fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
}

/// Secrets held in memory, for tests: name -> (mode, value, domain).
#[derive(Debug, Default)]
pub struct MemorySecrets {
    secrets: Mutex<Vec<SecretRow>>,
}

/// Name, mode, value, domain binding.
type SecretRow = (String, InjectAs, String, Option<HostPattern>);

impl MemorySecrets {
    /// Adds a secret, optionally bound to a domain pattern.
    pub fn with(self, name: &str, inject_as: InjectAs, value: &str, domain: Option<&str>) -> Self {
        let domain = domain.map(|d| HostPattern::parse(d).unwrap());
        self.secrets
            .lock()
            .unwrap()
            .push((name.into(), inject_as, value.into(), domain));
        self
    }
}

impl SecretInjector for MemorySecrets {
    fn resolve(
        &self,
        _app: Option<&str>,
        name: &str,
        host: &CanonicalHost,
    ) -> Result<Injection, NetError> {
        let secrets = self.secrets.lock().unwrap();
        let (_, inject_as, value, domain) = secrets
            .iter()
            .find(|(n, ..)| n == name)
            .ok_or_else(|| NetError::SecretMissing { name: name.into() })?;
        fazt_policy::check_secret_domain(name, domain.as_ref(), host)?;
        Ok(Injection {
            inject_as: inject_as.clone(),
            value: SecretValue::new(value.clone()),
        })
    }
}

/// A log sink that keeps every entry.
#[derive(Debug, Default)]
pub struct RecordingSink {
    /// The entries, in order.
    pub entries: Mutex<Vec<LogEntry>>,
}

impl LogSink for RecordingSink {
    fn record(&self, entry: LogEntry) {
        self.entries.lock().unwrap().push(entry);
    }
}

/// A client builder for `policy` that resolves each of `names` to
/// 127.0.0.1, trusts `ca`'s root, and counts none of the machine's
/// addresses as its own (the upstreams live on loopback).
pub fn loopback_client(
    policy: Policy,
    ca: &TestCa,
    names: &[&str],
) -> fazt_transport::EgressBuilder {
    let resolver = names
        .iter()
        .fold(fazt_transport::StaticLookup::new(), |r, n| {
            r.with(n, [localhost()])
        });
    fazt_transport::EgressClient::builder(policy)
        .dangerous()
        .lookup(Arc::new(resolver))
        .own_addresses(Vec::new())
        .allow_ranges([loopback_range()])
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .finish()
}

/// Times the two sides of a ratio in the same time windows.
///
/// On a shared VM the machine's speed drifts over seconds, so two benchmarks
/// taken one after the other can disagree by more than the effect being
/// measured. Each call of [`SameWindows::run`] runs both sides in
/// alternating blocks of [`SameWindows::BLOCK`] calls, adds both to running
/// totals, and returns the time of the side the caller is benchmarking;
/// [`SameWindows::ratio`] is then the ratio of totals taken side by side.
#[derive(Debug, Default)]
pub struct SameWindows {
    totals: [Duration; 2],
}

impl SameWindows {
    /// Calls of one side in a row: enough to keep that side's caches warm.
    pub const BLOCK: u64 = 16;

    /// Runs `iters` calls of `base` and of `other`, in alternating blocks;
    /// returns the time spent in `base` (`side` 0) or in `other` (`side` 1).
    pub fn run(
        &mut self,
        iters: u64,
        side: usize,
        mut base: impl FnMut(),
        mut other: impl FnMut(),
    ) -> Duration {
        let mut spent = [Duration::ZERO; 2];
        let mut left = iters;
        while left > 0 {
            let n = left.min(Self::BLOCK);
            let start = std::time::Instant::now();
            (0..n).for_each(|_| base());
            spent[0] += start.elapsed();
            let start = std::time::Instant::now();
            (0..n).for_each(|_| other());
            spent[1] += start.elapsed();
            left -= n;
        }
        self.totals[0] += spent[0];
        self.totals[1] += spent[1];
        spent[side]
    }

    /// Total time of `other` over total time of `base`, once both ran.
    pub fn ratio(&self) -> Option<f64> {
        (!self.totals[0].is_zero())
            .then(|| self.totals[1].as_secs_f64() / self.totals[0].as_secs_f64())
    }
}
