//! [`Limits`]: every tunable number, its default, its allowed range, and a
//! schema for UIs and `fazt limits --schema`.

use std::fmt;

use serde::Serialize;

/// Defines the struct, its defaults, its schema and validation from one table,
/// so a field cannot have a default without a range or a description.
macro_rules! limits {
    ($( $(#[$doc:meta])* $field:ident: $default:expr, $min:expr, $max:expr, $unit:literal, $label:literal, $desc:literal; )*) => {
        /// Egress limits. Build with [`Limits::default`], change fields, then
        /// [`Limits::validate`]; or use [`Limits::set`], which validates.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        #[non_exhaustive]
        pub struct Limits {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits { $( $field: $default, )* }
            }
        }

        /// The schema of every field, in declaration order.
        const SCHEMA: &[FieldSchema] = &[
            $( FieldSchema {
                name: stringify!($field),
                label: $label,
                description: $desc,
                unit: $unit,
                min: $min,
                max: $max,
                default: $default,
            }, )*
        ];

        impl Limits {
            /// The value of a field by name.
            pub fn get(&self, name: &str) -> Option<u64> {
                match name {
                    $( stringify!($field) => Some(self.$field), )*
                    _ => None,
                }
            }

            fn field_mut(&mut self, name: &str) -> Option<&mut u64> {
                match name {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

limits! {
    /// Calls allowed in one request.
    max_calls: 5, 1, 20, "calls", "Calls per request", "Maximum fetch calls one script run may make; refused calls count too.";
    /// Timeout of one call.
    call_timeout_ms: 4000, 1000, 10_000, "ms", "Call timeout", "Longest time one call (all its redirect hops) may take.";
    /// Total time all calls of one request may spend.
    budget_ms: 4000, 1000, 10_000, "ms", "Network budget", "Total time all calls of one request may spend on the network.";
    /// Execution limit of a script run.
    exec_timeout_ms: 5000, 100, 10_000, "ms", "Script time limit", "Longest time one script run may execute before it is stopped.";
    /// Budget needed to start a call.
    min_net_time_ms: 1000, 0, 5000, "ms", "Minimum call time", "A call is not started with less than this much budget left.";
    /// Calls one app may have in flight.
    app_concurrency: 5, 1, 20, "calls", "Concurrent calls per app", "Calls one app may have in flight at once.";
    /// Calls the whole process may have in flight.
    concurrency: 20, 5, 100, "calls", "Concurrent calls", "Calls the whole host may have in flight at once.";
    /// Largest request body.
    max_request_body: MIB, KIB, 10 * MIB, "bytes", "Request body limit", "Largest request body a script may send.";
    /// Largest response body.
    max_response: MIB, KIB, crate::EntryOverrides::HARD_MAX_RESPONSE, "bytes", "Response body limit", "Largest response body read; larger responses fail with NET_SIZE.";
    /// Largest response header block.
    max_response_headers: 64 * KIB, KIB, MIB, "bytes", "Response header limit", "Largest response header block read.";
    /// Redirect hops followed per call.
    max_redirects: 3, 0, 10, "hops", "Redirects", "Redirect hops followed per call, each checked like a new request.";
    /// Requests per minute per domain.
    rate_limit: 0, 0, 1000, "requests/min", "Rate limit", "Requests per minute to one domain (0 = off).";
    /// Burst above the rate.
    rate_burst: 0, 0, 100, "requests", "Rate burst", "Requests allowed at once above the steady rate.";
    /// Request-log entries buffered in memory.
    log_buffer: 1000, 100, 10_000, "entries", "Log buffer", "Request-log entries buffered before the oldest is dropped.";
    /// Request-log flush interval.
    log_flush_ms: 1000, 500, 10_000, "ms", "Log flush interval", "How often buffered request-log entries are written.";
    /// Console output kept per script run.
    max_console_bytes: 64 * KIB, KIB, MIB, "bytes", "Console output limit", "Bytes of console output kept per script run; the rest is dropped with a marker.";
    /// Bytes the request log keeps.
    log_max_bytes: 64 * MIB, MIB, 1024 * MIB, "bytes", "Log size", "Bytes of request-log rows kept; the oldest rows go first.";
    /// Longest URL a call may name.
    max_url_length: 16 * KIB, KIB, 64 * KIB, "bytes", "URL length limit", "Longest URL a call may name; longer ones are refused before anything else.";
    /// Largest result of a script run.
    max_result_bytes: MIB, KIB, 10 * MIB, "bytes", "Result limit", "Largest completion value of a script run, as JSON text.";
    /// Response cache entries.
    cache_max_items: 1000, 0, 10_000, "entries", "Cache entries", "Responses kept in the memory cache (0 = off); only entries with a cache TTL are cached.";
    /// Response cache size.
    cache_max_bytes: 16 * MIB, 0, 100 * MIB, "bytes", "Cache size", "Bytes of responses kept in the memory cache (0 = off).";
}

/// One field's schema: what a UI needs to show and check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FieldSchema {
    /// Field name, as in configuration.
    pub name: &'static str,
    /// Short label.
    pub label: &'static str,
    /// One-sentence description.
    pub description: &'static str,
    /// Unit of the value.
    pub unit: &'static str,
    /// Smallest allowed value.
    pub min: u64,
    /// Largest allowed value.
    pub max: u64,
    /// Default value.
    pub default: u64,
}

/// A limit that could not be set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitsError {
    /// No field has this name.
    UnknownField(String),
    /// The value is outside the field's range.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
}

impl Limits {
    /// The schema of every field.
    pub fn schema() -> &'static [FieldSchema] {
        SCHEMA
    }

    /// The schema of the field `name`.
    pub fn field_schema(name: &str) -> Option<&'static FieldSchema> {
        SCHEMA.iter().find(|s| s.name == name)
    }

    /// Checks every field against its range; the first violation is
    /// reported.
    pub fn validate(&self) -> Result<(), LimitsError> {
        SCHEMA.iter().try_for_each(|s| {
            // Every schema name is a field: `get` cannot miss.
            s.check(self.get(s.name).unwrap_or(s.default))
        })
    }

    /// The request body rule: a body of `size` bytes may be sent only if it
    /// is not over `max_request_body`.
    pub fn check_request_body(&self, size: u64) -> Result<(), crate::NetError> {
        if size > self.max_request_body {
            return Err(crate::NetError::RequestBodyTooLarge {
                size,
                max: self.max_request_body,
            });
        }
        Ok(())
    }

    /// The URL length rule: a URL of `length` bytes may be requested only
    /// if it is not over `max_url_length`.
    pub fn check_url_length(&self, length: usize) -> Result<(), crate::NetError> {
        let length = length as u64;
        if length > self.max_url_length {
            return Err(crate::NetError::UrlTooLong {
                length,
                max: self.max_url_length,
            });
        }
        Ok(())
    }

    /// Sets one field by name, refusing values outside its range.
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), LimitsError> {
        let schema = SCHEMA
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| LimitsError::UnknownField(crate::error::escape(name)))?;
        schema.check(value)?;
        if let Some(slot) = self.field_mut(name) {
            *slot = value;
        }
        Ok(())
    }
}

impl FieldSchema {
    fn check(&self, value: u64) -> Result<(), LimitsError> {
        if (self.min..=self.max).contains(&value) {
            Ok(())
        } else {
            Err(LimitsError::OutOfRange {
                field: self.name,
                value,
                min: self.min,
                max: self.max,
            })
        }
    }
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitsError::UnknownField(n) => write!(f, "unknown limit \"{n}\""),
            LimitsError::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "limit {field} = {value} is out of range {min}..={max}"),
        }
    }
}

impl std::error::Error for LimitsError {}
