//! The plain data a call is made of, and what comes back.

use std::time::Duration;

use fazt_policy::headers::ResponseHeaders;
pub use fazt_policy::RedirectMode;

/// One call as a script describes it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Method; `GET` when empty.
    pub method: String,
    /// Absolute http(s) URL.
    pub url: String,
    /// Caller headers, in order; sanitized before sending.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<Vec<u8>>,
    /// The caller's timeout; the call's deadline is never longer.
    pub timeout: Option<Duration>,
    /// Redirect handling.
    pub redirect: RedirectMode,
    /// Name of a secret to inject (`auth`).
    pub auth: Option<String>,
}

impl Request {
    /// A GET request for `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: "GET".into(),
            url: url.into(),
            ..Request::default()
        }
    }

    /// Sets the method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the caller's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the redirect mode.
    pub fn redirect(mut self, mode: RedirectMode) -> Self {
        self.redirect = mode;
        self
    }

    /// Names a secret to inject.
    pub fn auth(mut self, name: impl Into<String>) -> Self {
        self.auth = Some(name.into());
        self
    }
}

/// A response, fully read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase for the status (canonical, not the server's).
    pub status_text: String,
    /// Final URL, without any injected secret.
    pub url: String,
    /// Whether at least one redirect was followed.
    pub redirected: bool,
    /// Headers, lowercase names, repeats kept.
    pub headers: ResponseHeaders,
    /// Body bytes, exactly as received (no decompression).
    pub body: Vec<u8>,
    /// Served from the response cache.
    pub from_cache: bool,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
