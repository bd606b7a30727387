//! [`EgressClient`]: the policy composed with ureq.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fazt_policy::cache;
use fazt_policy::headers::{normalize_method, sanitize_request_headers, ResponseHeaders};
use fazt_policy::{
    log_field, Allowlist, AllowlistSource, Approved, InjectAs, Injection, Limits, LogEntry,
    LogSink, NetError, Policy, RequestBudget, SecretInjector,
};
use parking_lot::RwLock;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::budget::{Counted, SharedBudget};
use crate::cache::Cache;
use crate::errors::{from_io, from_ureq, Ctx};
use crate::ratelimit::RateLimits;
use crate::resolve::{CheckingResolver, Resolve, SystemResolver};
use crate::slots::Slots;
use crate::{RedirectMode, Request, Response, TracingSink};

/// Connect timeout, whatever the call's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The hardened HTTP client. Cheap to clone; clones share pools, slots,
/// rate limits and the cache.
#[derive(Clone)]
pub struct EgressClient {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    policy: Arc<RwLock<Arc<Policy>>>,
    slots: Arc<Slots>,
    rates: RateLimits,
    cache: Option<Cache>,
    secrets: Option<Arc<dyn SecretInjector>>,
    log: Arc<dyn LogSink>,
    source: Option<Arc<dyn AllowlistSource>>,
}

/// Builds an [`EgressClient`].
pub struct EgressBuilder {
    policy: Policy,
    resolver: Arc<dyn Resolve>,
    secrets: Option<Arc<dyn SecretInjector>>,
    log: Arc<dyn LogSink>,
    extra_roots: Vec<Certificate<'static>>,
    own_addresses: Option<Vec<IpAddr>>,
    source: Option<Arc<dyn AllowlistSource>>,
}

/// Options that weaken a default, behind [`EgressBuilder::dangerous`] so a
/// reviewer can find every use.
pub struct DangerousOptions {
    builder: EgressBuilder,
}

/// Why a client could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// A root certificate could not be parsed.
    Certificate(String),
}

impl EgressClient {
    /// Starts building a client around `policy`.
    pub fn builder(policy: Policy) -> EgressBuilder {
        EgressBuilder {
            policy,
            resolver: Arc::new(SystemResolver),
            secrets: None,
            log: Arc::new(TracingSink),
            extra_roots: Vec::new(),
            own_addresses: None,
            source: None,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.inner.policy.read())
    }

    /// Replaces the allowlist; calls that already started keep the old one.
    pub fn set_allowlist(&self, allowlist: Allowlist) {
        let mut slot = self.inner.policy.write();
        let p = Policy::clone(&slot).with_allowlist(allowlist);
        *slot = Arc::new(p);
    }

    /// Replaces the limits checked per call (body and response sizes,
    /// timeouts, redirects, concurrency); calls that already started keep
    /// the old ones. Limits out of range are ignored: the ones in force
    /// stay. Settings fixed when the client was built (the cache's size)
    /// do not change.
    pub fn set_limits(&self, limits: Limits) {
        let mut slot = self.inner.policy.write();
        if let Ok(p) = Policy::clone(&slot).with_limits(limits) {
            *slot = Arc::new(p);
        }
    }

    /// Makes one call for `app` under `budget`.
    ///
    /// The call counts toward `max_calls` even when it is refused. Its
    /// deadline is min(call timeout or the entry's, budget left, the
    /// caller's timeout); the time it spends on the network is charged to
    /// `budget`. One [`LogEntry`] is recorded whatever the outcome.
    pub fn fetch(
        &self,
        app: Option<&str>,
        req: Request,
        budget: &mut RequestBudget,
    ) -> Result<Response, NetError> {
        self.logged(app, req, Charge::Own(budget))
    }

    /// Makes one call for `app` that was counted with
    /// [`SharedBudget::count_call`], charged to that budget, which calls in
    /// flight at the same time share (see [`SharedBudget`]). Otherwise as
    /// [`fetch`](Self::fetch).
    pub fn fetch_counted(
        &self,
        app: Option<&str>,
        req: Request,
        counted: Counted,
    ) -> Result<Response, NetError> {
        self.logged(app, req, Charge::Shared(counted.budget()))
    }

    fn logged(
        &self,
        app: Option<&str>,
        req: Request,
        mut budget: Charge<'_>,
    ) -> Result<Response, NetError> {
        let started = Instant::now();
        // Only what passed its check is logged, bounded: a script chooses
        // the method, host and path it calls.
        let url_ok = self
            .policy()
            .limits()
            .check_url_length(req.url.len())
            .is_ok();
        let (host, path) = if url_ok {
            log_host_path(&req.url)
        } else {
            (String::new(), String::new())
        };
        let mut log = LogEntry {
            app: app.map(str::to_string),
            host: log_field(&host),
            method: NO_METHOD.to_string(),
            path: log_field(&path),
            status: None,
            error: None,
            duration_ms: 0,
            bytes_in: 0,
            bytes_out: req.body.as_ref().map_or(0, |b| b.len() as u64),
            cache_hit: false,
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        let result = self.fetch_logged(app, req, &mut budget, &mut log);
        log.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(r) => {
                log.status = Some(r.status);
                log.bytes_in = r.body.len() as u64;
                log.cache_hit = r.from_cache;
            }
            Err(e) => log.error = Some(e.code()),
        }
        self.inner.log.record(log);
        result
    }

    fn fetch_logged(
        &self,
        app: Option<&str>,
        req: Request,
        budget: &mut Charge<'_>,
        log: &mut LogEntry,
    ) -> Result<Response, NetError> {
        budget.count()?;
        if let Some(source) = self.inner.source.as_ref() {
            if let Some(list) = source.poll() {
                self.set_allowlist(list);
            }
            if let Some(limits) = source.poll_limits() {
                self.set_limits(limits);
            }
        }
        let policy = self.policy();
        let limits = policy.limits();
        limits.check_url_length(req.url.len())?;
        let method = normalize_method(if req.method.is_empty() {
            "GET"
        } else {
            &req.method
        })?;
        log.method = log_field(&method);
        let approved = policy.check_url(app, &req.url)?;
        log.host = log_field(approved.target.host().as_str());
        log.path = log_field(approved.target.path());
        let headers = sanitize_request_headers(req.headers.iter().map(|(n, v)| (n, v)))?;
        if let Some(body) = &req.body {
            limits.check_request_body(body.len() as u64)?;
        }
        let injection = match &req.auth {
            None => None,
            Some(name) => {
                let secrets = self
                    .inner
                    .secrets
                    .as_ref()
                    .ok_or_else(|| NetError::SecretMissing { name: name.clone() })?;
                Some(secrets.resolve(app, name, approved.target.host())?)
            }
        };
        let cache_key = self.cache_key(app, &method, &req, &headers, &approved);
        if let (Some(cache), Some(key)) = (&self.inner.cache, &cache_key) {
            if let Some(mut hit) = cache.get(key, Instant::now()) {
                hit.from_cache = true;
                return Ok(hit);
            }
        }
        let now = Instant::now();
        let deadline = budget.with(|b| b.deadline_at(now, approved.timeout, req.timeout))?;
        let concurrency = u32::try_from(limits.concurrency).unwrap_or(u32::MAX);
        let app_concurrency = u32::try_from(limits.app_concurrency).unwrap_or(u32::MAX);
        let _slot = self
            .inner
            .slots
            .acquire(app, concurrency, app_concurrency)?;
        let net_start = Instant::now();
        budget.with(|b| b.begin_flight(net_start));
        let call = Call {
            client: self,
            policy: &policy,
            app,
            deadline,
            deadline_at: net_start + deadline,
            mode: req.redirect,
        };
        let result = call.run(approved, method, headers, req.body, injection.as_ref());
        budget.with(|b| b.end_flight(Instant::now()));
        // A server may echo the injected value anywhere it can: nothing of
        // it goes back to the caller.
        let (response, ttl) = match &injection {
            Some(secret) => match result {
                Ok((response, ttl)) => Ok((scrub_response(response, secret), ttl)),
                Err(e) => Err(e.map_reasons(|t| secret.scrub(t).into_owned())),
            },
            None => result,
        }?;
        if let (Some(cache), Some(key), Some(ttl)) = (&self.inner.cache, cache_key, ttl) {
            if response.ok() && !response.redirected && cache::storable(&response.headers) {
                cache.put(key, &response, ttl, Instant::now());
            }
        }
        Ok(response)
    }

    /// The cache key, when this request may be served from (and stored in)
    /// the cache.
    fn cache_key(
        &self,
        app: Option<&str>,
        method: &str,
        req: &Request,
        headers: &[(String, String)],
        approved: &Approved,
    ) -> Option<String> {
        let cacheable = self.inner.cache.is_some()
            && approved.cache_ttl.is_some()
            && req.redirect == RedirectMode::Follow
            && cache::cacheable_request(method, req.body.is_some(), req.auth.is_some(), headers);
        cacheable.then(|| cache::cache_key(app, method, approved.target.url().as_str(), headers))
    }
}

/// The budget a call is charged to: counted first, a deadline from what is
/// left, and its time on the network.
enum Charge<'a> {
    /// A budget of one caller's own, counted here.
    Own(&'a mut RequestBudget),
    /// A shared budget, on which the call was counted already ([`Counted`]).
    Shared(&'a SharedBudget),
}

impl Charge<'_> {
    /// Counts the call (a shared budget's was counted already).
    fn count(&mut self) -> Result<(), NetError> {
        match self {
            Charge::Own(budget) => budget.count_call(),
            Charge::Shared(_) => Ok(()),
        }
    }

    /// Runs `f` on the budget.
    fn with<T>(&mut self, f: impl FnOnce(&mut RequestBudget) -> T) -> T {
        match self {
            Charge::Own(budget) => f(budget),
            Charge::Shared(shared) => shared.with(f),
        }
    }
}

/// `response` with every trace of `secret` scrubbed from what the caller
/// sees besides the body: the final URL and every header value.
fn scrub_response(mut response: Response, secret: &Injection) -> Response {
    response.url = secret.scrub(&response.url).into_owned();
    if response
        .headers
        .pairs()
        .iter()
        .any(|(_, v)| secret.scrub(v) != v.as_str())
    {
        let pairs: Vec<(String, String)> = response
            .headers
            .pairs()
            .iter()
            .map(|(n, v)| (n.clone(), secret.scrub(v).into_owned()))
            .collect();
        response.headers =
            ResponseHeaders::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.clone())));
    }
    response
}

/// One call in flight: the redirect loop.
struct Call<'a> {
    client: &'a EgressClient,
    policy: &'a Policy,
    app: Option<&'a str>,
    deadline: Duration,
    deadline_at: Instant,
    mode: RedirectMode,
}

impl Call<'_> {
    fn run(
        &self,
        first: Approved,
        mut method: String,
        mut headers: Vec<(String, String)>,
        mut body: Option<Vec<u8>>,
        injection: Option<&Injection>,
    ) -> Result<(Response, Option<Duration>), NetError> {
        let secret_origin = first.target.origin();
        let ttl = first.cache_ttl;
        let mut current = first;
        let mut hops = 0u32;
        // Once the chain has left the secret's origin, nothing is injected
        // again: the other origin chose where the chain goes next.
        let mut left_origin = false;
        loop {
            if let Some((per_minute, burst)) = current.rate {
                let key = format!("{} {}", current.entry.scope(), current.entry);
                self.client.inner.rates.check(
                    &key,
                    current.target.host().as_str(),
                    per_minute,
                    burst,
                )?;
            }
            // The secret goes only to the origin it was resolved for.
            left_origin |= current.target.origin() != secret_origin;
            let inject = injection.filter(|_| !left_origin);
            let resp = self.send(&current, &method, &headers, body.as_deref(), inject)?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let is_redirect = fazt_policy::is_redirect_status(status) && location.is_some();
            if is_redirect && self.mode == RedirectMode::Error {
                return Err(NetError::RedirectNotAllowed {
                    host: current.target.host().to_string(),
                    status,
                });
            }
            if is_redirect && self.mode == RedirectMode::Follow {
                let hop = self.policy.redirect(
                    self.app,
                    &current.target,
                    status,
                    location.as_deref(),
                    &method,
                    hops,
                )?;
                if let Some(mut hop) = hop {
                    if let Some(secret) =
                        injection.filter(|_| hop.to.target.origin() != secret_origin)
                    {
                        // A server may echo the secret into the Location
                        // (a redirector that keeps the query string): it
                        // must not travel on to another origin.
                        hop.to.target.remove_query_value(secret.value.expose());
                    }
                    if !hop.keep_body {
                        body = None;
                        headers.retain(|(n, _)| !n.starts_with("content-"));
                    }
                    if !hop.same_origin {
                        // As fetch does: credentials the caller set by hand
                        // do not follow a redirect to another origin.
                        headers.retain(|(n, _)| n != "authorization" && n != "cookie");
                    }
                    method = hop.method;
                    current = hop.to;
                    hops += 1;
                    continue;
                }
            }
            let response = self.read(&current, resp, hops > 0)?;
            return Ok((response, ttl.filter(|_| hops == 0)));
        }
    }

    /// Sends one hop and returns the response head; the body is unread.
    fn send(
        &self,
        to: &Approved,
        method: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        inject: Option<&Injection>,
    ) -> Result<ureq::http::Response<ureq::Body>, NetError> {
        let ctx = self.ctx(to);
        let remaining = self.deadline_at.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(NetError::Timeout {
                host: ctx.host.to_string(),
                after_ms: u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX),
            });
        }
        let mut target = to.target.clone();
        let mut builder = ureq::http::Request::builder().method(method);
        let mut injected_header: Option<(&str, String)> = None;
        match inject.map(|i| (&i.inject_as, i.value.expose())) {
            Some((InjectAs::Bearer, v)) => {
                injected_header = Some(("authorization", format!("Bearer {v}")))
            }
            Some((InjectAs::Header(name), v)) => {
                injected_header = Some((name.as_str(), v.to_string()))
            }
            Some((InjectAs::Query(key), v)) => target.set_query_param(key, v),
            None => {}
        }
        for (name, value) in headers {
            // The injected value wins over a caller header of the same name.
            if injected_header
                .as_ref()
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some((name, value)) = injected_header {
            builder = builder.header(name, value);
        }
        builder = builder.header("accept-encoding", "identity");
        let request = builder
            .uri(target.url().as_str())
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| NetError::InvalidUrl {
                reason: e.to_string(),
            })?;
        let agent = &self.client.inner.agent;
        let request = agent
            .configure_request(request)
            .timeout_global(Some(remaining))
            .build();
        agent.run(request).map_err(|e| from_ureq(e, &ctx))
    }

    /// Reads the body under the target's cap.
    fn read(
        &self,
        to: &Approved,
        resp: ureq::http::Response<ureq::Body>,
        redirected: bool,
    ) -> Result<Response, NetError> {
        let ctx = self.ctx(to);
        let too_large = || NetError::ResponseTooLarge {
            host: ctx.host.to_string(),
            max: to.max_response,
        };
        let (parts, body) = resp.into_parts();
        let declared = parts
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > to.max_response) {
            return Err(too_large());
        }
        // ureq's own limit, set to the cap, fails a longer body with
        // BodyExceedsLimit, which `from_io` reports as NET_SIZE.
        let mut reader = body.into_with_config().limit(to.max_response).reader();
        // A declared length only sizes the first allocation, and not beyond
        // 64 KiB: a server may lie about it.
        let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0));
        let mut bytes = Vec::with_capacity(expected.min(64 * 1024));
        std::io::Read::read_to_end(&mut reader, &mut bytes).map_err(|e| from_io(e, &ctx))?;
        let headers = ResponseHeaders::from_pairs(parts.headers.iter().map(|(n, v)| {
            (
                n.as_str(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        }));
        Ok(Response {
            status: parts.status.as_u16(),
            status_text: parts.status.canonical_reason().unwrap_or("").to_string(),
            url: to.target.url().to_string(),
            redirected,
            headers,
            body: bytes,
            from_cache: false,
        })
    }

    fn ctx<'a>(&self, to: &'a Approved) -> Ctx<'a> {
        Ctx {
            host: to.target.host().as_str(),
            deadline: self.deadline,
            max_response: to.max_response,
            max_headers: self.policy.limits().max_response_headers,
        }
    }
}

/// Whether the response allows shared caching.
/// The method the log shows for a call whose method was not valid.
const NO_METHOD: &str = "-";

/// Host and path of a URL for the log, before the policy parsed it (never
/// the query or userinfo).
fn log_host_path(url: &str) -> (String, String) {
    match url.trim().parse::<ureq::http::Uri>() {
        Ok(u) => (
            u.host().unwrap_or_default().to_string(),
            u.path().to_string(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

impl EgressBuilder {
    /// Uses `resolver` instead of the system's.
    pub fn resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
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

    /// Uses these as the host's own addresses instead of reading the
    /// interfaces (tests, containers with a known public address).
    pub fn own_addresses(mut self, addrs: Vec<IpAddr>) -> Self {
        self.own_addresses = Some(addrs);
        self
    }

    /// Options that weaken a default.
    pub fn dangerous(self) -> DangerousOptions {
        DangerousOptions { builder: self }
    }

    /// Builds the client.
    pub fn build(self) -> Result<EgressClient, TransportError> {
        let limits = *self.policy.limits();
        let own = self.own_addresses.unwrap_or_else(interface_addresses);
        let classifier = self.policy.classifier().clone().with_own_addresses(own);
        let policy = Arc::new(RwLock::new(Arc::new(
            self.policy.with_classifier(classifier),
        )));
        let roots = if self.extra_roots.is_empty() {
            RootCerts::WebPki
        } else {
            let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned());
            RootCerts::from(mozilla.chain(self.extra_roots))
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
            inner: self.resolver,
            policy: Arc::clone(&policy),
        };
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            resolver,
        );
        Ok(EgressClient {
            inner: Arc::new(Inner {
                agent,
                policy,
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
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, TransportError> {
        self.builder.extra_roots.extend(parse_pem_roots(pem)?);
        Ok(self)
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

impl std::fmt::Debug for EgressClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressClient")
            .field("policy", &self.inner.policy.read())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EgressBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressBuilder")
            .field("resolver", &self.resolver)
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DangerousOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.builder.fmt(f)
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Certificate(e) => write!(f, "invalid root certificate: {e}"),
        }
    }
}

impl std::error::Error for TransportError {}
