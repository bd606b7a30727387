//! The fetch op: a plain Rust function over fazt-transport (tested without
//! any engine), and the thin `#[op2]` wrappers that call it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::sync::Arc;

use deno_core::{op2, v8, OpState, ToJsBuffer};
use fazt_policy::{Limits, NetError};
use fazt_transport::{Counted, EgressClient, RedirectMode, Request, SharedBudget};
use serde::{Deserialize, Serialize};

use crate::worker::{FetchReply, RemoteFetch};

/// Per-run state kept in the runtime's `OpState`: which client, for which
/// app, what is left of the run's budget, and the run's concurrency slots.
#[derive(Debug)]
pub struct FetchContext {
    /// The client every call goes through.
    pub client: EgressClient,
    /// The app the script runs for.
    pub app: Option<String>,
    /// Calls made and network time left for this run, shared by its calls
    /// in flight.
    pub budget: SharedBudget,
    /// The run's concurrency slots (see [`RunSlots`]).
    pub slots: RunSlots,
    /// The refusals the run's calls met (see [`Refusals`]).
    pub refusals: Refusals,
}

/// The most refusals a run keeps.
const MAX_REFUSALS: usize = 32;

/// The refusals a run's calls met, the newest 32 of them, so
/// that a host can explain the one a script did not catch (the script only
/// ever sees its text).
#[derive(Clone, Debug, Default)]
pub struct Refusals(Arc<std::sync::Mutex<std::collections::VecDeque<NetError>>>);

impl Refusals {
    fn record(&self, e: &NetError) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() == MAX_REFUSALS {
            kept.pop_front();
        }
        kept.push_back(e.clone());
    }

    /// Every refusal kept, oldest first.
    pub fn all(&self) -> Vec<NetError> {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.iter().cloned().collect()
    }
}

impl FetchContext {
    /// A run's context: a fresh budget and `app_concurrency` slots under
    /// `limits`.
    pub fn new(client: EgressClient, app: Option<String>, limits: &Limits) -> Self {
        FetchContext {
            client,
            app,
            budget: SharedBudget::new(limits),
            slots: RunSlots::new(limits),
            refusals: Refusals::default(),
        }
    }

    /// Counts a call and checks its options, on the script's thread: the
    /// call is then made, blocking, with [`StartedCall::make`] on any
    /// thread. Invalid options are refused as `NET_ERROR` naming the
    /// option; every call, refused or not, counts toward `max_calls`.
    pub fn start(&self, args: FetchArgs, body: Option<Vec<u8>>) -> Result<StartedCall, NetError> {
        let started = self.budget.count_call().and_then(|counted| {
            Ok(StartedCall {
                client: self.client.clone(),
                app: self.app.clone(),
                request: to_request(args, body)?,
                counted,
                refusals: self.refusals.clone(),
            })
        });
        if let Err(e) = &started {
            self.refusals.record(e);
        }
        started
    }
}

/// A run's slots for calls in flight at once: `app_concurrency` of them,
/// taken by every call of the run, the blocking `fazt.net.fetch` as well
/// as the web's `fetch`. A call started beyond them (`await Promise.all`
/// of many calls) waits for one of the run's own calls to end, instead of
/// being refused by the app's slots in the transport; that refusal (and
/// the global cap's) is left for calls of other runs.
///
/// No waiter holds a slot before it runs: a slot given back is taken by
/// whoever looks first, so a blocking call (which stops the event loop)
/// never waits for a web call that the stopped loop would have to run.
#[derive(Clone, Debug)]
pub struct RunSlots(Arc<SlotsInner>);

#[derive(Debug)]
struct SlotsInner {
    free: std::sync::Mutex<usize>,
    /// Wakes blocking waiters.
    freed: std::sync::Condvar,
    /// Wakes waiters in the event loop.
    freed_async: tokio::sync::Notify,
}

/// One of a run's slots, given back when dropped (on whichever thread the
/// call ends).
#[derive(Debug)]
pub(crate) struct Slot(Arc<SlotsInner>);

impl Drop for Slot {
    fn drop(&mut self) {
        let inner = &self.0;
        *inner
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        inner.freed.notify_all();
        inner.freed_async.notify_waiters();
    }
}

impl RunSlots {
    /// `app_concurrency` slots.
    pub fn new(limits: &Limits) -> Self {
        let n = usize::try_from(limits.app_concurrency).unwrap_or(1).max(1);
        RunSlots(Arc::new(SlotsInner {
            free: std::sync::Mutex::new(n),
            freed: std::sync::Condvar::new(),
            freed_async: tokio::sync::Notify::new(),
        }))
    }

    fn take(&self, free: &mut usize) -> Option<Slot> {
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Slot(Arc::clone(&self.0)))
    }

    /// A slot if one is free now.
    pub(crate) fn try_acquire(&self) -> Option<Slot> {
        let mut free = self
            .0
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.take(&mut free)
    }

    /// Waits for a slot without blocking the event loop.
    pub(crate) async fn acquire(&self) -> Option<Slot> {
        loop {
            let notified = self.0.freed_async.notified();
            tokio::pin!(notified);
            // Registered before looking, so a slot given back in between
            // is not missed.
            notified.as_mut().enable();
            if let Some(slot) = self.try_acquire() {
                return Some(slot);
            }
            notified.await;
        }
    }

    /// Blocks until a slot is free, or `deadline` passes (`None`). The
    /// run's other calls give theirs back on their own threads, so this
    /// never waits on the event loop it blocks.
    pub(crate) fn acquire_blocking(&self, deadline: Option<Instant>) -> Option<Slot> {
        let mut free = self
            .0
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(slot) = self.take(&mut free) {
                return Some(slot);
            }
            let wait = match deadline {
                Some(d) => d.checked_duration_since(Instant::now())?,
                None => Duration::from_millis(100),
            };
            free = self
                .0
                .freed
                .wait_timeout(free, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// The refusal of a call whose run ended while it waited for a slot.
pub(crate) fn no_slot() -> NetError {
    NetError::InvalidOption {
        option: "fetch".into(),
        reason: "the run ended before one of its slots was free".into(),
    }
}

/// A call counted and checked, not yet made ([`FetchContext::start`]).
#[derive(Debug)]
pub struct StartedCall {
    client: EgressClient,
    app: Option<String>,
    request: Request,
    counted: Counted,
    refusals: Refusals,
}

impl StartedCall {
    /// Makes the call; blocks until the transport answers, by the call's
    /// deadline at the latest.
    pub fn make(self) -> Result<FetchResponse, NetError> {
        let r = self
            .client
            .fetch_counted(self.app.as_deref(), self.request, self.counted)
            .inspect_err(|e| self.refusals.record(e))?;
        Ok(FetchResponse {
            status: r.status,
            status_text: r.status_text,
            url: r.url,
            redirected: r.redirected,
            headers: r.headers.pairs().to_vec(),
            body: r.body,
        })
    }
}

/// One `fetch` call's arguments after the prelude normalized their JS types:
/// headers as pairs, the body as bytes.
///
/// The op takes the URL as a string argument and the options as an object
/// (or `null` when the script gave none, the common case, which then costs
/// no conversion); `url` is therefore not read from the options object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchArgs {
    /// The URL.
    #[serde(skip)]
    pub url: String,
    /// `method`, if given.
    pub method: Option<String>,
    /// `headers`, as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// `timeout` in milliseconds, if given.
    pub timeout: Option<f64>,
    /// `redirect`, if given.
    pub redirect: Option<String>,
    /// `auth` (a secret name), if given.
    pub auth: Option<String>,
}

/// A response as plain data.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub status_text: String,
    /// Final URL.
    pub url: String,
    /// Whether a redirect was followed.
    pub redirected: bool,
    /// Header pairs, lowercase names, repeats kept.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Makes one call: [`FetchContext::start`], then [`StartedCall::make`] on
/// this thread.
pub fn fetch(
    ctx: &FetchContext,
    args: FetchArgs,
    body: Option<Vec<u8>>,
) -> Result<FetchResponse, NetError> {
    ctx.start(args, body)?.make()
}

/// Checks option values and builds the transport request.
fn to_request(args: FetchArgs, body: Option<Vec<u8>>) -> Result<Request, NetError> {
    let invalid = |option: &str, reason: &str| NetError::InvalidOption {
        option: option.into(),
        reason: reason.into(),
    };
    let redirect = match args.redirect.as_deref() {
        None | Some("follow") => RedirectMode::Follow,
        Some("manual") => RedirectMode::Manual,
        Some("error") => RedirectMode::Error,
        Some(_) => {
            return Err(invalid(
                "redirect",
                "expected \"follow\", \"manual\" or \"error\"",
            ))
        }
    };
    let timeout = match args.timeout {
        None => None,
        Some(ms) if ms.is_finite() && ms > 0.0 => {
            Some(Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0))
        }
        Some(_) => {
            return Err(invalid(
                "timeout",
                "expected a positive number of milliseconds",
            ))
        }
    };
    if args.auth.as_deref() == Some("") {
        return Err(invalid("auth", "expected a secret name"));
    }
    Ok(Request {
        method: args.method.unwrap_or_else(|| "GET".into()),
        url: args.url,
        headers: args.headers,
        body,
        timeout,
        redirect,
        auth: args.auth,
    })
}

/// What the op hands the prelude: a response or an error record, never a
/// thrown Rust error (the prelude builds the JS objects).
///
/// Both are arrays, not keyed objects: on QuickJS every property name the
/// op writes is an atom lookup, and the fetch path is measured against the
/// bare Rust call. A response starts with its status (a number), an error
/// with its code (a string); js/prelude.js reads them by position.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Outcome {
    /// `[status, statusText, url, redirected, [name, value, ...], text,
    /// body]`: the body both as text (decoded here, as UTF-8 with
    /// replacement characters and without a leading BOM, as the web's
    /// `text()` does) and as bytes.
    Response(u16, String, String, bool, Vec<String>, String, ToJsBuffer),
    /// `[code, message, retryable, retryAfterMs | null]`.
    Error(String, String, bool, Option<u64>),
}

impl From<Result<FetchResponse, NetError>> for Outcome {
    fn from(r: Result<FetchResponse, NetError>) -> Self {
        match r {
            Ok(ok) => Outcome::Response(
                ok.status,
                ok.status_text,
                ok.url,
                ok.redirected,
                ok.headers.into_iter().flat_map(|(n, v)| [n, v]).collect(),
                body_text(&ok.body),
                ok.body.into(),
            ),
            Err(e) => error_outcome(&e),
        }
    }
}

impl From<FetchReply> for Outcome {
    fn from(reply: FetchReply) -> Self {
        match reply {
            FetchReply::Ok(ok) => Ok(ok).into(),
            FetchReply::Err {
                code,
                message,
                retryable,
                retry_after_ms,
            } => Outcome::Error(code, message, retryable, retry_after_ms),
        }
    }
}

/// A body decoded as the web's `Response.text()` does: UTF-8, a leading BOM
/// removed, invalid sequences replaced.
fn body_text(body: &[u8]) -> String {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    String::from_utf8_lossy(body).into_owned()
}

/// A call's body as the fetch ops receive it (and a worker sends it to
/// its parent).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum CallBody {
    /// No body.
    None,
    /// The bytes.
    Bytes(Vec<u8>),
    /// Over the request body limit: only its size crosses (the call is
    /// counted and refused by the request body rule).
    OverLimit(u64),
}

impl CallBody {
    /// The body the ops were given as `body`, `kind` and `size` (see
    /// js/body.js): text as it is, bytes as a binary string.
    fn from_op(body: String, kind: u8, size: f64) -> Result<CallBody, NetError> {
        Ok(match kind {
            BODY_TEXT => CallBody::Bytes(body.into_bytes()),
            BODY_BINARY => CallBody::Bytes(binary_string_bytes(&body).ok_or_else(|| {
                NetError::InvalidOption {
                    option: "body".into(),
                    reason: "a binary body holds a character above U+00FF".into(),
                }
            })?),
            BODY_OVER_LIMIT => CallBody::OverLimit(size.max(0.0) as u64),
            _ => CallBody::None,
        })
    }
}

impl FetchContext {
    /// [`start`](Self::start) with the body as the ops receive it: one the
    /// prelude kept in the engine, over the limit, is counted and refused.
    pub(crate) fn start_body(
        &self,
        args: FetchArgs,
        body: CallBody,
    ) -> Result<StartedCall, NetError> {
        match body {
            CallBody::None => self.start(args, None),
            CallBody::Bytes(bytes) => self.start(args, Some(bytes)),
            CallBody::OverLimit(size) => Err(refuse_kept_body(self, size)),
        }
    }
}

/// A call whose body the prelude kept in the engine because it measured
/// `size` bytes, over `op_fazt_max_request_body`: counted, and refused by
/// the request body rule.
fn refuse_kept_body(ctx: &FetchContext, size: u64) -> NetError {
    let limits = *ctx.client.policy().limits();
    match ctx
        .budget
        .count_call()
        .and_then(|_counted| limits.check_request_body(size))
    {
        Err(e) => e,
        // The limit was raised between the two ops: the body is gone, so the
        // call cannot be made as asked.
        Ok(()) => NetError::InvalidOption {
            option: "body".into(),
            reason: "the request body limit changed during the call".into(),
        },
    }
}

/// An error's record: code, message, retryable, retry-after in ms.
pub(crate) fn error_parts(e: &NetError) -> (String, String, bool, Option<u64>) {
    (
        e.code().as_str().to_string(),
        e.to_string(),
        e.is_retryable(),
        e.retry_after().map(fazt_policy::millis),
    )
}

pub(crate) fn error_outcome(e: &NetError) -> Outcome {
    let (code, message, retryable, retry_after) = error_parts(e);
    Outcome::Error(code, message, retryable, retry_after)
}

/// Console output kept for one run, within a byte budget
/// (`max_console_bytes`). A line costs its text and the line break that ends
/// it, so the lines kept are at most the budget in number too: an empty line
/// is not free (each kept line is a `String` in the run's output).
#[derive(Debug)]
pub(crate) struct Console {
    pub(crate) lines: Vec<String>,
    left: usize,
    limit: u64,
    closed: bool,
}

impl Console {
    /// An empty console that keeps at most `limit` bytes of text, line
    /// breaks included.
    pub(crate) fn new(limit: u64) -> Self {
        Console {
            lines: Vec::new(),
            left: usize::try_from(limit).unwrap_or(usize::MAX),
            limit,
            closed: false,
        }
    }

    /// Keeps `line`, or the part of it that fits the budget followed by one
    /// marker line. Returns whether later lines can still be kept.
    pub(crate) fn push(&mut self, line: String) -> bool {
        if self.closed {
            return false;
        }
        if line.len() < self.left {
            self.left -= line.len() + 1;
            self.lines.push(line);
            return true;
        }
        // What fits before the line break, cut on a character boundary.
        let mut cut = self.left.saturating_sub(1);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > 0 {
            self.lines.push(line[..cut].to_string());
        }
        self.lines.push(format!(
            "[console output truncated: over max_console_bytes ({} bytes)]",
            self.limit
        ));
        self.left = 0;
        self.closed = true;
        false
    }
}

/// The two functions the sandbox prelude registers: `evaluate` runs a
/// script's source and settles with its completion value, `complete` turns
/// that value into JSON text. Whatever either throws is a string the
/// sandbox built without calling into the thrown value, so deno_core never
/// converts a value a script controls.
pub(crate) struct Completion {
    pub(crate) evaluate: v8::Global<v8::Function>,
    pub(crate) complete: v8::Global<v8::Function>,
}

/// How the fetch ops receive the body; the numbers js/body.js passes.
const BODY_TEXT: u8 = 1;
const BODY_BINARY: u8 = 2;
const BODY_OVER_LIMIT: u8 = 3;

/// Where a call goes, decided on the script's thread with the state
/// borrowed; the call itself is made after the borrow ends.
pub(crate) enum Route {
    /// Counted and checked here, made by this process's client.
    Local(StartedCall, RunSlots),
    /// Made by the parent process (an isolated run's worker).
    Remote(RemoteFetch, FetchArgs, CallBody),
    /// Refused before it was made.
    Refused(Outcome),
}

impl Route {
    /// The run's slots the call takes one of (none for a refusal).
    pub(crate) fn slots(&self) -> Option<&RunSlots> {
        match self {
            Route::Local(_, slots) => Some(slots),
            Route::Remote(remote, ..) => Some(&remote.slots),
            Route::Refused(_) => None,
        }
    }

    /// Makes the call on this thread, blocking, with `slot` taken and its
    /// time cut to `deadline`; a refusal is its own outcome.
    pub(crate) fn make_blocking(self, slot: Slot, deadline: Option<Instant>) -> Outcome {
        match self {
            Route::Local(call, _) => {
                let result = call.within(deadline).make();
                drop(slot);
                result.into()
            }
            Route::Remote(remote, args, body) => {
                remote.call(within(args, deadline), body, slot).into()
            }
            Route::Refused(outcome) => outcome,
        }
    }
}

/// The call the fetch ops were asked for, from their arguments (see
/// [`op_fazt_fetch`]).
pub(crate) fn route(
    state: &OpState,
    url: String,
    options: Option<FetchArgs>,
    body: String,
    body_kind: u8,
    body_size: f64,
) -> Route {
    let args = FetchArgs {
        url,
        ..options.unwrap_or_default()
    };
    if let Some(remote) = state.try_borrow::<RemoteFetch>() {
        // An isolated run: the parent makes the call and counts it; it is
        // counted here too, so that a call past max_calls is refused before
        // it is queued for a slot.
        if let Err(e) = remote.count_call() {
            return Route::Refused(error_outcome(&e));
        }
        return match CallBody::from_op(body, body_kind, body_size) {
            Ok(body) => Route::Remote(remote.clone(), args, body),
            Err(e) => Route::Refused(error_outcome(&e)),
        };
    }
    let Some(ctx) = state.try_borrow::<FetchContext>() else {
        return Route::Refused(error_outcome(&NetError::InvalidOption {
            option: "fetch".into(),
            reason: "fetch is not available in this runtime: its OpState holds no FetchContext"
                .into(),
        }));
    };
    match CallBody::from_op(body, body_kind, body_size).and_then(|body| ctx.start_body(args, body))
    {
        Ok(call) => Route::Local(call, ctx.slots.clone()),
        Err(e) => Route::Refused(error_outcome(&e)),
    }
}

/// The end of the run in `state`, if it has one.
pub(crate) fn run_deadline(state: &Rc<RefCell<OpState>>) -> Option<Instant> {
    state
        .try_borrow()
        .ok()
        .and_then(|s| s.try_borrow::<RunDeadline>().map(|d| d.0))
}

/// The synchronous fetch op (`fazt.net.fetch`). Its arguments are strings,
/// numbers and a prototype-less object of strings and numbers (js/body.js
/// builds them), so converting them runs no script code and reads no
/// buffer: the body arrives as a string, text as it is or bytes as a binary
/// string. It borrows the state only to count and check the call, and
/// makes the call after: a call made while the state is borrowed (which
/// that conversion never allows) is refused as `NET_ERROR`, not a panic.
#[op2(reentrant)]
#[serde]
pub(crate) fn op_fazt_fetch(
    state: Rc<RefCell<OpState>>,
    #[string] url: String,
    #[serde] options: Option<FetchArgs>,
    #[string] body: String,
    body_kind: u8,
    body_size: f64,
) -> Outcome {
    let route = match state.try_borrow() {
        Ok(s) => route(&s, url, options, body, body_kind, body_size),
        Err(_) => return error_outcome(&reentered()),
    };
    if let Route::Refused(outcome) = route {
        return outcome;
    }
    let deadline = run_deadline(&state);
    let Some(slot) = route.slots().and_then(|s| s.acquire_blocking(deadline)) else {
        return error_outcome(&no_slot());
    };
    route.make_blocking(slot, deadline)
}

/// A call to make on a call thread.
pub(crate) type CallJob = fazt_transport::Job;

/// The call threads, process-wide (the web fetch and an isolated run's
/// parent share them), each kept 10 s after its last call.
static CALL_THREADS: fazt_transport::KeptThreads =
    fazt_transport::KeptThreads::new("fazt-fetch", Duration::from_secs(10));

/// Runs `job` on a kept call thread (named `fazt-fetch`).
pub(crate) fn on_call_thread(job: CallJob) -> std::io::Result<()> {
    CALL_THREADS.run(job)
}

/// The bytes of a binary string (one character, U+0000 to U+00FF, per
/// byte), or `None` if a character is out of that range.
fn binary_string_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// The end of the run a call is made in: a call never outlives the run.
/// [`ScriptRunner`](crate::ScriptRunner) puts one in the `OpState`;
/// embedders may too.
#[derive(Clone, Copy, Debug)]
pub struct RunDeadline(pub Instant);

/// What is left before `deadline`: at least a millisecond (the transport
/// answers a spent deadline with its own error).
fn left_until(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// `args` with its timeout shortened to what is left before `deadline`.
pub(crate) fn within(mut args: FetchArgs, deadline: Option<Instant>) -> FetchArgs {
    if let Some(deadline) = deadline {
        let left_ms = left_until(deadline).as_secs_f64() * 1000.0;
        args.timeout = Some(args.timeout.map_or(left_ms, |t| t.min(left_ms)));
    }
    args
}

impl StartedCall {
    /// The call with its timeout shortened to what is left before
    /// `deadline`.
    pub(crate) fn within(mut self, deadline: Option<Instant>) -> Self {
        if let Some(deadline) = deadline {
            let left = left_until(deadline);
            self.request.timeout = Some(self.request.timeout.map_or(left, |t| t.min(left)));
        }
        self
    }
}

pub(crate) fn reentered() -> NetError {
    NetError::InvalidOption {
        option: "fetch".into(),
        reason: "fetch was called while another call was being made".into(),
    }
}

/// `input` parsed as an absolute URL, the way the web's `Request` and
/// `Response.redirect` parse theirs (WHATWG, the `url` crate): its
/// serialization and whether it carries credentials, or `None`.
#[op2]
#[serde]
pub(crate) fn op_fazt_parse_url(#[string] input: String) -> Option<(String, bool)> {
    let url = url::Url::parse(&input).ok()?;
    let credentials = !url.username().is_empty() || url.password().is_some();
    Some((String::from(url), credentials))
}

/// The run's one timer (js/web.js keeps the queue): when it is due, and a
/// wake-up for the op waiting on it when that changes.
#[derive(Debug)]
pub(crate) struct Timer {
    pub(crate) due: std::cell::Cell<Option<Instant>>,
    changed: Rc<tokio::sync::Notify>,
    /// An `op_fazt_timer_wait` is pending.
    waiting: std::cell::Cell<bool>,
}

impl Timer {
    pub(crate) fn new() -> Self {
        Timer {
            due: std::cell::Cell::new(None),
            changed: Rc::new(tokio::sync::Notify::new()),
            waiting: std::cell::Cell::new(false),
        }
    }
}

/// The run's one pending timer wait; the next may begin when it ends.
struct TimerWait(Rc<RefCell<OpState>>);

impl TimerWait {
    /// The wait, unless one is pending already.
    fn begin(state: &Rc<RefCell<OpState>>) -> Option<TimerWait> {
        let mut s = state.try_borrow_mut().ok()?;
        if !s.has::<Timer>() {
            s.put(Timer::new());
        }
        let timer = s.borrow::<Timer>();
        if timer.waiting.replace(true) {
            return None;
        }
        Some(TimerWait(Rc::clone(state)))
    }
}

impl Drop for TimerWait {
    fn drop(&mut self) {
        if let Ok(s) = self.0.try_borrow() {
            if let Some(timer) = s.try_borrow::<Timer>() {
                timer.waiting.set(false);
            }
        }
    }
}

/// Sets when the run's timer is due, `ms` from now (a negative or NaN
/// value: not set).
#[op2(fast)]
pub(crate) fn op_fazt_timer_set(state: &mut OpState, ms: f64) {
    let due = (ms.is_finite() && ms >= 0.0)
        .then(|| Instant::now() + Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0));
    let timer = match state.try_borrow::<Timer>() {
        Some(timer) => timer,
        None => {
            state.put(Timer::new());
            state.borrow::<Timer>()
        }
    };
    timer.due.set(due);
    timer.changed.notify_one();
}

/// Resolves when the run's timer is due (js/web.js keeps exactly one of
/// these pending while it has timers). Host memory does not grow with the
/// number of timers a script makes: they are JS objects in its heap. A
/// wait asked for while one is pending (js/web.js never does) resolves at
/// once, so waits cannot pile up in host memory however the op is called.
#[op2]
pub(crate) fn op_fazt_timer_wait(
    state: Rc<RefCell<OpState>>,
) -> impl std::future::Future<Output = ()> {
    // As in op_fazt_web_fetch: no tokio runtime, no wait (the timer never
    // fires). The first poll, which deno_core makes inside the engine's
    // callback, touches no timer: a runtime built without timers panics
    // on the event loop's poll instead, where the embedder sees it.
    let event_loop = tokio::runtime::Handle::try_current().is_ok();
    let wait = if event_loop {
        TimerWait::begin(&state)
    } else {
        None
    };
    async move {
        if let Some(_wait) = wait {
            tokio::task::yield_now().await;
            timer_wait(state).await;
        }
    }
}

async fn timer_wait(state: Rc<RefCell<OpState>>) {
    loop {
        let (due, changed) = {
            let Ok(mut s) = state.try_borrow_mut() else {
                return;
            };
            if !s.has::<Timer>() {
                s.put(Timer::new());
            }
            let timer = s.borrow::<Timer>();
            (timer.due.get(), Rc::clone(&timer.changed))
        };
        match due {
            Some(due) if due <= Instant::now() => return,
            Some(due) => {
                let _ = tokio::time::timeout_at(due.into(), changed.notified()).await;
            }
            None => changed.notified().await,
        }
    }
}

/// The largest request body the client in this runtime sends, for the
/// prelude to refuse larger ones before copying them.
#[op2(fast, reentrant)]
#[number]
pub(crate) fn op_fazt_max_request_body(state: Rc<RefCell<OpState>>) -> u64 {
    let Ok(state) = state.try_borrow() else {
        return u64::MAX;
    };
    if let Some(remote) = state.try_borrow::<RemoteFetch>() {
        return remote.max_request_body;
    }
    state.try_borrow::<FetchContext>().map_or(u64::MAX, |ctx| {
        ctx.client.policy().limits().max_request_body
    })
}

/// fazt-policy's request rules the preludes apply before anything leaves
/// the engine, so that they are written once: `[the most bytes of request
/// headers, the bytes of framing each header adds, the forbidden methods]`
/// (`fazt_policy::headers`).
#[op2]
#[serde]
pub(crate) fn op_fazt_request_rules() -> (u64, u64, &'static [&'static str]) {
    use fazt_policy::headers::{FORBIDDEN_METHODS, HEADER_FRAMING, MAX_REQUEST_HEADER_BYTES};
    (
        MAX_REQUEST_HEADER_BYTES,
        HEADER_FRAMING as u64,
        FORBIDDEN_METHODS,
    )
}

/// The refusal record for an option the prelude found to have the wrong
/// JS type, formatted by `NetError` like every other message. The call still
/// counts toward `max_calls` (the limit error wins once reached).
#[op2(reentrant)]
#[serde]
pub(crate) fn op_fazt_invalid_option(
    state: Rc<RefCell<OpState>>,
    #[string] option: String,
    #[string] reason: String,
) -> Outcome {
    let Ok(state) = state.try_borrow() else {
        return error_outcome(&reentered());
    };
    let counted = if let Some(ctx) = state.try_borrow::<FetchContext>() {
        ctx.budget.count_call().map(drop)
    } else if let Some(remote) = state.try_borrow::<RemoteFetch>() {
        // Refused in the worker: the parent never sees it, so the worker
        // counts it (and reports its count with the run).
        remote.count_call()
    } else {
        Ok(())
    };
    if let Err(e) = counted {
        return error_outcome(&e);
    }
    error_outcome(&NetError::InvalidOption { option, reason })
}

/// Keeps one console line; answers whether more will be kept.
#[op2(fast, reentrant)]
pub(crate) fn op_fazt_console(state: Rc<RefCell<OpState>>, #[string] line: String) -> bool {
    let Ok(mut state) = state.try_borrow_mut() else {
        return true;
    };
    match state.try_borrow_mut::<Console>() {
        Some(console) => console.push(line),
        // No console wanted: output is dropped, and the script may stop
        // formatting it.
        None => false,
    }
}

/// The name js/sandbox.js leaves its seal under for the host to call
/// ([`Seal::ByHost`](crate::sandbox::Seal::ByHost)), or nothing when it
/// seals the global as it loads.
#[op2]
#[string]
pub(crate) fn op_fazt_seal_later(state: &OpState) -> Option<&'static str> {
    match state.try_borrow::<crate::sandbox::Seal>() {
        Some(crate::sandbox::Seal::ByHost) => Some(crate::sandbox::SEAL_NAME),
        _ => None,
    }
}

/// Registers the sandbox's functions (see [`Completion`]); only the first
/// registration counts.
#[op2(fast, reentrant)]
pub(crate) fn op_fazt_set_completion(
    scope: &mut v8::PinScope,
    state: Rc<RefCell<OpState>>,
    evaluate: v8::Local<v8::Function>,
    complete: v8::Local<v8::Function>,
) {
    let Ok(mut state) = state.try_borrow_mut() else {
        return;
    };
    if !state.has::<Completion>() {
        state.put(Completion {
            evaluate: v8::Global::new(scope, evaluate),
            complete: v8::Global::new(scope, complete),
        });
    }
}
