//! The web's `fetch` (js/web.js) on the Rust side: how a call begins, when
//! it is made on the script's own thread, and the async op that makes the
//! others on call threads.
//!
//! A call begins with [`op_fazt_web_fetch`]: counted and checked at once,
//! in the order the script made its calls, then queued in the run's
//! [`WebQueue`] until the script's turn is over (its microtasks included).
//! deno_core runs the queue's task ([`dispatch`]) from its event loop once
//! that turn has ended. A call that is then alone in flight, with no timer
//! set, is made right there, on the script's thread: nothing else of the
//! run could need the event loop while it is in flight, and handing it to
//! a call thread would cost two thread wake-ups and an event-loop turn of
//! deno_core's async-op machinery. The others are handed to
//! [`op_fazt_web_fetch_wait`], which waits for a slot and makes each on a
//! call thread of its own, so calls started together are in flight
//! together.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use deno_core::{op2, serde_v8, v8, OpState, V8TaskSpawner};
use fazt_policy::NetError;

use crate::op::{
    error_outcome, no_slot, on_call_thread, reentered, route, run_deadline, within, FetchArgs,
    Outcome, Route, Timer,
};

/// Begins a web fetch, with the same arguments as the blocking
/// [`op_fazt_fetch`](crate::op::op_fazt_fetch), the call's number
/// (js/web.js numbers a run's calls) and the `resolve` function of the
/// promise js/web.js waits on. The call is counted and checked now.
/// `resolve` is called with the call's outcome record (a refusal at once,
/// or the response of a call [`dispatch`] made), or with `null` once the
/// call has been handed to [`op_fazt_web_fetch_wait`].
#[op2]
pub(crate) fn op_fazt_web_fetch(
    scope: &mut v8::PinScope,
    state: Rc<RefCell<OpState>>,
    #[string] url: String,
    #[serde] options: Option<FetchArgs>,
    #[string] body: String,
    body_kind: u8,
    body_size: f64,
    id: u32,
    resolve: v8::Local<v8::Function>,
) {
    // A call the event loop cannot serve is refused at once: a call handed
    // on is a pending async op, which deno_core hands to the current tokio
    // runtime, and it panics (aborting the process, inside the engine's
    // callback) when there is none.
    let route = if tokio::runtime::Handle::try_current().is_err() {
        Route::Refused(error_outcome(&no_event_loop()))
    } else {
        match state.try_borrow() {
            Ok(s) => route(&s, url, options, body, body_kind, body_size),
            Err(_) => Route::Refused(error_outcome(&reentered())),
        }
    };
    let Ok(mut s) = state.try_borrow_mut() else {
        // Not reachable from a script: no op of ours runs script code
        // while the state is borrowed.
        settle(scope, resolve, Some(error_outcome(&reentered())));
        return;
    };
    // Every call is counted, a refused one too: js/web.js gives each one
    // back when its promise settles.
    WebCallsPending::count(&mut s, id);
    if let Route::Refused(outcome) = route {
        drop(s);
        WebCallsPending::answered(&state, id);
        settle(scope, resolve, Some(outcome));
        return;
    }
    // deno_core puts one in every runtime's OpState; were it missing, the
    // call would be refused rather than lost.
    let Some(spawner) = s.try_borrow::<V8TaskSpawner>().cloned() else {
        drop(s);
        WebCallsPending::answered(&state, id);
        let refusal = NetError::HostFailure {
            reason: "the web fetch cannot reach the event loop's tasks".into(),
        };
        settle(scope, resolve, Some(error_outcome(&refusal)));
        return;
    };
    let resolve = v8::Global::new(scope, resolve);
    if !s.has::<WebQueue>() {
        s.put(WebQueue::default());
    }
    let queue = s.borrow_mut::<WebQueue>();
    queue.calls.push(Queued { id, route, resolve });
    if !queue.scheduled {
        queue.scheduled = true;
        let weak = Rc::downgrade(&state);
        spawner.spawn(move |scope| dispatch(scope, &weak));
    }
}

/// Makes web fetch `id`, which [`dispatch`] handed on: it waits for one of
/// the run's slots ([`RunSlots`]) and is made on a call thread of its own.
/// The thread ends when the transport answers (by the call's deadline,
/// which the run's deadline bounds), whether or not the run still waits
/// for it.
///
/// [`RunSlots`]: crate::op::RunSlots
#[op2]
#[serde]
pub(crate) fn op_fazt_web_fetch_wait(
    state: Rc<RefCell<OpState>>,
    id: u32,
) -> impl std::future::Future<Output = Outcome> {
    let handed = state
        .try_borrow_mut()
        .ok()
        .and_then(|mut s| s.try_borrow_mut::<Handed>()?.0.remove(&id));
    // Only a call this op makes counts as answered when it ends: a number
    // with nothing handed on (which js/web.js never asks for) answers at
    // once and gives nothing back.
    let made = handed.is_some();
    let route = handed.unwrap_or_else(|| {
        Route::Refused(error_outcome(&NetError::HostFailure {
            reason: format!("no web fetch numbered {id} was handed on"),
        }))
    });
    async move {
        let outcome = on_thread(Rc::clone(&state), route, id).await;
        if made {
            WebCallsPending::answered(&state, id);
        }
        outcome
    }
}

/// The script received the answer of web fetch `id` ([`WebCallsPending`]);
/// a number not counted, not answered yet or given back already changes
/// nothing.
#[op2(fast)]
pub(crate) fn op_fazt_web_fetch_done(state: &mut OpState, id: u32) {
    WebCallsPending::given_back(state, id);
    // An abort of a call that was refused (never made) is forgotten here.
    if let Some(aborted) = state.try_borrow_mut::<Aborted>() {
        aborted.0.remove(&id);
    }
}

/// Marks web fetch `id` of this run as aborted.
#[op2(fast)]
pub(crate) fn op_fazt_web_fetch_abort(state: &mut OpState, id: u32) {
    if !state.has::<Aborted>() {
        state.put(Aborted::default());
    }
    state.borrow_mut::<Aborted>().0.insert(id);
}

/// The run's web fetches begun in the script's current turn, waiting for
/// [`dispatch`], and whether its task is queued.
#[derive(Default)]
struct WebQueue {
    calls: Vec<Queued>,
    scheduled: bool,
}

struct Queued {
    id: u32,
    route: Route,
    /// Called by [`dispatch`] (see [`op_fazt_web_fetch`]).
    resolve: v8::Global<v8::Function>,
}

/// The calls [`dispatch`] handed to [`op_fazt_web_fetch_wait`], by number.
#[derive(Default)]
struct Handed(HashMap<u32, Route>);

/// The task deno_core's event loop runs for the run's [`WebQueue`], after
/// the turn in which its calls began (its microtask checkpoint comes
/// first). A call alone in flight ([`may_call_inline`]) is made here, on
/// this thread; every other is handed to [`op_fazt_web_fetch_wait`].
fn dispatch(scope: &mut v8::PinScope, state: &Weak<RefCell<OpState>>) {
    let Some(state) = state.upgrade() else {
        return;
    };
    // Nothing of ours holds the state while the loop runs its tasks.
    let calls = match state.try_borrow_mut() {
        Ok(mut s) => match s.try_borrow_mut::<WebQueue>() {
            Some(queue) => {
                queue.scheduled = false;
                std::mem::take(&mut queue.calls)
            }
            None => return,
        },
        Err(_) => return,
    };
    let alone = calls.len() == 1 && may_call_inline(&state);
    v8::scope!(let scope, scope);
    for Queued { id, route, resolve } in calls {
        let made = if alone {
            make_here(&state, route, id)
        } else {
            Made::HandOn(route)
        };
        let outcome = match made {
            Made::Here(outcome) => {
                WebCallsPending::answered(&state, id);
                Some(outcome)
            }
            Made::HandOn(route) => {
                if let Ok(mut s) = state.try_borrow_mut() {
                    if !s.has::<Handed>() {
                        s.put(Handed::default());
                    }
                    s.borrow_mut::<Handed>().0.insert(id, route);
                }
                None
            }
        };
        let resolve = v8::Local::new(scope, &resolve);
        settle(scope, resolve, outcome);
    }
}

/// What [`dispatch`] does with a call.
enum Made {
    /// Made here (or refused): its outcome.
    Here(Outcome),
    /// To be made on a call thread.
    HandOn(Route),
}

/// Makes a call on this thread if one of the run's slots is free now (the
/// call is alone in flight, so one is, unless the run's blocking calls
/// hold them all); otherwise gives the call back, to be handed on.
fn make_here(state: &Rc<RefCell<OpState>>, route: Route, id: u32) -> Made {
    if let Route::Refused(outcome) = route {
        return Made::Here(outcome);
    }
    let Some(slot) = route.slots().and_then(|s| s.try_acquire()) else {
        return Made::HandOn(route);
    };
    if was_aborted(state, id) {
        return Made::Here(error_outcome(&aborted()));
    }
    Made::Here(route.make_blocking(slot, run_deadline(state)))
}

/// Settles a web fetch's promise through its `resolve` function: with the
/// outcome record, or with `null` (handed on). The record is an array
/// without a prototype, so resolving with it looks up no `then` a script
/// could have put on `Array.prototype` or `Object.prototype`: no script
/// code runs here.
fn settle(scope: &mut v8::PinScope, resolve: v8::Local<v8::Function>, outcome: Option<Outcome>) {
    let value: v8::Local<v8::Value> = match outcome {
        None => v8::null(scope).into(),
        Some(outcome) => {
            let Ok(value) = serde_v8::to_v8(scope, outcome) else {
                // The engine is stopping the run; nothing waits for this.
                return;
            };
            let Ok(record) = v8::Local::<v8::Object>::try_from(value) else {
                return;
            };
            let null = v8::null(scope).into();
            if record.set_prototype(scope, null) != Some(true) {
                return;
            }
            value
        }
    };
    let undefined = v8::undefined(scope).into();
    let _ = resolve.call(scope, undefined, &[value]);
}

/// The run's web fetches whose answer the script has not yet received:
/// counted when the op is called, uncounted by js/web.js when the call's
/// promise settles ([`op_fazt_web_fetch_done`]), not when the call ends.
/// A call answered while the script's turn still runs stays counted until
/// the script has seen the answer, so a call started in that turn is not
/// taken for one alone in flight while that answer's continuation (which
/// may start another call or abort this one) waits for it. Only a call
/// the host has answered ([`WebCallsPending::answered`]) can be given
/// back: nothing js/web.js is made to do early uncounts a call in flight.
#[derive(Debug, Default)]
struct WebCallsPending(HashMap<u32, bool>);

impl WebCallsPending {
    /// Counts web fetch `id` of the run `state` belongs to.
    fn count(state: &mut OpState, id: u32) {
        if !state.has::<WebCallsPending>() {
            state.put(WebCallsPending::default());
        }
        state.borrow_mut::<WebCallsPending>().0.insert(id, false);
    }

    /// The host has handed the script the answer of web fetch `id`.
    fn answered(state: &Rc<RefCell<OpState>>, id: u32) {
        if let Ok(mut s) = state.try_borrow_mut() {
            if let Some(answered) = s
                .try_borrow_mut::<WebCallsPending>()
                .and_then(|p| p.0.get_mut(&id))
            {
                *answered = true;
            }
        }
    }

    /// The script received the answer of web fetch `id`.
    fn given_back(state: &mut OpState, id: u32) {
        if let Some(pending) = state.try_borrow_mut::<WebCallsPending>() {
            if pending.0.get(&id) == Some(&true) {
                pending.0.remove(&id);
            }
        }
    }
}

/// Whether a web fetch may be made on the script's own thread, blocking
/// the event loop until it is answered, instead of being handed to a call
/// thread: only when nothing else of the run could need the loop
/// meanwhile. That is: it is the only web fetch of the run whose answer
/// the script has not yet received ([`WebCallsPending`]: every call the
/// script started in the same turn is counted, and so is every call
/// answered but not yet seen, whose continuation could abort this one or
/// start another), and no timer is set (a timer is the other thing that
/// could, while it is in flight). Its deadline is the run's at most, as a
/// blocking `fazt.net.fetch`'s is. An embedder's own async ops in the same
/// runtime are not seen: they keep going on their own threads, and are
/// answered in the loop once the call returns.
fn may_call_inline(state: &Rc<RefCell<OpState>>) -> bool {
    let Ok(s) = state.try_borrow() else {
        return false;
    };
    let alone = s
        .try_borrow::<WebCallsPending>()
        .is_some_and(|c| c.0.len() == 1);
    let no_timer = s
        .try_borrow::<Timer>()
        .is_none_or(|t| t.due.get().is_none());
    alone && no_timer
}

/// The refusal of a web fetch begun outside a tokio runtime.
fn no_event_loop() -> NetError {
    NetError::HostFailure {
        reason: "the web fetch needs an event loop: run the script inside a tokio runtime \
                 (Runtime::enter, as ScriptRunner does)"
            .into(),
    }
}

/// Makes a call [`dispatch`] handed on: after a slot, on a call thread (or
/// by the parent process, for an isolated run's worker).
async fn on_thread(state: Rc<RefCell<OpState>>, route: Route, id: u32) -> Outcome {
    if let Route::Refused(outcome) = route {
        return outcome;
    }
    let slot = match route.slots() {
        Some(slots) => slots.acquire().await,
        None => None,
    };
    let Some(slot) = slot else {
        return error_outcome(&no_slot());
    };
    if was_aborted(&state, id) {
        return error_outcome(&aborted());
    }
    // The time waited for the slot is gone from the run.
    let deadline = run_deadline(&state);
    match route {
        Route::Local(call, _) => {
            let call = call.within(deadline);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = on_call_thread(Box::new(move || {
                let result = call.make();
                drop(slot);
                let _ = tx.send(result);
            }));
            if let Err(e) = spawned {
                return error_outcome(&NetError::HostFailure {
                    reason: format!("no thread for the call: {e}"),
                });
            }
            match rx.await {
                Ok(result) => result.into(),
                Err(_) => error_outcome(&NetError::HostFailure {
                    reason: "the call's thread ended without an answer".into(),
                }),
            }
        }
        Route::Remote(remote, args, body) => remote
            .call_async(within(args, deadline), body, slot)
            .await
            .into(),
        Route::Refused(outcome) => outcome,
    }
}

/// The web fetches of a run whose signal aborted them (js/web.js numbers
/// its calls). One aborted before it is made is never made; one already
/// made runs to its end (the transport cannot be interrupted, and its
/// deadline bounds it).
#[derive(Debug, Default)]
struct Aborted(std::collections::HashSet<u32>);

/// Whether web fetch `id` was aborted (and forgets it).
fn was_aborted(state: &Rc<RefCell<OpState>>, id: u32) -> bool {
    state
        .try_borrow_mut()
        .ok()
        .and_then(|mut s| s.try_borrow_mut::<Aborted>().map(|a| a.0.remove(&id)))
        .unwrap_or(false)
}

/// What an aborted call answers (the script never sees it: its promise was
/// rejected with the signal's reason when the signal aborted).
fn aborted() -> NetError {
    NetError::InvalidOption {
        option: "signal".into(),
        reason: "the call was aborted before it was made".into(),
    }
}
