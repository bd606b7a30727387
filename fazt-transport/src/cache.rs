//! The response cache: memory only, least recently used out first, bounded
//! by entries and bytes.
//!
//! What is cached: a 2xx answer to a GET with no body, no `auth`, and no
//! caller `authorization` or `cookie` header, to a host whose allowlist
//! entry sets `cache_ttl`, if `fazt_policy::cache::storable` allows it (not
//! `no-store`/`private`, no `Set-Cookie`, no `Vary`). The key is
//! `fazt_policy::cache::cache_key`: app, method, canonical URL with its
//! query, and every request header that reaches the upstream.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::Response;

#[derive(Debug)]
pub(crate) struct Cache {
    max_items: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tick: u64,
    bytes: usize,
    entries: HashMap<String, Entry>,
    /// Last-use tick -> key, oldest first.
    order: BTreeMap<u64, String>,
}

#[derive(Debug)]
struct Entry {
    response: Response,
    expires: Instant,
    size: usize,
    tick: u64,
}

impl Cache {
    /// A cache, or `None` when either bound is zero (caching off).
    pub(crate) fn new(max_items: u64, max_bytes: u64) -> Option<Self> {
        let max_items = usize::try_from(max_items).ok()?;
        let max_bytes = usize::try_from(max_bytes).ok()?;
        (max_items > 0 && max_bytes > 0).then(|| Cache {
            max_items,
            max_bytes,
            inner: Mutex::new(Inner::default()),
        })
    }

    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<Response> {
        let mut inner = self.inner.lock();
        let expired = inner.entries.get(key)?.expires <= now;
        if expired {
            inner.remove(key);
            return None;
        }
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(key)?;
        let old = std::mem::replace(&mut entry.tick, tick);
        let response = entry.response.clone();
        inner.order.remove(&old);
        inner.order.insert(tick, key.to_string());
        Some(response)
    }

    pub(crate) fn put(&self, key: String, response: &Response, ttl: Duration, now: Instant) {
        let size =
            key.len() + response.body.len() + response.url.len() + response.headers.wire_size();
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.inner.lock();
        inner.remove(&key);
        while inner.entries.len() >= self.max_items || inner.bytes + size > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.remove(&oldest);
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.bytes += size;
        inner.order.insert(tick, key.clone());
        inner.entries.insert(
            key,
            Entry {
                response: response.clone(),
                expires: now + ttl,
                size,
                tick,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.entries.len(), inner.bytes)
    }
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= e.size;
            self.order.remove(&e.tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fazt_policy::headers::ResponseHeaders;

    fn resp(body: usize) -> Response {
        Response {
            status: 200,
            status_text: "OK".into(),
            url: "https://a.test/".into(),
            redirected: false,
            headers: ResponseHeaders::default(),
            body: vec![b'x'; body],
            from_cache: false,
        }
    }

    #[test]
    fn evicts_least_recently_used_within_bounds() {
        let c = Cache::new(2, 10_000).unwrap();
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        c.put("a".into(), &resp(10), ttl, now);
        c.put("b".into(), &resp(10), ttl, now);
        assert!(c.get("a", now).is_some()); // a is now the most recent
        c.put("c".into(), &resp(10), ttl, now);
        assert!(c.get("b", now).is_none(), "b was least recently used");
        assert!(c.get("a", now).is_some() && c.get("c", now).is_some());
        assert_eq!(c.usage().0, 2);
    }

    #[test]
    fn byte_bound_and_expiry() {
        let c = Cache::new(100, 200).unwrap();
        let now = Instant::now();
        c.put("a".into(), &resp(150), Duration::from_secs(1), now);
        c.put("b".into(), &resp(150), Duration::from_secs(1), now);
        assert!(c.get("a", now).is_none(), "evicted to stay under 200 bytes");
        assert!(c.usage().1 <= 200);
        assert!(
            c.get("b", now + Duration::from_secs(2)).is_none(),
            "expired"
        );
        assert_eq!(c.usage(), (0, 0));
        c.put("big".into(), &resp(500), Duration::from_secs(1), now);
        assert_eq!(c.usage(), (0, 0), "larger than the whole cache: not stored");
        assert!(Cache::new(0, 100).is_none() && Cache::new(10, 0).is_none());
    }
}
