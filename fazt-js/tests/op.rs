//! The op's plain Rust function, without any JS engine.

use fazt_js::{fetch, FetchArgs, FetchContext};
use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;

mod common;

fn ctx(env: &common::Env) -> FetchContext {
    FetchContext::new(env.client.clone(), Some("shop".into()), &Limits::default())
}

#[test]
fn plain_function_fetches_and_validates() {
    let env = common::env(Limits::default(), EntryOverrides::default(), |s| {
        Reply::ok(s.body.clone()).header("x-a", "1")
    });
    let c = ctx(&env);
    let url = format!("https://api.test:{}/x", env.up.port());
    let ok = fetch(
        &c,
        FetchArgs {
            url: url.clone(),
            method: Some("POST".into()),
            ..FetchArgs::default()
        },
        Some(b"hi".to_vec()),
    )
    .unwrap();
    assert_eq!(
        (ok.status, ok.body.as_slice(), ok.redirected),
        (200, &b"hi"[..], false)
    );
    assert!(ok.headers.contains(&("x-a".to_string(), "1".to_string())));

    let bad = |args: FetchArgs| fetch(&ctx(&env), args, None).unwrap_err().to_string();
    let with = |f: fn(&mut FetchArgs)| {
        let mut a = FetchArgs {
            url: url.clone(),
            ..FetchArgs::default()
        };
        f(&mut a);
        a
    };
    assert_eq!(
        bad(with(|a| a.redirect = Some("sometimes".into()))),
        "NET_ERROR: invalid option `redirect`: expected \"follow\", \"manual\" or \"error\""
    );
    assert!(bad(with(|a| a.timeout = Some(-1.0))).contains("`timeout`"));
    assert!(bad(with(|a| a.timeout = Some(f64::NAN))).contains("`timeout`"));
    assert!(bad(with(|a| a.auth = Some(String::new()))).contains("`auth`"));

    // Refused calls count: after four more, the sixth is the limit.
    for _ in 0..4 {
        fetch(&c, with(|a| a.redirect = Some("bad".into())), None).unwrap_err();
    }
    assert_eq!(c.budget.calls(), 5);
    let e = fetch(&c, with(|_| {}), None).unwrap_err();
    assert_eq!((e.rule(), e.is_retryable()), ("max_calls", false));
}
