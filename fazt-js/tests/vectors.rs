//! The shared URL vectors through `fazt.net.fetch`: every refusal the
//! policy decides reaches a script as exactly that refusal.

use fazt_policy::{EntryOverrides, Limits, Target};
use fazt_tests::{vectors, Reply};
use serde_json::{json, Value};

mod common;

/// Most calls one run may make (`max_calls` at its ceiling): a batch of
/// URLs is sent by one script run.
const BATCH: usize = 20;

#[test]
fn every_url_vector_refusal_is_thrown_as_the_policy_decided_it() {
    let mut limits = Limits::default();
    limits.set("max_calls", BATCH as u64).unwrap();
    let env = common::env(limits, EntryOverrides::default(), |_| {
        Reply::ok("should not be reached")
    });
    let refused: Vec<(String, String, String)> = vectors::urls()
        .into_iter()
        .filter_map(|c| {
            let (code, rule) = c.refusal()?;
            Some((c.url.clone(), code.to_string(), rule.to_string()))
        })
        .collect();
    assert!(refused.len() > 50, "{}", refused.len());

    let mut failures = Vec::new();
    for batch in refused.chunks(BATCH) {
        let urls: Vec<&str> = batch.iter().map(|(url, ..)| url.as_str()).collect();
        // The URLs reach the script as a JSON literal: no quoting of ours.
        let script = format!(
            r#"{}.map((url) => {{
                 try {{ fazt.net.fetch(url); return ["no error"]; }}
                 catch (e) {{ return [e.name, e.code, e.message]; }}
               }})"#,
            serde_json::to_string(&urls).unwrap()
        );
        let out = env.runner.run(None, &script);
        let thrown = match &out.result {
            Ok(Value::Array(thrown)) => thrown.clone(),
            other => panic!("{other:?}\nconsole: {:?}", out.console),
        };
        assert_eq!(thrown.len(), batch.len());
        assert_eq!(out.calls as usize, batch.len());
        for ((url, code, rule), thrown) in batch.iter().zip(thrown) {
            let decided = Target::parse(url).unwrap_err();
            // What the script caught is the policy's refusal, word for word.
            let message = format!("{}: {}", decided.code(), decided.message());
            let want = json!(["NetError", decided.code().as_str(), message]);
            // ... and the refusal behind that message is the vector's rule.
            let behind = thrown[2]
                .as_str()
                .and_then(|message| out.refusal(message))
                .map(|e| (e.code().as_str(), e.rule()));
            if thrown != want
                || (decided.code().as_str(), decided.rule()) != (code.as_str(), rule.as_str())
                || behind != Some((code.as_str(), rule.as_str()))
            {
                failures.push(format!(
                    "{url:?}: want {code} {rule} ({want}), thrown {thrown}, behind it {behind:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} refusals differ:\n{}",
        failures.len(),
        refused.len(),
        failures.join("\n")
    );
    assert_eq!(env.up.accepted(), 0, "no refused URL may open a connection");
}
