//! [`EgressClient`]: the policy composed with ureq.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fazt_policy::cache::{storable, CacheRequest};
use fazt_policy::headers::{normalize_method, sanitize_request_headers};
use fazt_policy::{
    log_field, millis, Allowlist, AllowlistSource, Injection, Limits, LogEntry, LogSink, NetError,
    Policy, RequestBudget, SecretInjector,
};
use parking_lot::RwLock;

use crate::budget::{Counted, SharedBudget};
use crate::builder::EgressBuilder;
use crate::cache::Cache;
use crate::hops::{Call, Outgoing};
use crate::ratelimit::RateLimits;
use crate::slots::Slots;
use crate::{Request, Response};

/// The hardened HTTP client. Cheap to clone; clones share pools, slots,
/// rate limits and the cache.
#[derive(Clone)]
pub struct EgressClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) agent: ureq::Agent,
    /// The swappable part (allowlist, limits); the classifier in it is the
    /// one the checking resolver holds, shared, never swapped.
    pub(crate) policy: RwLock<Arc<Policy>>,
    pub(crate) slots: Arc<Slots>,
    pub(crate) rates: RateLimits,
    pub(crate) cache: Option<Cache>,
    pub(crate) secrets: Option<Arc<dyn SecretInjector>>,
    pub(crate) log: Arc<dyn LogSink>,
    pub(crate) source: Option<Arc<dyn AllowlistSource>>,
}

impl EgressClient {
    /// Starts building a client around `policy`.
    pub fn builder(policy: Policy) -> EgressBuilder {
        EgressBuilder::new(policy)
    }

    /// The policy in force. Its classifier is the one every connection is
    /// checked with: explain a decision with it (`policy().explain(..)`).
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
        self.fetch_and_log(app, req, Charge::Own(budget))
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
        self.fetch_and_log(app, req, Charge::Shared(counted.budget()))
    }

    /// Makes the call and records its one log entry, whatever the outcome.
    fn fetch_and_log(
        &self,
        app: Option<&str>,
        mut req: Request,
        mut budget: Charge<'_>,
    ) -> Result<Response, NetError> {
        let started = Instant::now();
        let mut log = LogEntry {
            app: app.map(str::to_string),
            host: String::new(),
            method: NO_METHOD.to_string(),
            path: String::new(),
            status: None,
            error: None,
            duration_ms: 0,
            bytes_in: 0,
            bytes_out: req.body.as_ref().map_or(0, |b| b.len() as u64),
            cache_hit: false,
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, millis),
        };
        let result = self.make_call(app, &mut req, &mut budget, &mut log);
        // A call refused before its URL passed the policy is logged with
        // the host and path as given, if its URL is within the length
        // limit (a script chooses them; fields are bounded).
        if log.host.is_empty()
            && self
                .policy()
                .limits()
                .check_url_length(req.url.len())
                .is_ok()
        {
            let (host, path) = log_host_path(&req.url);
            log.host = log_field(&host);
            log.path = log_field(&path);
        }
        log.duration_ms = millis(started.elapsed());
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

    /// The call itself; what it learns on the way (method, host, path)
    /// goes into `log`.
    fn make_call(
        &self,
        app: Option<&str>,
        req: &mut Request,
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
        let cache_key = self.inner.cache.as_ref().and_then(|_| {
            CacheRequest {
                app,
                method: &method,
                approved: &approved,
                redirect: req.redirect,
                has_body: req.body.is_some(),
                has_auth: req.auth.is_some(),
                headers: &headers,
            }
            .key()
        });
        if let (Some(cache), Some(key)) = (&self.inner.cache, &cache_key) {
            if let Some(mut hit) = cache.get(key, Instant::now()) {
                hit.from_cache = true;
                return Ok(hit);
            }
        }
        let ttl = approved.cache_ttl;
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
            agent: &self.inner.agent,
            rates: &self.inner.rates,
            policy: &policy,
            app,
            deadline,
            deadline_at: net_start + deadline,
            mode: req.redirect,
        };
        let outgoing = Outgoing {
            method,
            headers,
            body: req.body.take(),
        };
        let result = call.run(approved, outgoing, injection.as_ref());
        budget.with(|b| b.end_flight(Instant::now()));
        // A server may echo the injected value anywhere it can: nothing of
        // it goes back to the caller.
        let response = match &injection {
            Some(secret) => match result {
                Ok(response) => Ok(scrub_response(response, secret)),
                Err(e) => Err(e.map_text(|t| secret.scrub(t).into_owned())),
            },
            None => result,
        }?;
        if let (Some(cache), Some(key), Some(ttl)) = (&self.inner.cache, cache_key, ttl) {
            if storable(response.status, response.redirected, &response.headers) {
                cache.put(key, &response, ttl, Instant::now());
            }
        }
        Ok(response)
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
/// sees besides the body: the final URL and the headers
/// ([`Injection::scrub_headers`]).
fn scrub_response(mut response: Response, secret: &Injection) -> Response {
    response.url = secret.scrub(&response.url).into_owned();
    if let Some(headers) = secret.scrub_headers(&response.headers) {
        response.headers = headers;
    }
    response
}

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

impl std::fmt::Debug for EgressClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressClient")
            .field("policy", &self.inner.policy.read())
            .finish_non_exhaustive()
    }
}
