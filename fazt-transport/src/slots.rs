//! Concurrency slots: at most `concurrency` calls in flight for the whole
//! process and `app_concurrency` per app.
//!
//! Both counters are checked and taken under one lock, so two threads can
//! never both take the last slot; a [`Slot`] guard gives them back on every
//! path, unwinding included. An app's counter is removed when it drops to
//! zero, so the table holds at most `concurrency` apps.

use std::collections::HashMap;
use std::sync::Arc;

use fazt_policy::NetError;
use parking_lot::Mutex;

/// The shared counters.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    global: u32,
    apps: HashMap<Box<str>, u32>,
}

/// One call's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    app: Option<Box<str>>,
}

impl Slots {
    /// Takes a slot for `app`, or says which limit is full.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        app: Option<&str>,
        global_max: u32,
        app_max: u32,
    ) -> Result<Slot, NetError> {
        let mut st = self.state.lock();
        if st.global >= global_max {
            return Err(NetError::GlobalConcurrency { max: global_max });
        }
        if let Some(app) = app {
            let n = st.apps.get(app).copied().unwrap_or(0);
            if n >= app_max {
                return Err(NetError::AppConcurrency {
                    app: app.to_string(),
                    max: app_max,
                });
            }
            st.apps.insert(app.into(), n + 1);
        }
        st.global += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            app: app.map(Into::into),
        })
    }

    /// Calls in flight, and apps with calls in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> (u32, usize) {
        let st = self.state.lock();
        (st.global, st.apps.len())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.slots.state.lock();
        st.global = st.global.saturating_sub(1);
        if let Some(app) = &self.app {
            if let Some(n) = st.apps.get_mut(app) {
                *n -= 1;
                if *n == 0 {
                    st.apps.remove(app);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_release() {
        let s = Arc::new(Slots::default());
        let a1 = s.acquire(Some("a"), 3, 2).unwrap();
        let a2 = s.acquire(Some("a"), 3, 2).unwrap();
        assert!(matches!(
            s.acquire(Some("a"), 3, 2),
            Err(NetError::AppConcurrency { max: 2, .. })
        ));
        let b1 = s.acquire(Some("b"), 3, 2).unwrap();
        assert!(matches!(
            s.acquire(None, 3, 2),
            Err(NetError::GlobalConcurrency { max: 3 })
        ));
        drop(a1);
        assert_eq!(s.in_flight(), (2, 2));
        drop((a2, b1));
        assert_eq!(
            s.in_flight(),
            (0, 0),
            "the app table does not keep idle apps"
        );
    }

    #[test]
    fn released_on_panic() {
        let s = Arc::new(Slots::default());
        let s2 = Arc::clone(&s);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _slot = s2.acquire(Some("a"), 1, 1).unwrap();
            panic!("upstream handler blew up");
        }));
        assert!(r.is_err());
        assert_eq!(s.in_flight(), (0, 0));
    }
}
