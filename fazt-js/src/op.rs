//! The fetch op: a plain Rust function over fazt-transport (tested without
//! any engine), and the thin `#[op2]` wrappers that call it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use deno_core::{op2, v8, OpState, ToJsBuffer};
use fazt_policy::{NetError, RequestBudget};
use fazt_transport::{EgressClient, RedirectMode, Request};
use serde::{Deserialize, Serialize};

use crate::worker::{FetchReply, RemoteBody, RemoteFetch};

/// Per-run state kept in the runtime's `OpState`: which client, for which
/// app, and what is left of the run's budget.
#[derive(Debug)]
pub struct FetchContext {
    /// The client every call goes through.
    pub client: EgressClient,
    /// The app the script runs for.
    pub app: Option<String>,
    /// Calls made and network time left for this run.
    pub budget: RequestBudget,
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
pub struct FetchOk {
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

/// Makes one call. Invalid options are refused as `NET_ERROR` naming the
/// option; every call, refused or not, counts toward `max_calls`.
pub fn fetch(
    ctx: &mut FetchContext,
    args: FetchArgs,
    body: Option<Vec<u8>>,
) -> Result<FetchOk, NetError> {
    let request = match to_request(args, body) {
        Ok(r) => r,
        Err(e) => {
            ctx.budget.count_call()?;
            return Err(e);
        }
    };
    let r = ctx
        .client
        .fetch(ctx.app.as_deref(), request, &mut ctx.budget)?;
    Ok(FetchOk {
        status: r.status,
        status_text: r.status_text,
        url: r.url,
        redirected: r.redirected,
        headers: r.headers.pairs().to_vec(),
        body: r.body,
    })
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

impl From<Result<FetchOk, NetError>> for Outcome {
    fn from(r: Result<FetchOk, NetError>) -> Self {
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

/// A body decoded as the web's `Response.text()` does: UTF-8, a leading BOM
/// removed, invalid sequences replaced.
fn body_text(body: &[u8]) -> String {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    String::from_utf8_lossy(body).into_owned()
}

/// A call whose body the prelude kept in the engine because it measured
/// `size` bytes, over `op_fazt_max_request_body`: counted, and refused by
/// the request body rule.
pub(crate) fn refuse_kept_body(ctx: &mut FetchContext, size: u64) -> NetError {
    let limits = *ctx.client.policy().limits();
    match ctx
        .budget
        .count_call()
        .and_then(|()| limits.check_request_body(size))
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
        e.retry_after()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn error_outcome(e: &NetError) -> Outcome {
    let (code, message, retryable, retry_after) = error_parts(e);
    Outcome::Error(code, message, retryable, retry_after)
}

/// Console output kept for one run, within a byte budget
/// (`max_console_bytes`).
#[derive(Debug)]
pub(crate) struct Console {
    pub(crate) lines: Vec<String>,
    left: usize,
    limit: u64,
    closed: bool,
}

impl Console {
    /// An empty console that keeps at most `limit` bytes of text.
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
        if line.len() <= self.left {
            self.left -= line.len();
            self.lines.push(line);
            return true;
        }
        let mut cut = self.left;
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

/// How `op_fazt_fetch` receives the body; the numbers js/prelude.js passes.
const BODY_TEXT: u8 = 1;
const BODY_BINARY: u8 = 2;
const BODY_OVER_LIMIT: u8 = 3;

/// The fetch op. Its arguments are strings, numbers and a prototype-less
/// object of strings and numbers (js/prelude.js builds them), so converting
/// them runs no script code and reads no buffer: the body arrives as a
/// string, text as it is or bytes as a binary string. It takes the state
/// as `Rc<RefCell<_>>` and borrows it itself: a call made while another
/// holds the state (which that conversion never allows) is refused as
/// `NET_ERROR`, not a panic.
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
    let Ok(mut state) = state.try_borrow_mut() else {
        return error_outcome(&reentered());
    };
    let args = FetchArgs {
        url,
        ..options.unwrap_or_default()
    };
    let deadline = state.try_borrow::<RunDeadline>().map(|d| d.0);
    if let Some(remote) = state.try_borrow::<RemoteFetch>() {
        // An isolated run: the parent makes the call (and counts it).
        let body = match body_kind {
            BODY_TEXT => RemoteBody::Bytes(body.into_bytes()),
            BODY_BINARY => match binary_string_bytes(&body) {
                Some(bytes) => RemoteBody::Bytes(bytes),
                None => RemoteBody::None,
            },
            BODY_OVER_LIMIT => RemoteBody::OverLimit(body_size.max(0.0) as u64),
            _ => RemoteBody::None,
        };
        let args = match deadline {
            Some(deadline) => within(args, deadline),
            None => args,
        };
        return match remote.call(args, body) {
            FetchReply::Ok(ok) => Ok(ok).into(),
            FetchReply::Err {
                code,
                message,
                retryable,
                retry_after_ms,
            } => Outcome::Error(code, message, retryable, retry_after_ms),
        };
    }
    let Some(ctx) = state.try_borrow_mut::<FetchContext>() else {
        return error_outcome(&NetError::InvalidOption {
            option: "fetch".into(),
            reason: "fazt.net.fetch is not available in this runtime".into(),
        });
    };
    let body = match body_kind {
        BODY_TEXT => Some(body.into_bytes()),
        BODY_BINARY => match binary_string_bytes(&body) {
            Some(bytes) => Some(bytes),
            None => {
                return error_outcome(&NetError::InvalidOption {
                    option: "body".into(),
                    reason: "a binary body holds a character above U+00FF".into(),
                })
            }
        },
        BODY_OVER_LIMIT => {
            return error_outcome(&refuse_kept_body(ctx, body_size.max(0.0) as u64));
        }
        _ => None,
    };
    let args = match deadline {
        Some(deadline) => within(args, deadline),
        None => args,
    };
    fetch(ctx, args, body).into()
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

/// `args` with its timeout shortened to what is left before `deadline`.
fn within(mut args: FetchArgs, deadline: Instant) -> FetchArgs {
    let left = deadline.saturating_duration_since(Instant::now());
    // At least a millisecond: the transport answers a spent deadline with
    // its own error.
    let left_ms = (left.as_secs_f64() * 1000.0).max(1.0);
    args.timeout = Some(args.timeout.map_or(left_ms, |t| t.min(left_ms)));
    args
}

fn reentered() -> NetError {
    NetError::InvalidOption {
        option: "fetch".into(),
        reason: "fazt.net.fetch was called while another call was being made".into(),
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
    let Ok(mut state) = state.try_borrow_mut() else {
        return error_outcome(&reentered());
    };
    if let Some(ctx) = state.try_borrow_mut::<FetchContext>() {
        if let Err(e) = ctx.budget.count_call() {
            return error_outcome(&e);
        }
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
