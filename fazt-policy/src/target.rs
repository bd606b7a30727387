//! Request targets: a URL parsed once, WHATWG-style, into the scheme, host
//! and port that will be checked, resolved and connected to.

use std::fmt;

use url::Url;

use crate::explain::Trace;
use crate::{CanonicalHost, NetError};

/// The two schemes egress speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP: only where the allowlist entry allows it.
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// The port used when a URL names none.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A URL that passed the syntactic checks: scheme http(s), no userinfo, a
/// canonical host name (never an IP literal), a non-zero port.
///
/// [`Target::url`] is the URL that will actually be requested: its host is
/// the canonical one and its fragment is removed.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    url: Url,
    scheme: Scheme,
    host: CanonicalHost,
    port: u16,
}

/// Scheme, host and port: two URLs with equal origins may share a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Scheme.
    pub scheme: Scheme,
    /// Canonical host.
    pub host: CanonicalHost,
    /// Port (explicit or default).
    pub port: u16,
}

impl Target {
    /// Parses and checks a request URL.
    ///
    /// ```
    /// use fazt_policy::Target;
    /// let t = Target::parse("https://API.example.com./v1?q=1#frag").unwrap();
    /// assert_eq!(t.url().as_str(), "https://api.example.com/v1?q=1");
    /// assert_eq!(t.port(), 443);
    /// assert_eq!(Target::parse("https://127.1/").unwrap_err().code().as_str(), "NET_BLOCKED");
    /// ```
    pub fn parse(input: &str) -> Result<Target, NetError> {
        Self::parse_traced(input, &mut crate::explain::NoTrace)
    }

    pub(crate) fn parse_traced(input: &str, trace: &mut impl Trace) -> Result<Target, NetError> {
        // The scheme is judged before anything else, even before the rest of
        // the URL is known to parse: `gopher://[bad` is a scheme refusal.
        let scheme = match leading_scheme(input) {
            Some(s) if s == "https" => Scheme::Https,
            Some(s) if s == "http" => Scheme::Http,
            Some(s) => {
                let e = NetError::SchemeNotAllowed {
                    scheme: crate::error::escape(&s),
                };
                trace.step("scheme", false, || e.message());
                return Err(e);
            }
            None => {
                let e = NetError::InvalidUrl {
                    reason: "missing scheme (an absolute http or https URL is required)".into(),
                };
                trace.step("scheme", false, || e.message());
                return Err(e);
            }
        };
        trace.step("scheme", true, || scheme.as_str().to_string());

        let mut url = match Url::parse(input) {
            Ok(u) => u,
            Err(e) => {
                let e = NetError::InvalidUrl {
                    reason: e.to_string(),
                };
                trace.step("parse", false, || e.message());
                return Err(e);
            }
        };
        trace.step("parse", true, || "WHATWG URL parser accepted it".into());
        let (host, port) = check_authority(&url, scheme, trace)?;
        if host.as_str() != url.host_str().unwrap_or_default() {
            // Only the trailing dot can differ; a canonical name is a valid
            // host for `set_host`, so this cannot fail.
            let _ = url.set_host(Some(host.as_str()));
        }
        url.set_fragment(None);
        Ok(Target {
            url,
            scheme,
            host,
            port,
        })
    }

    /// The URL that will be requested (canonical host, no fragment).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The canonical host.
    pub fn host(&self) -> &CanonicalHost {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Scheme, host and port.
    pub fn origin(&self) -> Origin {
        Origin {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
        }
    }

    /// Whether two targets share scheme, host and port.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    /// The path without query or fragment: what logs may show.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The URL without its query string: what messages and logs may show.
    pub fn redacted(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.to_string()
    }

    /// Adds (or replaces) a query parameter. Used for `query` secret
    /// injection; the pair is percent-encoded by the URL serializer.
    pub fn set_query_param(&mut self, key: &str, value: &str) {
        let kept: Vec<(String, String)> = self
            .url
            .query_pairs()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut q = self.url.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair(key, value);
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The query may carry an injected secret: never print it.
        f.debug_struct("Target")
            .field("url", &self.redacted())
            .finish()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn ip_literal(addr: std::net::IpAddr, trace: &mut impl Trace) -> NetError {
    let e = NetError::IpLiteral { addr };
    trace.step("ip-literal", false, || e.message());
    e
}

/// Checks everything after the scheme: userinfo, host (never an IP
/// literal), port.
fn check_authority(
    url: &Url,
    scheme: Scheme,
    trace: &mut impl Trace,
) -> Result<(CanonicalHost, u16), NetError> {
    if url.scheme() != scheme.as_str() {
        // The textual scheme and the parser's differ: refuse rather than
        // guess which one a server would see.
        let e = NetError::SchemeNotAllowed {
            scheme: url.scheme().to_string(),
        };
        trace.step("scheme", false, || e.message());
        return Err(e);
    }
    if !url.username().is_empty() || url.password().is_some() {
        let e = NetError::Userinfo {
            host: url.host_str().unwrap_or_default().to_string(),
        };
        trace.step("userinfo", false, || e.message());
        return Err(e);
    }
    trace.step("userinfo", true, || "no credentials in the URL".into());
    let host = match url.host() {
        Some(url::Host::Domain(d)) => match CanonicalHost::from_parsed_domain(d) {
            Ok(h) => {
                trace.step("ip-literal", true, || {
                    "host is a name, not an IP address".into()
                });
                trace.step("host", true, || format!("canonical host {h}"));
                h
            }
            Err(e) => {
                let e = NetError::from(e);
                trace.step("host", false, || e.message());
                return Err(e);
            }
        },
        Some(url::Host::Ipv4(a)) => return Err(ip_literal(a.into(), trace)),
        Some(url::Host::Ipv6(a)) => return Err(ip_literal(a.into(), trace)),
        None => {
            let e = NetError::InvalidUrl {
                reason: "no host".into(),
            };
            trace.step("host", false, || e.message());
            return Err(e);
        }
    };
    let port = url.port_or_known_default().unwrap_or(scheme.default_port());
    if port == 0 {
        let e = NetError::PortNotAllowed {
            host: host.to_string(),
            port,
        };
        trace.step("port", false, || e.message());
        return Err(e);
    }
    Ok((host, port))
}

/// The scheme as the WHATWG parser reads it: leading C0 controls and spaces
/// trimmed, tabs and newlines ignored, ASCII-lowercased.
fn leading_scheme(input: &str) -> Option<std::borrow::Cow<'static, str>> {
    // Fast path for the spelling nearly every caller uses.
    if input.starts_with("https://") {
        return Some("https".into());
    }
    if input.starts_with("http://") {
        return Some("http".into());
    }
    let mut out = String::new();
    let trimmed = input.trim_start_matches(|c: char| c <= ' ');
    for c in trimmed.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')) {
        match c {
            ':' if !out.is_empty() => return Some(out.into()),
            'a'..='z' | 'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '0'..='9' | '+' | '-' | '.' if !out.is_empty() => out.push(c),
            _ => return None,
        }
    }
    None
}
