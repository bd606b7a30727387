//! Per-request accounting: how many calls a request made and how much of its
//! network budget is left.
//!
//! Pure arithmetic: the caller measures time and reports it back with
//! [`RequestBudget::finish_call`]; nothing here reads a clock.

use std::time::Duration;

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
        }
    }

    /// Counts a call (refused calls count too: call this first) and returns
    /// its deadline: min(call timeout or the entry's override, budget left,
    /// the caller's timeout).
    ///
    /// Errors: the call beyond `max_calls` is [`NetError::CallLimit`] (not
    /// retryable); less than `min_net_time` left is
    /// [`NetError::BudgetExhausted`].
    pub fn start_call(
        &mut self,
        entry_timeout: Option<Duration>,
        caller_timeout: Option<Duration>,
    ) -> Result<Duration, NetError> {
        self.count_call()?;
        self.deadline(entry_timeout, caller_timeout)
    }

    /// Counts a call against `max_calls` without computing a deadline.
    pub fn count_call(&mut self) -> Result<(), NetError> {
        if self.calls >= self.max_calls {
            return Err(NetError::CallLimit {
                max: self.max_calls,
            });
        }
        self.calls += 1;
        Ok(())
    }

    /// The deadline a call started now would get (see
    /// [`start_call`](Self::start_call)), without counting it.
    pub fn deadline(
        &self,
        entry_timeout: Option<Duration>,
        caller_timeout: Option<Duration>,
    ) -> Result<Duration, NetError> {
        let left = self.left();
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

    /// Records the time a call spent on the network.
    pub fn finish_call(&mut self, spent: Duration) {
        self.spent = self.spent.saturating_add(spent);
    }

    /// Calls made so far (refused ones included).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Budget left.
    pub fn left(&self) -> Duration {
        self.budget.saturating_sub(self.spent)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
