//! [`SharedBudget`]: one request's budget, shared by the calls it makes at
//! the same time.

use std::sync::Arc;

use fazt_policy::{Limits, NetError, RequestBudget};
use parking_lot::Mutex;

/// A request's [`RequestBudget`] shared by calls in flight together (a
/// script's concurrent `fetch` calls). Cheap to clone; clones share it.
///
/// A call is counted toward `max_calls` first, on the caller's thread
/// ([`count_call`](Self::count_call)), and made later, anywhere, with the
/// [`Counted`] token ([`EgressClient::fetch_counted`]): a caller can refuse
/// the call beyond the limit before it copies or queues anything. The time
/// charged is the wall-clock time during which at least one call was in
/// flight (see [`RequestBudget`]).
///
/// [`EgressClient::fetch_counted`]: crate::EgressClient::fetch_counted
#[derive(Clone, Debug)]
pub struct SharedBudget(Arc<Mutex<RequestBudget>>);

/// A call counted toward its request's `max_calls`, to be made with
/// [`EgressClient::fetch_counted`](crate::EgressClient::fetch_counted).
#[derive(Debug)]
#[must_use = "a counted call is made with EgressClient::fetch_counted"]
pub struct Counted(SharedBudget);

impl SharedBudget {
    /// A fresh budget under `limits`.
    pub fn new(limits: &Limits) -> Self {
        SharedBudget(Arc::new(Mutex::new(RequestBudget::new(limits))))
    }

    /// Counts a call (refused ones count too).
    ///
    /// Errors: the call beyond `max_calls` is [`NetError::CallLimit`].
    pub fn count_call(&self) -> Result<Counted, NetError> {
        self.0.lock().count_call()?;
        Ok(Counted(self.clone()))
    }

    /// Calls counted so far.
    pub fn calls(&self) -> u32 {
        self.0.lock().calls()
    }

    /// Runs `f` on the budget, locked.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut RequestBudget) -> T) -> T {
        f(&mut self.0.lock())
    }
}

impl Counted {
    /// The budget the call is charged to.
    pub(crate) fn budget(&self) -> &SharedBudget {
        &self.0
    }
}
