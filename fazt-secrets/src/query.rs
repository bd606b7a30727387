//! Reading the request log: recent calls and per-host statistics.

use rusqlite::params;

use crate::{Store, StoreError};

/// Which log rows to read.
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// Only this app's calls.
    pub app: Option<String>,
    /// Only calls to this host.
    pub host: Option<String>,
    /// Only failed calls.
    pub errors_only: bool,
    /// Only calls that started at or after this time, ms since the epoch.
    pub since_ms: Option<i64>,
    /// Only rows written after the row with this id (to follow the log).
    pub after_id: Option<i64>,
    /// At most this many rows, newest first (0 = 100).
    pub limit: usize,
}

/// One logged call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRow {
    /// The row's number: later rows have larger ones.
    pub id: i64,
    /// When it started, ms since the Unix epoch.
    pub at_unix_ms: i64,
    /// App, if any.
    pub app: Option<String>,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path, without query.
    pub path: String,
    /// Final status.
    pub status: Option<u16>,
    /// Error code.
    pub error: Option<String>,
    /// Duration in ms.
    pub duration_ms: i64,
    /// Response bytes.
    pub bytes_in: i64,
    /// Request bytes.
    pub bytes_out: i64,
    /// Served from cache.
    pub cache_hit: bool,
}

/// Statistics for one host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostStats {
    /// Host.
    pub host: String,
    /// Calls logged.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// `errors / calls`.
    pub error_rate: f64,
    /// Median duration, ms.
    pub p50_ms: i64,
    /// 95th percentile duration, ms.
    pub p95_ms: i64,
    /// Response bytes.
    pub bytes_in: i64,
    /// Request bytes.
    pub bytes_out: i64,
}

impl Store {
    /// Recent calls matching `q`, newest first.
    pub fn recent_logs(&self, q: &LogQuery) -> Result<Vec<LogRow>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, app, host, method, path, status, error, duration_ms, bytes_in, bytes_out, cache_hit, id
             FROM request_log
             WHERE (?1 IS NULL OR app = ?1) AND (?2 IS NULL OR host = ?2) AND (?3 = 0 OR error IS NOT NULL)
               AND (?5 IS NULL OR at_ms >= ?5) AND (?6 IS NULL OR id > ?6)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let limit = if q.limit == 0 { 100 } else { q.limit };
        let rows = stmt.query_map(
            params![
                q.app,
                q.host,
                q.errors_only,
                i64::try_from(limit).unwrap_or(i64::MAX),
                q.since_ms,
                q.after_id
            ],
            |r| {
                let app: String = r.get(1)?;
                Ok(LogRow {
                    id: r.get(11)?,
                    at_unix_ms: r.get(0)?,
                    app: (!app.is_empty()).then_some(app),
                    host: r.get(2)?,
                    method: r.get(3)?,
                    path: r.get(4)?,
                    status: r.get(5)?,
                    error: r.get(6)?,
                    duration_ms: r.get(7)?,
                    bytes_in: r.get(8)?,
                    bytes_out: r.get(9)?,
                    cache_hit: r.get(10)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per-host statistics over the rows kept, busiest host first.
    pub fn host_stats(&self) -> Result<Vec<HostStats>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT host, duration_ms, error IS NOT NULL, bytes_in, bytes_out FROM request_log
             ORDER BY host, duration_ms",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: Vec<HostStats> = Vec::new();
        let mut durations: Vec<i64> = Vec::new();
        while let Some(r) = rows.next()? {
            let host: String = r.get(0)?;
            if out.last().is_none_or(|s| s.host != host) {
                finish(out.last_mut(), &mut durations);
                out.push(HostStats {
                    host,
                    calls: 0,
                    errors: 0,
                    error_rate: 0.0,
                    p50_ms: 0,
                    p95_ms: 0,
                    bytes_in: 0,
                    bytes_out: 0,
                });
            }
            if let Some(s) = out.last_mut() {
                s.calls += 1;
                s.errors += u64::from(r.get::<_, bool>(2)?);
                s.bytes_in += r.get::<_, i64>(3)?;
                s.bytes_out += r.get::<_, i64>(4)?;
                durations.push(r.get(1)?);
            }
        }
        finish(out.last_mut(), &mut durations);
        out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.host.cmp(&b.host)));
        Ok(out)
    }
}

/// Fills in rates and percentiles from the host's sorted durations.
fn finish(stats: Option<&mut HostStats>, durations: &mut Vec<i64>) {
    if let Some(s) = stats {
        s.error_rate = s.errors as f64 / s.calls.max(1) as f64;
        s.p50_ms = percentile(durations, 50);
        s.p95_ms = percentile(durations, 95);
    }
    durations.clear();
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}
