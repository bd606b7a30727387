//! The response-cache rules: what may be stored, and under which key. The
//! cache itself (memory, eviction) is fazt-transport's.

use crate::headers::ResponseHeaders;
use crate::{Approved, RedirectMode};

/// A request as the cache rules see it.
#[derive(Clone, Copy, Debug)]
pub struct CacheRequest<'a> {
    /// The app making it.
    pub app: Option<&'a str>,
    /// Its method, normalized.
    pub method: &'a str,
    /// Its approved target: the canonical URL and the entry's `cache_ttl`.
    pub approved: &'a Approved,
    /// Its redirect mode.
    pub redirect: RedirectMode,
    /// Whether it has a body.
    pub has_body: bool,
    /// Whether it names a secret (`auth`).
    pub has_auth: bool,
    /// Its headers as they reach the upstream (sanitized, lowercase).
    pub headers: &'a [(String, String)],
}

impl CacheRequest<'_> {
    /// The eligibility rule: the key this request's answer is looked up
    /// and stored under, or `None` when it may not be cached. It may when
    /// its entry has a `cache_ttl`, it follows redirects (a `manual` or
    /// `error` call asks for another answer), and
    /// [`cacheable_request`] admits it; the key is [`cache_key`]'s.
    pub fn key(&self) -> Option<String> {
        let cacheable = self.approved.cache_ttl.is_some()
            && self.redirect == RedirectMode::Follow
            && cacheable_request(self.method, self.has_body, self.has_auth, self.headers);
        cacheable.then(|| {
            cache_key(
                self.app,
                self.method,
                self.approved.target.url().as_str(),
                self.headers,
            )
        })
    }
}

/// Whether a request's answer may come from (and go to) the cache: a GET
/// without a body, without an injected secret (`auth`), and without
/// caller credentials (`Authorization`, `Cookie`): an answer to one
/// caller's credentials is that caller's alone.
pub fn cacheable_request(
    method: &str,
    has_body: bool,
    has_auth: bool,
    headers: &[(String, String)],
) -> bool {
    method == "GET"
        && !has_body
        && !has_auth
        && !headers.iter().any(|(n, _)| {
            n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("cookie")
        })
}

/// The key a response is stored under: the app, the method, the canonical
/// URL with its query, and every request header that reaches the upstream,
/// in order. Each part is length-prefixed, so no two different requests
/// share a key, and nothing one app's call produced is served to another
/// app or to a call with other headers.
pub fn cache_key(
    app: Option<&str>,
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> String {
    let mut key = String::new();
    let mut part = |s: &str| {
        key.push_str(&s.len().to_string());
        key.push(':');
        key.push_str(s);
    };
    match app {
        Some(app) => part(&format!("app {app}")),
        None => part("global"),
    }
    part(method);
    part(url);
    for (name, value) in headers {
        part(name);
        part(value);
    }
    key
}

/// Whether a response to a cacheable request may be stored: a 2xx that
/// came straight from the first target (`redirected` false: the entry's
/// TTL is for its own answers), not `no-store` or `private`, no
/// `Set-Cookie` (it belongs to one caller), and no `Vary` (the cache does
/// not keep variants: such responses are not stored).
pub fn storable(status: u16, redirected: bool, headers: &ResponseHeaders) -> bool {
    if !(200..300).contains(&status) || redirected {
        return false;
    }
    let cache_control_allows = headers.all("cache-control").all(|v| {
        let v = v.to_ascii_lowercase();
        !v.contains("no-store") && !v.contains("private")
    });
    let present = |name| headers.all(name).next().is_some();
    cache_control_allows && !present("set-cookie") && !present("vary")
}
