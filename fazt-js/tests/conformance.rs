//! Conformance by difference: tests/conformance/cases.js runs in Node
//! (which ships the WHATWG `Headers`, `Response`, `Request`,
//! `AbortController` and `fetch`) and through `ScriptRunner`; every case
//! must answer the same, or be one of the deviations below, each with its
//! reason (README "JavaScript API" lists them too).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;
use serde_json::Value;

mod common;

/// Where we answer differently from Node on purpose: the case, Node's
/// answer, ours, and why.
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "response body of text",
        r#"{"ok":false}"#,
        r#"{"ok":true}"#,
        "no streaming bodies: `body` is null; a body is read whole with \
         text(), json(), arrayBuffer() or bytes()",
    ),
    (
        "abort event",
        r#"{"ok":["abort",true,true,"[object Event]"]}"#,
        r#"{"ok":["abort",true,true,"[object Object]"]}"#,
        "there is no EventTarget or Event: an abort listener receives a \
         plain, frozen { type, target, currentTarget }",
    ),
    (
        "AbortSignal.timeout negative",
        r#"{"ok":{"threw":"RangeError"}}"#,
        r#"{"ok":{"threw":"TypeError"}}"#,
        "WebIDL's [EnforceRange] throws a TypeError, as browsers do; Node \
         throws a RangeError",
    ),
];

/// Runs the cases in Node: `None` when `node` is not installed.
fn node_answers(cases: &Path) -> Option<BTreeMap<String, Value>> {
    let runner = r#"
        const src = require("fs").readFileSync(process.argv[1], "utf8");
        // Node does not wait for AbortSignal.timeout's timer; this does.
        const alive = setInterval(() => {}, 1000);
        Promise.resolve(require("vm").runInThisContext(src)).then((out) => {
          clearInterval(alive);
          process.stdout.write(JSON.stringify(out));
        });
    "#;
    let out = match Command::new("node")
        .arg("-e")
        .arg(runner)
        .arg(cases)
        .env("NODE_NO_WARNINGS", "1")
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("node: {e}"),
    };
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("node printed the answers as JSON"))
}

#[test]
fn the_web_classes_answer_as_node_does() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases.js");
    let Some(node) = node_answers(&cases) else {
        eprintln!(
            "SKIPPED the_web_classes_answer_as_node_does: `node` is not installed, so there is \
             nothing to compare against (install Node 20 or later to run it)"
        );
        return;
    };
    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("ok")
    });
    let source = std::fs::read_to_string(&cases).unwrap();
    let ours: BTreeMap<String, Value> = match env.run(&source).result {
        Ok(v) => serde_json::from_value(v).unwrap(),
        Err(e) => panic!("the cases did not run: {e}"),
    };
    assert!(node.len() >= 80, "{} cases", node.len());
    assert_eq!(
        node.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "the same cases ran"
    );
    let mut differences = Vec::new();
    for (name, theirs) in &node {
        let mine = &ours[name];
        match DEVIATIONS.iter().find(|d| d.0 == name) {
            Some((_, node_says, we_say, why)) => {
                let node_says: Value = serde_json::from_str(node_says).unwrap();
                let we_say: Value = serde_json::from_str(we_say).unwrap();
                if theirs != &node_says || mine != &we_say {
                    differences.push(format!(
                        "{name}: documented deviation ({why}) no longer holds: node {theirs}, ours {mine}"
                    ));
                }
            }
            None if theirs != mine => {
                differences.push(format!("{name}: node {theirs}, ours {mine}"));
            }
            None => {}
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
