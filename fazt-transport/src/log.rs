//! The default log sink: one structured `tracing` event per call.

use fazt_policy::{LogEntry, LogSink};

/// Writes each call as an `info` event on the `fazt_egress` target (errors
/// as `warn`). Never blocks beyond what the installed subscriber does.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingSink;

impl LogSink for TracingSink {
    fn record(&self, e: LogEntry) {
        let code = e.error.map(|c| c.as_str());
        if code.is_some() {
            tracing::warn!(target: "fazt_egress", app = e.app.as_deref(), host = %e.host, method = %e.method,
                path = %e.path, status = e.status, code, duration_ms = e.duration_ms,
                bytes_in = e.bytes_in, bytes_out = e.bytes_out, cache_hit = e.cache_hit, "egress call failed");
        } else {
            tracing::info!(target: "fazt_egress", app = e.app.as_deref(), host = %e.host, method = %e.method,
                path = %e.path, status = e.status, duration_ms = e.duration_ms,
                bytes_in = e.bytes_in, bytes_out = e.bytes_out, cache_hit = e.cache_hit, "egress call");
        }
    }
}
