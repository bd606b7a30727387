//! [`EgressBuilder`]: how a client is configured. Every option that weakens
//! a default sits behind one door, [`EgressBuilder::dangerous`], so that a
//! reviewer finds each use with one search.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use fazt_policy::{AllowlistSource, IpNet, LogSink, Policy, SecretInjector};
use parking_lot::RwLock;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::cache::Cache;
use crate::client::{EgressClient, Inner};
use crate::error::TransportError;
use crate::ratelimit::RateLimits;
use crate::resolve::{CheckingResolver, NameLookup, SystemLookup};
use crate::slots::Slots;
use crate::TracingSink;

/// Connect timeout, whatever the call's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds an [`EgressClient`]: [`EgressClient::builder`].
pub struct EgressBuilder {
    policy: Policy,
    secrets: Option<Arc<dyn SecretInjector>>,
    log: Arc<dyn LogSink>,
    source: Option<Arc<dyn AllowlistSource>>,
    dangerous: Weakened,
}

/// What [`DangerousOptions`] changed; nothing by default.
struct Weakened {
    lookup: Option<Arc<dyn NameLookup>>,
    extra_roots: Vec<Certificate<'static>>,
    own_addresses: Option<Vec<IpAddr>>,
    allow_ranges: Vec<IpNet>,
}

/// Options that weaken a default, behind [`EgressBuilder::dangerous`] so a
/// reviewer can find every use. Each says what it gives away.
pub struct DangerousOptions {
    builder: EgressBuilder,
}

impl EgressBuilder {
    pub(crate) fn new(policy: Policy) -> Self {
        EgressBuilder {
            policy,
            secrets: None,
            log: Arc::new(TracingSink),
            source: None,
            dangerous: Weakened {
                lookup: None,
                extra_roots: Vec::new(),
                own_addresses: None,
                allow_ranges: Vec::new(),
            },
        }
    }

    /// Resolves `auth` names through `secrets`.
    pub fn secrets(mut self, secrets: Arc<dyn SecretInjector>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Sends one entry per call to `sink` (default: [`TracingSink`]).
    pub fn log_sink(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.log = sink;
        self
    }

    /// Polls `source` before each call and swaps in the allowlist it
    /// returns, so edits made elsewhere apply without a restart.
    pub fn allowlist_source(mut self, source: Arc<dyn AllowlistSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Options that weaken a default: the one door to them.
    pub fn dangerous(self) -> DangerousOptions {
        DangerousOptions { builder: self }
    }

    /// Builds the client. Its classifier is built here, once: the policy's
    /// (deny ranges), the host's own addresses, and the
    /// [`allow_ranges`](DangerousOptions::allow_ranges); the checking
    /// resolver and [`EgressClient::policy`] share it.
    ///
    /// # Errors
    /// [`TransportError::AllowRangesOutsideDangerous`] when the policy's
    /// classifier already admits ranges.
    pub fn build(self) -> Result<EgressClient, TransportError> {
        let Weakened {
            lookup,
            extra_roots,
            own_addresses,
            allow_ranges,
        } = self.dangerous;
        if !self.policy.classifier().allow_ranges().is_empty() {
            return Err(TransportError::AllowRangesOutsideDangerous(
                self.policy.classifier().allow_ranges().to_vec(),
            ));
        }
        let limits = *self.policy.limits();
        let own = own_addresses.unwrap_or_else(interface_addresses);
        let classifier = Arc::new(
            self.policy
                .classifier()
                .clone()
                .with_own_addresses(own)
                .with_allow_ranges(allow_ranges),
        );
        let policy = self.policy.with_classifier(Arc::clone(&classifier));
        let roots = if extra_roots.is_empty() {
            RootCerts::WebPki
        } else {
            let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned());
            RootCerts::from(mozilla.chain(extra_roots))
        };
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(false)
            .accept_encoding("identity")
            .user_agent(concat!("fazt-egress/", env!("CARGO_PKG_VERSION")))
            .allow_non_standard_methods(true)
            .max_response_header_size(
                usize::try_from(limits.max_response_headers).unwrap_or(usize::MAX),
            )
            .max_idle_connections(20)
            .max_idle_connections_per_host(2)
            .max_idle_age(Duration::from_secs(10))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let resolver = CheckingResolver {
            inner: lookup.unwrap_or_else(|| Arc::new(SystemLookup)),
            classifier,
        };
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            resolver,
        );
        Ok(EgressClient {
            inner: Arc::new(Inner {
                agent,
                policy: RwLock::new(Arc::new(policy)),
                slots: Arc::new(Slots::default()),
                rates: RateLimits::new(),
                cache: Cache::new(limits.cache_max_items, limits.cache_max_bytes),
                secrets: self.secrets,
                log: self.log,
                source: self.source,
            }),
        })
    }
}

impl DangerousOptions {
    /// Trusts these PEM root certificates in addition to Mozilla's (private
    /// CAs, tests). Anyone holding such a CA's key can impersonate any host.
    ///
    /// # Errors
    /// [`TransportError::Certificate`], as [`parse_pem_roots`].
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, TransportError> {
        self.builder
            .dangerous
            .extra_roots
            .extend(parse_pem_roots(pem)?);
        Ok(self)
    }

    /// Admits these ranges although the special-purpose tables block them
    /// (an operator's own network, loopback upstreams in tests). A script
    /// can then reach whatever listens there under an allowlisted name.
    pub fn allow_ranges(mut self, ranges: impl IntoIterator<Item = IpNet>) -> Self {
        self.builder.dangerous.allow_ranges.extend(ranges);
        self
    }

    /// Uses `lookup` instead of the system's: fixed answers (tests,
    /// `--resolve`) or another lookup. Its answers are still checked, but it
    /// decides which public address a name reaches.
    pub fn lookup(mut self, lookup: Arc<dyn NameLookup>) -> Self {
        self.builder.dangerous.lookup = Some(lookup);
        self
    }

    /// Uses these as the host's own addresses instead of reading the
    /// interfaces (tests, containers with a known public address). An own
    /// address left out can be called through a public name.
    pub fn own_addresses(mut self, addrs: Vec<IpAddr>) -> Self {
        self.builder.dangerous.own_addresses = Some(addrs);
        self
    }

    /// Back to the safe options.
    pub fn finish(self) -> EgressBuilder {
        self.builder
    }
}

/// The certificates in PEM input, as
/// [`add_root_certificates_pem`](DangerousOptions::add_root_certificates_pem)
/// reads them: a host can check a file before it writes anything.
///
/// # Errors
/// [`TransportError::Certificate`] for input that does not parse or holds
/// no certificate.
pub fn parse_pem_roots(pem: &[u8]) -> Result<Vec<Certificate<'static>>, TransportError> {
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let ureq::tls::PemItem::Certificate(c) =
            item.map_err(|e| TransportError::Certificate(e.to_string()))?
        {
            roots.push(c);
        }
    }
    if roots.is_empty() {
        return Err(TransportError::Certificate(
            "no certificate in PEM input".into(),
        ));
    }
    Ok(roots)
}

/// The addresses of this host's interfaces; empty if they cannot be read
/// (then only the built-in tables protect the host's public addresses).
fn interface_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

impl std::fmt::Debug for EgressBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressBuilder")
            .field("lookup", &self.dangerous.lookup)
            .field("extra_roots", &self.dangerous.extra_roots.len())
            .field("allow_ranges", &self.dangerous.allow_ranges)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DangerousOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.builder.fmt(f)
    }
}
