//! [`Policy`]: allowlist + classifier + limits, and the decisions made with
//! them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::explain::{NoTrace, Step, Trace};
use crate::hop::is_redirect_status;
use crate::{
    AllowEntry, Allowlist, CanonicalHost, Classifier, EntryOverrides, Explanation, Hop, Limits,
    LimitsError, Lookup, NetError, RedirectMode, Scheme, Target, Verdict,
};

/// Everything needed to decide whether a call may be made.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    allowlist: Allowlist,
    /// Shared: swapping the allowlist or the limits keeps the same one.
    classifier: Arc<Classifier>,
    limits: Limits,
}

/// A target the allowlist admits, with the limits that apply to it.
#[derive(Clone, Debug)]
pub struct Approved {
    /// The checked target.
    pub target: Target,
    /// The entry that matched; its `Display` is the entry as written
    /// (`*.example.com:8443`).
    pub entry: Arc<AllowEntry>,
    /// The entry's overrides.
    pub overrides: EntryOverrides,
    /// Response cap for this target: the entry's override or the global
    /// limit, never above the hard cap.
    pub max_response: u64,
    /// The entry's timeout override, if any.
    pub timeout: Option<Duration>,
    /// Rate limit for this domain as (per minute, burst), if any.
    pub rate: Option<(u32, u32)>,
    /// Cache lifetime, if the entry enables caching.
    pub cache_ttl: Option<Duration>,
}

impl Policy {
    /// A policy; the limits are validated.
    pub fn new(
        allowlist: Allowlist,
        classifier: Classifier,
        limits: Limits,
    ) -> Result<Self, LimitsError> {
        limits.validate()?;
        Ok(Policy {
            allowlist,
            classifier: Arc::new(classifier),
            limits,
        })
    }

    /// The same policy with another allowlist.
    pub fn with_allowlist(mut self, allowlist: Allowlist) -> Self {
        self.allowlist = allowlist;
        self
    }

    /// The same policy with other limits, checked like [`Policy::new`]'s.
    ///
    /// # Errors
    /// The first field out of its range.
    pub fn with_limits(mut self, limits: Limits) -> Result<Self, LimitsError> {
        limits.validate()?;
        self.limits = limits;
        Ok(self)
    }

    /// The same policy with another classifier, which may be shared with
    /// whatever else checks addresses (a transport's resolver).
    pub fn with_classifier(mut self, classifier: impl Into<Arc<Classifier>>) -> Self {
        self.classifier = classifier.into();
        self
    }

    /// The allowlist.
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    /// The classifier.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Parses `url` and checks it against the allowlist for `app`.
    pub fn check_url(&self, app: Option<&str>, url: &str) -> Result<Approved, NetError> {
        let target = Target::parse(url)?;
        self.check_target_traced(app, target, &mut NoTrace)
    }

    /// Checks an already parsed target against the allowlist for `app`.
    pub fn check_target(&self, app: Option<&str>, target: Target) -> Result<Approved, NetError> {
        self.check_target_traced(app, target, &mut NoTrace)
    }

    /// Connect-time check: every resolved address must be allowed, or the
    /// call is refused (a name with one blocked address is refused whole).
    pub fn check_addrs(&self, host: &CanonicalHost, addrs: &[IpAddr]) -> Result<(), NetError> {
        self.classifier.check_addrs(host, addrs)
    }

    /// The whole decision for `url`, step by step. With `addrs`, the
    /// connect-time check is explained too (the caller resolved the name).
    pub fn explain(&self, app: Option<&str>, url: &str, addrs: Option<&[IpAddr]>) -> Explanation {
        let mut steps: Vec<Step> = Vec::new();
        let mut host = None;
        let result = Target::parse_traced(url, &mut steps).and_then(|t| {
            host = Some(t.host().to_string());
            self.check_target_traced(app, t, &mut steps)
        });
        let result = match (result, addrs) {
            (Ok(a), Some(addrs)) => {
                self.classifier
                    .check_addrs_traced(a.target.host(), addrs, &mut steps)
            }
            (r, _) => r.map(|_| ()),
        };
        Explanation {
            url: url.to_string(),
            host,
            steps,
            error: result.err(),
        }
    }

    /// Decides what to do with a response to a request made in `mode`:
    /// `Ok(None)` when it is final (not a redirect status, no `Location`,
    /// or [`RedirectMode::Manual`]), [`NetError::RedirectNotAllowed`] for a
    /// redirect under [`RedirectMode::Error`], otherwise the next hop when
    /// it passes every check a new request would, or an error
    /// ([`NetError::TooManyRedirects`] once `hops_done` reached
    /// `max_redirects`).
    ///
    /// Method rules follow WHATWG fetch: 303 becomes GET (HEAD stays HEAD),
    /// 301 and 302 turn POST into GET; the body is dropped whenever the
    /// method changes ([`Hop::apply`]).
    #[allow(clippy::too_many_arguments)]
    pub fn redirect(
        &self,
        app: Option<&str>,
        from: &Target,
        status: u16,
        location: Option<&str>,
        method: &str,
        hops_done: u32,
        mode: RedirectMode,
    ) -> Result<Option<Hop>, NetError> {
        if !is_redirect_status(status) {
            return Ok(None);
        }
        let Some(location) = location else {
            return Ok(None);
        };
        match mode {
            RedirectMode::Manual => return Ok(None),
            RedirectMode::Error => {
                return Err(NetError::RedirectNotAllowed {
                    host: from.host().to_string(),
                    status,
                })
            }
            RedirectMode::Follow => {}
        }
        if u64::from(hops_done) >= self.limits.max_redirects {
            return Err(NetError::TooManyRedirects {
                host: from.host().to_string(),
                max: u8::try_from(self.limits.max_redirects).unwrap_or(u8::MAX),
            });
        }
        let next = from
            .url()
            .join(location)
            .map_err(|e| NetError::InvalidRedirect {
                host: from.host().to_string(),
                reason: e.to_string(),
            })?;
        let to = self.check_url(app, next.as_str())?;
        let new_method = match (status, method) {
            (303, "HEAD") => "HEAD",
            (303, _) => "GET",
            (301 | 302, "POST") => "GET",
            (_, m) => m,
        };
        Ok(Some(Hop {
            same_origin: from.same_origin(&to.target),
            keep_body: new_method == method,
            method: new_method.to_string(),
            to,
        }))
    }

    fn check_target_traced(
        &self,
        app: Option<&str>,
        target: Target,
        trace: &mut impl Trace,
    ) -> Result<Approved, NetError> {
        let (host, scheme, port) = (target.host(), target.scheme(), target.port());
        let entry = match self.allowlist.lookup(app, host, scheme, port) {
            Lookup::Found(e) => e,
            Lookup::WrongPort => {
                trace.step("allowlist", true, || {
                    format!("host {host} is on the allowlist")
                });
                let e = NetError::PortNotAllowed {
                    host: host.to_string(),
                    port,
                };
                trace.step("port", false, || e.message());
                return Err(e);
            }
            Lookup::NotFound => {
                let e = NetError::NotAllowlisted {
                    host: host.to_string(),
                    app: app.map(str::to_string),
                };
                trace.step("allowlist", false, || e.message());
                return Err(e);
            }
        };
        trace.step("allowlist", true, || {
            format!("matched entry {entry} ({})", entry.scope())
        });
        trace.step("port", true, || {
            format!("port {port} allowed by entry {entry}")
        });
        if scheme == Scheme::Http {
            if !entry.overrides().allow_http {
                let e = NetError::HttpNotAllowed {
                    host: host.to_string(),
                };
                trace.step("http", false, || e.message());
                return Err(e);
            }
            trace.step("http", true, || format!("entry {entry} allows plain http"));
        }
        Ok(self.approve(target, entry))
    }

    fn approve(&self, target: Target, entry: &Arc<AllowEntry>) -> Approved {
        let r = *entry.overrides();
        let or = |v: u64, d: u64| if v == 0 { d } else { v };
        let rate =
            u32::try_from(or(r.rate_limit.into(), self.limits.rate_limit)).unwrap_or(u32::MAX);
        let burst =
            u32::try_from(or(r.rate_burst.into(), self.limits.rate_burst)).unwrap_or(u32::MAX);
        Approved {
            entry: Arc::clone(entry),
            overrides: r,
            max_response: or(r.max_response, self.limits.max_response)
                .min(EntryOverrides::HARD_MAX_RESPONSE),
            timeout: (r.timeout_ms > 0).then(|| Duration::from_millis(r.timeout_ms)),
            rate: (rate > 0).then_some((rate, burst)),
            cache_ttl: (r.cache_ttl_s > 0).then(|| Duration::from_secs(r.cache_ttl_s)),
            target,
        }
    }
}

impl Classifier {
    /// The connect-time rule: every resolved address must be allowed, or
    /// the call is refused (a name with one blocked address is refused
    /// whole; no address at all is a DNS failure).
    pub fn check_addrs(&self, host: &CanonicalHost, addrs: &[IpAddr]) -> Result<(), NetError> {
        self.check_addrs_traced(host, addrs, &mut NoTrace)
    }

    fn check_addrs_traced(
        &self,
        host: &CanonicalHost,
        addrs: &[IpAddr],
        trace: &mut impl Trace,
    ) -> Result<(), NetError> {
        if addrs.is_empty() {
            let e = NetError::Dns {
                host: host.to_string(),
                reason: "no addresses".into(),
            };
            trace.step("dns", false, || e.message());
            return Err(e);
        }
        let mut refusal = None;
        for &addr in addrs {
            match self.classify(addr) {
                Verdict::Allowed => {
                    trace.step("dns", true, || format!("{addr}: globally reachable"))
                }
                Verdict::AllowedByOperator(net) => trace.step("dns", true, || {
                    format!("{addr}: admitted by operator allow_ranges {net}")
                }),
                Verdict::Blocked(reason) => {
                    trace.step("dns", false, || format!("{addr}: blocked: {reason}"));
                    let e = NetError::AddressBlocked {
                        host: host.to_string(),
                        addr,
                        reason,
                    };
                    refusal.get_or_insert(e);
                }
            }
        }
        refusal.map_or(Ok(()), Err)
    }
}
