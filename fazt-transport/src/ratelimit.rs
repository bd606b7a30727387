//! Per-domain rate limits: one token bucket per allowlist entry (a wildcard
//! entry shares one bucket across its subdomains, so a script cannot dodge
//! the limit by varying the subdomain).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fazt_policy::{NetError, TokenBucket};
use parking_lot::Mutex;

/// Most buckets kept; beyond it, full (idle) buckets are forgotten first.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug)]
pub(crate) struct RateLimits {
    epoch: Instant,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimits {
    pub(crate) fn new() -> Self {
        RateLimits {
            epoch: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` (`per_minute`, `burst`), or refuses with the
    /// time until one is there.
    pub(crate) fn take(
        &self,
        key: &str,
        host: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<(), NetError> {
        let now = self.epoch.elapsed();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| !b.is_full(now));
            if buckets.len() >= MAX_BUCKETS {
                // Every bucket is in use: forget an arbitrary one rather
                // than grow without bound (it restarts full).
                if let Some(k) = buckets.keys().next().cloned() {
                    buckets.remove(&k);
                }
            }
        }
        let bucket = buckets
            .entry(key.to_string())
            .or_insert_with(|| TokenBucket::new(per_minute, burst, now));
        bucket
            .try_take(now)
            .map_err(|retry_after: Duration| NetError::RateLimited {
                host: host.to_string(),
                retry_after,
            })
    }
}
