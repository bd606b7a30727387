//! The one error type of egress: [`NetError`], with its stable [`ErrorCode`].
//!
//! Every refusal and failure, from a malformed URL to a TLS alert, ends up as
//! a `NetError`. Its [`Display`](std::fmt::Display) form is the message shown
//! to script authors and operators: it starts with the code, names the rule
//! that fired and the host it fired for, and never contains a secret value or
//! a query string.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The stable error codes. They are part of the public API: scripts switch on
/// them, so a code is never renamed or reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Refused by the allowlist, IP, scheme, port, IP-literal or redirect rules.
    Blocked,
    /// The upstream did not answer within the call's deadline.
    Timeout,
    /// The per-request call limit, or an app or global concurrency limit.
    Limit,
    /// Not enough of the request's network budget is left to start a call.
    Budget,
    /// A request or response body (or the response headers) over its limit.
    Size,
    /// Malformed input, DNS failure, TLS, connection and other failures.
    Error,
    /// A secret is missing, or bound to another domain.
    Auth,
    /// The domain's rate limit.
    Rate,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::Blocked,
        ErrorCode::Timeout,
        ErrorCode::Limit,
        ErrorCode::Budget,
        ErrorCode::Size,
        ErrorCode::Error,
        ErrorCode::Auth,
        ErrorCode::Rate,
    ];

    /// The wire spelling, e.g. `NET_BLOCKED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Blocked => "NET_BLOCKED",
            ErrorCode::Timeout => "NET_TIMEOUT",
            ErrorCode::Limit => "NET_LIMIT",
            ErrorCode::Budget => "NET_BUDGET",
            ErrorCode::Size => "NET_SIZE",
            ErrorCode::Error => "NET_ERROR",
            ErrorCode::Auth => "NET_AUTH",
            ErrorCode::Rate => "NET_RATE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code that is not one of [`ErrorCode::ALL`]'s wire spellings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownErrorCode(pub String);

impl fmt::Display for UnknownErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown error code {:?} (expected one of NET_BLOCKED, NET_TIMEOUT, NET_LIMIT, NET_BUDGET, NET_SIZE, NET_ERROR, NET_AUTH, NET_RATE)", self.0)
    }
}

impl std::error::Error for UnknownErrorCode {}

impl std::str::FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    /// The code whose wire spelling ([`ErrorCode::as_str`]) is `s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownErrorCode(s.to_string()))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why an egress call was refused or failed.
///
/// Each variant is one rule; [`code`](Self::code), [`is_retryable`](Self::is_retryable)
/// and [`retry_after`](Self::retry_after) derive from it, and
/// [`http_status`](Self::http_status) maps it for hosts in exactly one place.
/// Strings carried by variants are hosts, names and library messages, never
/// secret values or query strings. Serializable, so that a refusal made in
/// one process can be explained in another (an isolated script run's).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum NetError {
    /// The URL's scheme is neither `http` nor `https`.
    SchemeNotAllowed {
        /// The scheme, lowercased.
        scheme: String,
    },
    /// The URL carries credentials (`user:pass@`); use `auth` instead.
    Userinfo {
        /// The host the credentials were addressed to.
        host: String,
    },
    /// The host is an IP address, in any spelling the URL parser accepts.
    IpLiteral {
        /// The address the parser made of the host.
        addr: IpAddr,
    },
    /// No allowlist entry covers the host.
    NotAllowlisted {
        /// Canonical host.
        host: String,
        /// The app the request was made for, if any.
        app: Option<String>,
    },
    /// The host is allowlisted, but not on this port.
    PortNotAllowed {
        /// Canonical host.
        host: String,
        /// The requested port.
        port: u16,
    },
    /// Plain `http` to a host whose entry does not allow it.
    HttpNotAllowed {
        /// Canonical host.
        host: String,
    },
    /// The host resolved to an address that is not globally reachable (or
    /// that an operator denied).
    AddressBlocked {
        /// Canonical host.
        host: String,
        /// The offending address.
        addr: IpAddr,
        /// The rule that blocked it.
        reason: crate::BlockReason,
    },
    /// More redirects than `max_redirects`.
    TooManyRedirects {
        /// The host that sent the last redirect.
        host: String,
        /// The limit in force.
        max: u8,
    },
    /// A redirect that could carry the injected secret on: its `Location`
    /// holds the secret (in any spelling) and leads to another origin or
    /// fails the policy, or it leads to another origin after a request that
    /// carried the secret in its query.
    SecretWouldLeave {
        /// The secret's own host, which sent the redirect.
        host: String,
    },
    /// The caller asked for `redirect: "error"` and the upstream redirected.
    RedirectNotAllowed {
        /// The host that sent the redirect.
        host: String,
        /// The redirect status.
        status: u16,
    },
    /// The upstream did not answer before the call's deadline.
    Timeout {
        /// Canonical host.
        host: String,
        /// The deadline that expired, in milliseconds.
        after_ms: u64,
    },
    /// Name resolution did not finish before the deadline.
    DnsTimeout {
        /// Canonical host.
        host: String,
    },
    /// The request already made `max_calls` calls.
    CallLimit {
        /// The limit in force.
        max: u32,
    },
    /// The app already has `app_concurrency` calls in flight.
    AppConcurrency {
        /// The app.
        app: String,
        /// The limit in force.
        max: u32,
    },
    /// The process already has `concurrency` calls in flight.
    GlobalConcurrency {
        /// The limit in force.
        max: u32,
    },
    /// The process already waits on the system resolver for `max` names
    /// (lookups that outlived their calls hold a thread each until the
    /// resolver gives up).
    LookupsInFlight {
        /// The limit in force.
        max: u32,
    },
    /// Less than `min_net_time` of the request's budget is left.
    BudgetExhausted {
        /// Budget left, in milliseconds.
        left_ms: u64,
        /// Minimum needed to start a call, in milliseconds.
        needed_ms: u64,
    },
    /// The URL is over `max_url_length`.
    UrlTooLong {
        /// Its length in bytes.
        length: u64,
        /// The limit.
        max: u64,
    },
    /// The request body is over `max_request_body`.
    RequestBodyTooLarge {
        /// Body size in bytes.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// The response body is over the response limit.
    ResponseTooLarge {
        /// Canonical host.
        host: String,
        /// The limit in force.
        max: u64,
    },
    /// The response headers are over `max_response_headers`.
    ResponseHeadersTooLarge {
        /// Canonical host.
        host: String,
        /// The limit in force.
        max: u64,
    },
    /// The URL could not be parsed.
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The host could not be canonicalized.
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request header name or value is not acceptable.
    InvalidHeader {
        /// The header name (escaped if it contains control characters).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request method is not a valid token.
    InvalidMethod {
        /// The method as given (escaped).
        method: String,
    },
    /// An option passed by the caller has the wrong type or value.
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A redirect's `Location` could not be resolved to a URL.
    InvalidRedirect {
        /// The host that sent the redirect.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Name resolution failed or returned no address.
    Dns {
        /// Canonical host.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// TLS handshake or certificate failure.
    Tls {
        /// Canonical host.
        host: String,
        /// What TLS said.
        reason: String,
    },
    /// Connecting or talking to the upstream failed.
    Connection {
        /// Canonical host.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The host could not carry out the call (no thread to make it on,
    /// no answer from the process that makes it).
    HostFailure {
        /// What failed.
        reason: String,
    },
    /// The secret named by `auth` does not exist for this app.
    SecretMissing {
        /// The secret's name.
        name: String,
    },
    /// The secret is bound to no domain, so it is used for none.
    SecretUnbound {
        /// The secret's name.
        name: String,
    },
    /// The secret is bound to another domain than the request's host.
    SecretDomain {
        /// The secret's name.
        name: String,
        /// Canonical host of the request.
        host: String,
    },
    /// The domain's rate limit is exhausted.
    RateLimited {
        /// Canonical host (or the allowlist entry's pattern).
        host: String,
        /// When a token will be available again.
        retry_after: Duration,
    },
}

impl NetError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        use NetError::*;
        match self {
            SchemeNotAllowed { .. }
            | Userinfo { .. }
            | IpLiteral { .. }
            | NotAllowlisted { .. }
            | PortNotAllowed { .. }
            | HttpNotAllowed { .. }
            | AddressBlocked { .. }
            | TooManyRedirects { .. }
            | RedirectNotAllowed { .. }
            | SecretWouldLeave { .. } => ErrorCode::Blocked,
            Timeout { .. } | DnsTimeout { .. } => ErrorCode::Timeout,
            CallLimit { .. }
            | AppConcurrency { .. }
            | GlobalConcurrency { .. }
            | LookupsInFlight { .. } => ErrorCode::Limit,
            BudgetExhausted { .. } => ErrorCode::Budget,
            RequestBodyTooLarge { .. }
            | ResponseTooLarge { .. }
            | ResponseHeadersTooLarge { .. } => ErrorCode::Size,
            InvalidUrl { .. }
            | UrlTooLong { .. }
            | InvalidHost { .. }
            | InvalidHeader { .. }
            | InvalidMethod { .. }
            | InvalidOption { .. }
            | InvalidRedirect { .. }
            | Dns { .. }
            | Tls { .. }
            | Connection { .. }
            | HostFailure { .. } => ErrorCode::Error,
            SecretMissing { .. } | SecretUnbound { .. } | SecretDomain { .. } => ErrorCode::Auth,
            RateLimited { .. } => ErrorCode::Rate,
        }
    }

    /// Whether trying again later may succeed. This belongs to the error, not
    /// the code: a full concurrency slot is retryable, the call limit is not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            NetError::AppConcurrency { .. }
                | NetError::GlobalConcurrency { .. }
                | NetError::LookupsInFlight { .. }
                | NetError::BudgetExhausted { .. }
                | NetError::RateLimited { .. }
        )
    }

    /// The rule that fired, as a short stable name (`allowlist`,
    /// `ip-literal`, `max_response`, ...): for logs, JSON and tests.
    pub fn rule(&self) -> &'static str {
        use NetError::*;
        match self {
            SchemeNotAllowed { .. } => "scheme",
            Userinfo { .. } => "userinfo",
            IpLiteral { .. } => "ip-literal",
            NotAllowlisted { .. } => "allowlist",
            PortNotAllowed { .. } => "port",
            HttpNotAllowed { .. } => "http",
            AddressBlocked { .. } => "address",
            TooManyRedirects { .. } => "max_redirects",
            RedirectNotAllowed { .. } => "redirect",
            SecretWouldLeave { .. } => "secret-origin",
            Timeout { .. } => "timeout",
            DnsTimeout { .. } => "dns-timeout",
            CallLimit { .. } => "max_calls",
            AppConcurrency { .. } => "app_concurrency",
            GlobalConcurrency { .. } => "concurrency",
            LookupsInFlight { .. } => "lookups",
            BudgetExhausted { .. } => "budget",
            RequestBodyTooLarge { .. } => "max_request_body",
            ResponseTooLarge { .. } => "max_response",
            ResponseHeadersTooLarge { .. } => "max_response_headers",
            InvalidUrl { .. } => "url",
            UrlTooLong { .. } => "max_url_length",
            InvalidHost { .. } => "host",
            InvalidHeader { .. } => "header",
            InvalidMethod { .. } => "method",
            InvalidOption { .. } => "option",
            InvalidRedirect { .. } => "location",
            Dns { .. } => "dns",
            Tls { .. } => "tls",
            Connection { .. } => "connection",
            HostFailure { .. } => "host-failure",
            SecretMissing { .. } => "secret",
            SecretUnbound { .. } | SecretDomain { .. } => "secret-domain",
            RateLimited { .. } => "rate_limit",
        }
    }

    /// This error with `f` applied to every text it carries: hosts,
    /// names, schemes, options, methods, apps and the reasons a library or
    /// a server supplied (a host or a scheme may come from a server's
    /// `Location`). Numbers, addresses and codes are kept. The transport
    /// passes [`Injection::scrub`](crate::Injection::scrub).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> NetError {
        use NetError::*;
        let g = |s: String| f(&s);
        match self {
            SchemeNotAllowed { scheme } => SchemeNotAllowed { scheme: g(scheme) },
            Userinfo { host } => Userinfo { host: g(host) },
            NotAllowlisted { host, app } => NotAllowlisted {
                host: g(host),
                app: app.map(g),
            },
            PortNotAllowed { host, port } => PortNotAllowed {
                host: g(host),
                port,
            },
            HttpNotAllowed { host } => HttpNotAllowed { host: g(host) },
            AddressBlocked { host, addr, reason } => AddressBlocked {
                host: g(host),
                addr,
                reason,
            },
            TooManyRedirects { host, max } => TooManyRedirects { host: g(host), max },
            RedirectNotAllowed { host, status } => RedirectNotAllowed {
                host: g(host),
                status,
            },
            SecretWouldLeave { host } => SecretWouldLeave { host: g(host) },
            Timeout { host, after_ms } => Timeout {
                host: g(host),
                after_ms,
            },
            DnsTimeout { host } => DnsTimeout { host: g(host) },
            AppConcurrency { app, max } => AppConcurrency { app: g(app), max },
            ResponseTooLarge { host, max } => ResponseTooLarge { host: g(host), max },
            ResponseHeadersTooLarge { host, max } => ResponseHeadersTooLarge { host: g(host), max },
            InvalidUrl { reason } => InvalidUrl { reason: g(reason) },
            InvalidHost { host, reason } => InvalidHost {
                host: g(host),
                reason: g(reason),
            },
            InvalidHeader { name, reason } => InvalidHeader {
                name: g(name),
                reason: g(reason),
            },
            InvalidMethod { method } => InvalidMethod { method: g(method) },
            InvalidOption { option, reason } => InvalidOption {
                option: g(option),
                reason: g(reason),
            },
            InvalidRedirect { host, reason } => InvalidRedirect {
                host: g(host),
                reason: g(reason),
            },
            Dns { host, reason } => Dns {
                host: g(host),
                reason: g(reason),
            },
            Tls { host, reason } => Tls {
                host: g(host),
                reason: g(reason),
            },
            Connection { host, reason } => Connection {
                host: g(host),
                reason: g(reason),
            },
            HostFailure { reason } => HostFailure { reason: g(reason) },
            SecretMissing { name } => SecretMissing { name: g(name) },
            SecretUnbound { name } => SecretUnbound { name: g(name) },
            SecretDomain { name, host } => SecretDomain {
                name: g(name),
                host: g(host),
            },
            RateLimited { host, retry_after } => RateLimited {
                host: g(host),
                retry_after,
            },
            other @ (IpLiteral { .. }
            | CallLimit { .. }
            | GlobalConcurrency { .. }
            | LookupsInFlight { .. }
            | BudgetExhausted { .. }
            | UrlTooLong { .. }
            | RequestBodyTooLarge { .. }) => other,
        }
    }

    /// When to try again, where known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NetError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status a host should answer with when a script fails with
    /// this error: 503 (with `Retry-After`) when retryable, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        if self.is_retryable() {
            503
        } else {
            500
        }
    }

    /// The `Retry-After` header value in whole seconds (rounded up, at least
    /// 1) for retryable errors, `None` otherwise.
    pub fn retry_after_header(&self) -> Option<u64> {
        if !self.is_retryable() {
            return None;
        }
        let ms = self.retry_after().map_or(1000, |d| d.as_millis());
        Some(u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX).max(1))
    }

    /// The message without the leading code; [`Display`](fmt::Display)
    /// prefixes it with the code.
    pub fn message(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_message(&mut out);
        out
    }

    fn write_message(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        use NetError::*;
        match self {
            SchemeNotAllowed { scheme } => {
                write!(f, "scheme \"{scheme}\" is not allowed (only https, or http where the allowlist entry allows it)")
            }
            Userinfo { host } => write!(
                f,
                "credentials in the URL for host {host} are not allowed; pass a secret name with `auth`"
            ),
            IpLiteral { addr } => write!(
                f,
                "IP address {addr} used as host; only allowlisted host names may be called"
            ),
            NotAllowlisted { host, app: Some(app) } => {
                write!(f, "host {host} is not on the allowlist for app \"{app}\"")
            }
            NotAllowlisted { host, app: None } => write!(f, "host {host} is not on the allowlist"),
            PortNotAllowed { host, port } => write!(
                f,
                "port {port} is not allowed for host {host}; add an allowlist entry with that port"
            ),
            HttpNotAllowed { host } => write!(
                f,
                "plain http is not allowed for host {host}; use https or allow http on its entry"
            ),
            AddressBlocked { host, addr, reason } => {
                write!(f, "host {host} resolves to {addr}, which is blocked: {reason}")
            }
            TooManyRedirects { host, max } => {
                write!(f, "too many redirects (more than {max}), last from host {host}")
            }
            RedirectNotAllowed { host, status } => write!(
                f,
                "host {host} answered with redirect {status}, and redirects are refused for this call"
            ),
            SecretWouldLeave { host } => write!(
                f,
                "host {host} redirected where the injected secret could travel on (in the new URL, or a query secret to another origin); the redirect is not followed"
            ),
            Timeout { host, after_ms } => {
                write!(f, "host {host} did not answer within {after_ms} ms")
            }
            DnsTimeout { host } => write!(f, "resolving host {host} timed out"),
            CallLimit { max } => write!(f, "call limit reached: at most {max} calls per request"),
            AppConcurrency { app, max } => write!(
                f,
                "app \"{app}\" already has {max} calls in flight (app_concurrency)"
            ),
            GlobalConcurrency { max } => {
                write!(f, "{max} calls already in flight (concurrency)")
            }
            LookupsInFlight { max } => write!(
                f,
                "{max} name lookups already waiting on the system resolver (lookups)"
            ),
            BudgetExhausted { left_ms, needed_ms } => write!(
                f,
                "network budget exhausted: {left_ms} ms left, {needed_ms} ms needed to start a call"
            ),
            UrlTooLong { length, max } => write!(
                f,
                "URL of {length} bytes is over the limit of {max} bytes (max_url_length)"
            ),
            RequestBodyTooLarge { size, max } => write!(
                f,
                "request body of {size} bytes is over the limit of {max} bytes (max_request_body)"
            ),
            ResponseTooLarge { host, max } => write!(
                f,
                "response from host {host} is over the limit of {max} bytes (max_response)"
            ),
            ResponseHeadersTooLarge { host, max } => write!(
                f,
                "response headers from host {host} are over the limit of {max} bytes (max_response_headers)"
            ),
            InvalidUrl { reason } => write!(f, "invalid URL: {reason}"),
            InvalidHost { host, reason } => write!(f, "invalid host \"{host}\": {reason}"),
            InvalidHeader { name, reason } => write!(f, "invalid header \"{name}\": {reason}"),
            InvalidMethod { method } => write!(f, "invalid method \"{method}\""),
            InvalidOption { option, reason } => write!(f, "invalid option `{option}`: {reason}"),
            InvalidRedirect { host, reason } => {
                write!(f, "invalid redirect from host {host}: {reason}")
            }
            Dns { host, reason } => write!(f, "resolving host {host} failed: {reason}"),
            Tls { host, reason } => write!(f, "TLS with host {host} failed: {reason}"),
            Connection { host, reason } => write!(f, "connection to host {host} failed: {reason}"),
            HostFailure { reason } => write!(f, "the call could not be made: {reason}"),
            SecretMissing { name } => write!(f, "secret \"{name}\" does not exist"),
            SecretUnbound { name } => write!(
                f,
                "secret \"{name}\" is not bound to a domain; set it again with `fazt secret set {name} --domain HOST`"
            ),
            SecretDomain { name, host } => write!(
                f,
                "secret \"{name}\" is bound to another domain than host {host}"
            ),
            RateLimited { host, retry_after } => write!(
                f,
                "rate limit for host {host} reached; retry after {} ms",
                retry_after.as_millis()
            ),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        self.write_message(f)
    }
}

impl std::error::Error for NetError {}

/// Escapes control characters so that a hostile value cannot forge log lines
/// or terminal output when it is echoed in a message.
pub(crate) fn escape(s: &str) -> String {
    s.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // Errors travel through every `Result` of the hot path: keep them
        // within a cache line and a half.
        assert!(
            std::mem::size_of::<NetError>() <= 96,
            "{}",
            std::mem::size_of::<NetError>()
        );
    }

    #[test]
    fn retry_after_header_rounds_up() {
        let e = NetError::RateLimited {
            host: "a.example".into(),
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(e.http_status(), 503);
        assert_eq!(e.retry_after_header(), Some(2));
        let e = NetError::CallLimit { max: 5 };
        assert_eq!(e.http_status(), 500);
        assert_eq!(e.retry_after_header(), None);
        let e = NetError::GlobalConcurrency { max: 20 };
        assert_eq!(e.retry_after_header(), Some(1));
    }
}
