//! One call in flight: the redirect loop. Each hop is checked by the
//! policy ([`Policy::redirect`]), rewritten by its rules ([`Hop::apply`],
//! [`SecretRoute`], [`Injection::apply`]) and sent; this is where a
//! request's bytes leave the host (`agent.run` in [`Call::send`]).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use fazt_policy::headers::ResponseHeaders;
use fazt_policy::{Approved, Injection, NetError, Policy, RedirectMode, SecretRoute};

use crate::error::{from_http, from_io, from_ureq, response_too_large, timeout, Ctx};
use crate::ratelimit::RateLimits;
use crate::Response;

/// One call in flight: what every hop of it shares.
pub(crate) struct Call<'a> {
    pub(crate) agent: &'a ureq::Agent,
    pub(crate) rates: &'a RateLimits,
    pub(crate) policy: &'a Policy,
    pub(crate) app: Option<&'a str>,
    /// The call's whole deadline, for messages.
    pub(crate) deadline: Duration,
    /// When it passes.
    pub(crate) deadline_at: Instant,
    pub(crate) mode: RedirectMode,
}

/// The request as the next hop sends it.
pub(crate) struct Outgoing {
    pub(crate) method: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl Call<'_> {
    /// Runs the chain from `first` to a final response.
    pub(crate) fn run(
        &self,
        first: Approved,
        mut request: Outgoing,
        secret: Option<&Injection>,
    ) -> Result<Response, NetError> {
        let mut route = SecretRoute::new(&first.target);
        let mut current = first;
        let mut hops = 0u32;
        loop {
            if let Some((per_minute, burst)) = current.rate {
                let key = format!("{} {}", current.entry.scope(), current.entry);
                self.rates
                    .take(&key, current.target.host().as_str(), per_minute, burst)?;
            }
            let inject = secret.filter(|_| route.admits(&current.target));
            let resp = self.send(&current, &request, inject)?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .map(|v| String::from_utf8_lossy(v.as_bytes()));
            let decided = self.policy.redirect(
                self.app,
                &current.target,
                status,
                location.as_deref(),
                &request.method,
                hops,
                self.mode,
            );
            let decided = match secret {
                Some(secret) => {
                    route.follow(decided, location.as_deref(), secret, inject.is_some())
                }
                None => decided,
            };
            let Some(mut hop) = decided? else {
                return self.read(&current, resp, hops > 0);
            };
            hop.apply(&mut request.headers, &mut request.body);
            request.method = std::mem::take(&mut hop.method);
            current = hop.to;
            hops += 1;
        }
    }

    /// Sends one hop and returns the response head; the body is unread.
    fn send(
        &self,
        to: &Approved,
        request: &Outgoing,
        inject: Option<&Injection>,
    ) -> Result<ureq::http::Response<ureq::Body>, NetError> {
        let ctx = self.ctx(to);
        let remaining = self.deadline_at.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timeout(&ctx));
        }
        let (target, headers) = match inject {
            None => (Cow::Borrowed(&to.target), Cow::Borrowed(&request.headers)),
            Some(secret) => {
                let (mut target, mut headers) = (to.target.clone(), request.headers.clone());
                secret.apply(&mut target, &mut headers);
                (Cow::Owned(target), Cow::Owned(headers))
            }
        };
        let mut builder = ureq::http::Request::builder().method(request.method.as_str());
        for (name, value) in headers.iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let wire = builder
            .header("accept-encoding", "identity")
            .uri(target.url().as_str())
            .body(request.body.clone().unwrap_or_default())
            .map_err(|e| from_http(&e))?;
        let wire = self
            .agent
            .configure_request(wire)
            .timeout_global(Some(remaining))
            .build();
        // ureq asks the resolver on this thread: its lookups count as the
        // app's.
        crate::resolve::for_app(self.app, || self.agent.run(wire)).map_err(|e| from_ureq(e, &ctx))
    }

    /// Reads the body under the target's cap.
    fn read(
        &self,
        to: &Approved,
        resp: ureq::http::Response<ureq::Body>,
        redirected: bool,
    ) -> Result<Response, NetError> {
        let ctx = self.ctx(to);
        let (parts, body) = resp.into_parts();
        let declared = parts
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > to.max_response) {
            return Err(response_too_large(&ctx));
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
