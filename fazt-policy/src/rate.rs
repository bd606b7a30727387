//! Token-bucket rate limiting, with time passed in.

use std::time::Duration;

/// A token bucket refilled at `per_minute` tokens a minute, holding at most
/// `max(burst, 1)` tokens. Times are offsets from any fixed origin the caller
/// chooses (e.g. process start); nothing here reads a clock.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket at time `now`. `per_minute` must be at least 1.
    pub fn new(per_minute: u32, burst: u32, now: Duration) -> Self {
        let capacity = f64::from(burst.max(1));
        TokenBucket {
            capacity,
            per_ms: f64::from(per_minute.max(1)) / 60_000.0,
            tokens: capacity,
            last: now,
        }
    }

    /// Takes one token at time `now`, or says how long until one is there.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fazt_policy::TokenBucket;
    /// let t0 = Duration::ZERO;
    /// let mut b = TokenBucket::new(60, 1, t0); // one a second
    /// assert!(b.try_take(t0).is_ok());
    /// assert_eq!(b.try_take(t0), Err(Duration::from_secs(1)));
    /// assert!(b.try_take(Duration::from_secs(1)).is_ok());
    /// ```
    pub fn try_take(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let ms = ((1.0 - self.tokens) / self.per_ms).ceil().max(1.0);
        // `ms` is at most 60_000 (one token at the slowest rate).
        Err(Duration::from_millis(ms as u64))
    }

    /// Whether the bucket is full at `now` (an idle bucket can be forgotten).
    pub fn is_full(&self, now: Duration) -> bool {
        let mut b = self.clone();
        b.refill(now);
        b.tokens >= b.capacity
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let elapsed = (now - self.last).as_secs_f64() * 1000.0;
            self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
            self.last = now;
        }
    }
}
