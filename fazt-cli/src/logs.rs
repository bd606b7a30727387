//! `fazt net logs`: the request log, with readable times, a time window,
//! and `--follow`.

use std::time::Duration;

use clap::Args;
use fazt_secrets::{LogQuery, LogRow, Store};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde_json::json;

use crate::context::open_store;
use crate::output::{print, print_json, shown, usage, Failure};
use crate::Global;

/// How often `--follow` looks for new rows.
const FOLLOW_EVERY: Duration = Duration::from_millis(300);

/// `fazt net logs`.
#[derive(Args, Debug)]
#[command(after_long_help = "Examples:
  fazt net logs --since 10m
  fazt net logs --app shop --errors --limit 20
  fazt net logs --since 2026-11-26T10:00 --local
  fazt net logs --follow")]
pub(crate) struct LogsArgs {
    /// Only this app's calls
    #[arg(long)]
    app: Option<String>,
    /// Only calls to this host
    #[arg(long)]
    host: Option<String>,
    /// Only failed calls
    #[arg(long)]
    errors: bool,
    /// Only calls since then: a duration back from now (30s, 10m, 1h, 2d)
    /// or a time (2026-11-26T10:00, in UTC, or local time with --local; or
    /// with an offset, 2026-11-26T10:00+01:00)
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// At most this many rows (the newest)
    #[arg(long, default_value_t = 50, value_name = "N")]
    limit: usize,
    /// Times in the local time zone instead of UTC
    #[arg(long)]
    local: bool,
    /// Keep printing new rows as they are written, until interrupted
    #[arg(long, conflicts_with = "json")]
    follow: bool,
    /// Print JSON (times as epoch milliseconds and ISO 8601)
    #[arg(long)]
    json: bool,
}

pub(crate) fn logs(g: &Global, a: &LogsArgs) -> Result<(), Failure> {
    let zone = if a.local {
        TimeZone::system()
    } else {
        TimeZone::UTC
    };
    let since_ms = a
        .since
        .as_deref()
        .map(|s| parse_since(s, Timestamp::now(), &zone))
        .transpose()
        .map_err(usage)?;
    let store = open_store(g)?;
    let mut query = LogQuery {
        app: a.app.clone(),
        host: a.host.clone(),
        errors_only: a.errors,
        since_ms,
        after_id: None,
        limit: a.limit.max(1),
    };
    let rows = store.recent_logs(&query)?;
    if a.json {
        let rows: Vec<_> = rows.iter().map(|r| row_json(r, &zone)).collect();
        return print_json(&rows);
    }
    if rows.is_empty() && !a.follow {
        return print("no requests logged\n");
    }
    print(&render(rows.iter().rev(), &zone))?;
    if !a.follow {
        return Ok(());
    }
    query.after_id = Some(rows.first().map_or(0, |r| r.id));
    query.limit = 1000;
    follow(&store, query, &zone)
}

/// Prints rows written after `query.after_id`, as they come.
fn follow(store: &Store, mut query: LogQuery, zone: &TimeZone) -> Result<(), Failure> {
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let rows = store.recent_logs(&query)?;
        if let Some(newest) = rows.first() {
            query.after_id = Some(newest.id);
            print(&render(rows.iter().rev(), zone))?;
        }
    }
}

/// One line per row: time, app, method, host and path, outcome, duration,
/// bytes in.
fn render<'a>(rows: impl Iterator<Item = &'a LogRow>, zone: &TimeZone) -> String {
    let mut out = String::new();
    for r in rows {
        let outcome = r
            .error
            .clone()
            .unwrap_or_else(|| r.status.map_or("-".into(), |s| s.to_string()));
        out.push_str(&format!(
            "{}  {:<8} {:<6} {}{}  {}  {} ms  {} B\n",
            iso(r.at_unix_ms, zone),
            shown(r.app.as_deref().unwrap_or("-")),
            shown(&r.method),
            shown(&r.host),
            shown(&r.path),
            shown(&outcome),
            r.duration_ms,
            r.bytes_in
        ));
    }
    out
}

fn row_json(r: &LogRow, zone: &TimeZone) -> serde_json::Value {
    json!({"at_ms": r.at_unix_ms, "at": iso(r.at_unix_ms, zone), "app": r.app, "host": r.host,
           "method": r.method, "path": r.path, "status": r.status, "error": r.error,
           "duration_ms": r.duration_ms, "bytes_in": r.bytes_in, "bytes_out": r.bytes_out,
           "cache_hit": r.cache_hit})
}

/// `ms` since the epoch as ISO 8601 with milliseconds, in `zone` (`Z` for
/// UTC, the offset otherwise).
fn iso(ms: i64, zone: &TimeZone) -> String {
    let Ok(at) = Timestamp::from_millisecond(ms) else {
        return format!("@{ms}");
    };
    let zoned: ZonedDateTime = at.to_zoned_datetime(zone.clone());
    if zone == &TimeZone::UTC {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
    }
}

/// Why a `--since` value was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadSince(String);

impl std::fmt::Display for BadSince {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--since {:?}: expected a duration back from now (30s, 10m, 1h, 2d) or a time \
             (2026-11-26T10:00, 2026-11-26T10:00:00+01:00)",
            self.0
        )
    }
}

/// `--since` as ms since the epoch: a duration before `now`, a time with
/// an offset, or a civil time in `zone`.
pub(crate) fn parse_since(text: &str, now: Timestamp, zone: &TimeZone) -> Result<i64, BadSince> {
    let bad = || BadSince(text.to_string());
    let t = text.trim();
    if let Some(unit) = t.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let number = &t[..t.len() - 1];
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = number.parse().map_err(|_| bad())?;
            let seconds = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(bad()),
            };
            let back = n.checked_mul(seconds * 1000).ok_or_else(bad)?;
            return Ok(now.as_millisecond().saturating_sub(back));
        }
    }
    if let Ok(at) = t.parse::<Timestamp>() {
        return Ok(at.as_millisecond());
    }
    let civil = t.parse::<jiff::civil::DateTime>().map_err(|_| bad())?;
    let at = civil.to_zoned_datetime(zone.clone()).map_err(|_| bad())?;
    Ok(at.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn since_reads_durations_and_times() {
        let now = at("2026-11-26T12:00:00Z");
        let utc = TimeZone::UTC;
        let ms = |s: &str| at(s).as_millisecond();
        assert_eq!(
            parse_since("10m", now, &utc),
            Ok(ms("2026-11-26T11:50:00Z"))
        );
        assert_eq!(parse_since("1h", now, &utc), Ok(ms("2026-11-26T11:00:00Z")));
        assert_eq!(parse_since("2d", now, &utc), Ok(ms("2026-11-24T12:00:00Z")));
        assert_eq!(
            parse_since("30s", now, &utc),
            Ok(ms("2026-11-26T11:59:30Z"))
        );
        assert_eq!(
            parse_since("2026-11-26T10:00", now, &utc),
            Ok(ms("2026-11-26T10:00:00Z"))
        );
        assert_eq!(
            parse_since("2026-11-26T10:00:00+01:00", now, &utc),
            Ok(ms("2026-11-26T09:00:00Z"))
        );
        let paris = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(
            parse_since("2026-11-26T10:00", now, &paris),
            Ok(ms("2026-11-26T09:00:00Z"))
        );
        for bad in ["", "10", "10w", "m", "yesterday", "2026-13-01T00:00", "-5m"] {
            assert_eq!(
                parse_since(bad, now, &utc),
                Err(BadSince(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_are_iso_8601() {
        let ms = at("2026-11-26T10:00:01.5Z").as_millisecond();
        assert_eq!(iso(ms, &TimeZone::UTC), "2026-11-26T10:00:01.500Z");
        let paris = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(iso(ms, &paris), "2026-11-26T11:00:01.500+01:00");
    }
}
