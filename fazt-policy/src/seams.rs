//! The seams between sibling crates: plain-data traits implemented by
//! fazt-secrets (and by test doubles) and called by fazt-transport, so the
//! two never depend on each other.

use std::borrow::Cow;
use std::fmt;

use crate::{Allowlist, CanonicalHost, ErrorCode, HostPattern, Limits, NetError};

/// Where an injected secret goes in the outgoing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InjectAs {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// A header with this (lowercase) name.
    Header(String),
    /// A query parameter with this name.
    Query(String),
}

/// A secret value. It has no `Display`, its `Debug` is redacted, and the
/// only way to read it is [`SecretValue::expose`], which the transport calls
/// while writing the request.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself. Only the transport's injection step should call
    /// this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A secret ready to be injected.
#[derive(Clone, Debug)]
pub struct Injection {
    /// Where it goes.
    pub inject_as: InjectAs,
    /// The value.
    pub value: SecretValue,
}

impl Injection {
    /// The rule for text that goes back to the caller (the final URL, every
    /// response header, an error message): every occurrence of the secret's
    /// value, as it is or percent-encoded, becomes `[REDACTED]`. A server
    /// may echo what it received anywhere; the value never comes back.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let value = self.value.expose();
        if value.is_empty() {
            return Cow::Borrowed(text);
        }
        let forms = [
            value.to_string(),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
            percent_encode_all(value),
        ];
        let mut out = Cow::Borrowed(text);
        for form in forms.iter().filter(|f| !f.is_empty()) {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), REDACTED));
            }
        }
        out
    }
}

/// What a scrubbed secret value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// `value` with every byte but ASCII letters and digits percent-encoded.
fn percent_encode_all(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The secret binding rule: a secret named `name`, bound to `domain`, may be
/// injected into a request to `host` only if the domain matches it; a secret
/// bound to no domain is injected nowhere.
///
/// # Errors
/// [`NetError::SecretUnbound`] without a domain, [`NetError::SecretDomain`]
/// when it does not match.
pub fn check_secret_domain(
    name: &str,
    domain: Option<&HostPattern>,
    host: &CanonicalHost,
) -> Result<(), NetError> {
    match domain {
        None => Err(NetError::SecretUnbound {
            name: name.to_string(),
        }),
        Some(domain) if !domain.matches(host) => Err(NetError::SecretDomain {
            name: name.to_string(),
            host: host.to_string(),
        }),
        Some(_) => Ok(()),
    }
}

/// Resolves a secret name (`auth: "STRIPE_KEY"`) into an injection for one
/// request. Implementations check scope (the app's secret first, then a
/// global one) and domain binding ([`check_secret_domain`]).
pub trait SecretInjector: Send + Sync {
    /// Looks `name` up for `app`, for a request to `host`.
    ///
    /// Errors: [`NetError::SecretMissing`] for an unknown name,
    /// [`NetError::SecretDomain`] when the secret is bound to another domain.
    fn resolve(
        &self,
        app: Option<&str>,
        name: &str,
        host: &CanonicalHost,
    ) -> Result<Injection, NetError>;
}

/// One egress call, as logged. Never contains a query string or a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The app, if any.
    pub app: Option<String>,
    /// Canonical host of the first hop (or the raw host if it never parsed).
    pub host: String,
    /// Request method.
    pub method: String,
    /// Path of the first hop, without query.
    pub path: String,
    /// Final status, when a response arrived.
    pub status: Option<u16>,
    /// Error code, when the call failed.
    pub error: Option<ErrorCode>,
    /// Time spent, in milliseconds.
    pub duration_ms: u64,
    /// Response body bytes received.
    pub bytes_in: u64,
    /// Request body bytes sent.
    pub bytes_out: u64,
    /// Served from the response cache.
    pub cache_hit: bool,
    /// When the call started, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// The longest text field (host, path) a [`LogEntry`] keeps, in bytes.
pub const LOG_FIELD_MAX: usize = 2048;

/// The log field rule: `text` as the request log keeps it, at most
/// [`LOG_FIELD_MAX`] bytes (cut on a character boundary, then marked
/// `... [truncated]`), with control characters replaced by `?`. A script
/// chooses the host and path it calls; it must not flood the log or forge
/// lines in it.
pub fn log_field(text: &str) -> String {
    let mut cut = text.len().min(LOG_FIELD_MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out: String = text[..cut]
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if cut < text.len() {
        out.push_str("... [truncated]");
    }
    out
}

/// Receives one [`LogEntry`] per call. `record` must not block.
pub trait LogSink: Send + Sync {
    /// Records one call.
    fn record(&self, entry: LogEntry);
}

/// A sink that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl LogSink for NullSink {
    fn record(&self, _: LogEntry) {}
}

/// Where a running host gets allowlist changes made elsewhere (by the CLI,
/// in another process). Polled before each call, so it must be cheap when
/// nothing changed.
pub trait AllowlistSource: Send + Sync {
    /// The new allowlist if it changed since the last call, `None`
    /// otherwise (or when it cannot be read: the old one stays in force).
    fn poll(&self) -> Option<Allowlist>;

    /// The new limits if they changed since the last call, `None` otherwise
    /// (the default: a source without limits leaves them as they are).
    fn poll_limits(&self) -> Option<Limits> {
        None
    }
}
