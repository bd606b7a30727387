//! The fetch op: a plain Rust function over fazt-transport (tested without
//! any engine), and the thin `#[op2]` wrappers that call it.

use std::time::Duration;

use deno_core::{op2, OpState, ToJsBuffer};
use fazt_policy::{NetError, RequestBudget};
use fazt_transport::{EgressClient, RedirectMode, Request};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, PartialEq, Eq)]
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
    /// `[status, statusText, url, redirected, [name, value, ...], body]`.
    Response(u16, String, String, bool, Vec<String>, ToJsBuffer),
    /// `[code, message, retryable, retryAfterMs | null]`.
    Error(&'static str, String, bool, Option<u64>),
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
                ok.body.into(),
            ),
            Err(e) => error_outcome(&e),
        }
    }
}

fn error_outcome(e: &NetError) -> Outcome {
    Outcome::Error(
        e.code().as_str(),
        e.to_string(),
        e.is_retryable(),
        e.retry_after()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

/// Console output captured for one run.
#[derive(Default)]
pub(crate) struct Console(pub(crate) Vec<String>);

#[op2]
#[serde]
pub(crate) fn op_fazt_fetch(
    state: &mut OpState,
    #[string] url: String,
    #[serde] options: Option<FetchArgs>,
    #[buffer(copy)] body: Vec<u8>,
    has_body: bool,
) -> Outcome {
    let args = FetchArgs {
        url,
        ..options.unwrap_or_default()
    };
    let body = has_body.then_some(body);
    match state.try_borrow_mut::<FetchContext>() {
        Some(ctx) => fetch(ctx, args, body).into(),
        None => error_outcome(&NetError::InvalidOption {
            option: "fetch".into(),
            reason: "fazt.net.fetch is not available in this runtime".into(),
        }),
    }
}

/// The refusal record for an option the prelude found to have the wrong
/// JS type, formatted by `NetError` like every other message. The call still
/// counts toward `max_calls` (the limit error wins once reached).
#[op2]
#[serde]
pub(crate) fn op_fazt_invalid_option(
    state: &mut OpState,
    #[string] option: String,
    #[string] reason: String,
) -> Outcome {
    if let Some(ctx) = state.try_borrow_mut::<FetchContext>() {
        if let Err(e) = ctx.budget.count_call() {
            return error_outcome(&e);
        }
    }
    error_outcome(&NetError::InvalidOption { option, reason })
}

#[op2(fast)]
pub(crate) fn op_fazt_console(state: &mut OpState, #[string] line: String) {
    if let Some(console) = state.try_borrow_mut::<Console>() {
        // Bounded: a script printing in a loop cannot exhaust memory.
        if console.0.len() < 10_000 {
            console.0.push(line);
        }
    }
}
