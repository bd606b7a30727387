//! Per-request accounting: how many calls a request made and how much of its
//! network budget is left.
//!
//! Pure arithmetic: the caller counts a call ([`RequestBudget::count_call`]),
//! asks for its deadline ([`RequestBudget::deadline_at`]) and reports the
//! instants it went on and off the network ([`RequestBudget::begin_flight`],
//! [`RequestBudget::end_flight`]); nothing here reads a clock.
//!
//! **Concurrent calls.** A request's network budget is charged the
//! wall-clock time during which at least one of its calls was in flight:
//! five calls made together for 200 ms cost 200 ms, not a second, and
//! calls made one after the other cost the sum of their times. A call
//! started while others are in flight gets a deadline from what is left at
//! that instant, so every call of the request ends by the moment the
//! budget runs out.

use std::time::{Duration, Instant};

use crate::{Limits, NetError};

/// The calls and network time one request (one script run) may still spend.
#[derive(Clone, Debug)]
pub struct RequestBudget {
    max_calls: u32,
    calls: u32,
    call_timeout: Duration,
    budget: Duration,
    spent: Duration,
    min_net_time: Duration,
    /// Calls on the network now.
    in_flight: u32,
    /// When the current stretch of calls in flight began.
    flight_since: Option<Instant>,
}

impl RequestBudget {
    /// A fresh budget under `limits`.
    pub fn new(limits: &Limits) -> Self {
        RequestBudget {
            max_calls: u32::try_from(limits.max_calls).unwrap_or(u32::MAX),
            calls: 0,
            call_timeout: Duration::from_millis(limits.call_timeout_ms),
            budget: Duration::from_millis(limits.budget_ms),
            spent: Duration::ZERO,
            min_net_time: Duration::from_millis(limits.min_net_time_ms),
            in_flight: 0,
            flight_since: None,
        }
    }

    /// Counts a call (refused calls count too: call this first).
    ///
    /// Errors: the call beyond `max_calls` is [`NetError::CallLimit`] (not
    /// retryable).
    pub fn count_call(&mut self) -> Result<(), NetError> {
        if self.calls >= self.max_calls {
            return Err(NetError::CallLimit {
                max: self.max_calls,
            });
        }
        self.calls += 1;
        Ok(())
    }

    /// The deadline of a call started at `now`: min(call timeout or the
    /// entry's override, budget left at `now` (other calls of the request
    /// may be in flight), the caller's timeout).
    ///
    /// Errors: less than `min_net_time` left is
    /// [`NetError::BudgetExhausted`].
    pub fn deadline_at(
        &self,
        now: Instant,
        entry_timeout: Option<Duration>,
        caller_timeout: Option<Duration>,
    ) -> Result<Duration, NetError> {
        let left = self.left_at(now);
        if left < self.min_net_time || left.is_zero() {
            return Err(NetError::BudgetExhausted {
                left_ms: millis(left),
                needed_ms: millis(self.min_net_time.max(Duration::from_millis(1))),
            });
        }
        let call = entry_timeout.unwrap_or(self.call_timeout);
        Ok([Some(call), Some(left), caller_timeout]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(left))
    }

    /// A call went on the network at `now`. The budget is charged from the
    /// first call in flight to the end of the last (see the module docs).
    pub fn begin_flight(&mut self, now: Instant) {
        if self.in_flight == 0 {
            self.flight_since = Some(now);
        }
        self.in_flight = self.in_flight.saturating_add(1);
    }

    /// A call that [`begin_flight`](Self::begin_flight) started left the
    /// network at `now`.
    pub fn end_flight(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            if let Some(since) = self.flight_since.take() {
                self.spent = self
                    .spent
                    .saturating_add(now.saturating_duration_since(since));
            }
        }
    }

    /// Budget left at `now`, counting the calls in flight.
    pub fn left_at(&self, now: Instant) -> Duration {
        let flying = self
            .flight_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        self.budget
            .saturating_sub(self.spent.saturating_add(flying))
    }

    /// Calls made so far (refused ones included).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Budget left, not counting calls still in flight (see
    /// [`left_at`](Self::left_at)).
    pub fn left(&self) -> Duration {
        self.budget.saturating_sub(self.spent)
    }
}

/// The one millisecond conversion: the whole milliseconds in `d`, as the
/// `*_ms` fields of limits, errors and logs count them (saturating at
/// `u64::MAX`).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
