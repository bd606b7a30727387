//! The seams between sibling crates: plain-data traits implemented by
//! fazt-secrets (and by test doubles) and called by fazt-transport, so the
//! two never depend on each other.

use crate::{Allowlist, CanonicalHost, ErrorCode, Injection, Limits, NetError};

/// Resolves a secret name (`auth: "STRIPE_KEY"`) into an injection for one
/// request. Implementations check scope (the app's secret first, then a
/// global one) and domain binding ([`check_secret_domain`](crate::check_secret_domain)).
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
