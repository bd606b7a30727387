//! The QuickJS backend can cache compiled bytecode on disk, one file per
//! distinct source, under the user's cache directory, and load it back
//! without verification. A host running app scripts must not: the files
//! grow without bound, hold the apps' source in readable files, and anyone
//! able to write the directory could run arbitrary bytecode in the host.
//!
//! Its own binary: the engine reads its cache setting once per process.

use fazt_policy::{EntryOverrides, Limits};
use fazt_tests::Reply;
use serde_json::json;

mod common;

#[test]
fn script_runs_write_no_bytecode_to_disk() {
    let cache = std::env::temp_dir().join(format!("fazt-js-bytecode-{}", std::process::id()));
    std::fs::create_dir_all(&cache).unwrap();
    // Where the engine would put its cache; set before any runtime exists.
    std::env::set_var("XDG_CACHE_HOME", &cache);
    std::env::remove_var("V82JSC_BC_CACHE_DIR");
    std::env::remove_var("V82JSC_NO_BC_CACHE");

    let env = common::env(Limits::default(), EntryOverrides::default(), |_| {
        Reply::ok("x")
    });
    let marker = format!("app-source-{}", std::process::id());
    let out = env.runner.run(None, &format!("'{marker}'.length"));
    assert_eq!(out.result, Ok(json!(marker.len())));

    let written: Vec<_> = walk(&cache);
    std::fs::remove_dir_all(&cache).unwrap();
    assert!(written.is_empty(), "engine wrote {written:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
