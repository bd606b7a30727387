//! Shared setup: a loopback TLS upstream and a runner whose client trusts
//! its CA and resolves the test names to it.
// Each test binary uses part of this module.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use fazt_js::ScriptRunner;
use fazt_policy::{EntryOverrides, InjectAs, Limits};
use fazt_tests::{
    allowlist, loopback_client, loopback_range, test_policy, MemorySecrets, Reply, Seen, TestCa,
    Upstream,
};
use fazt_transport::EgressClient;

pub struct Env {
    pub up: Upstream,
    pub client: EgressClient,
    pub runner: ScriptRunner,
}

pub const SECRET: &str = "sk_js_SENTINEL_abcdef0123456789";

pub fn env(
    limits: Limits,
    rules: EntryOverrides,
    handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Env {
    let ca = TestCa::new();
    let up = Upstream::tls(&ca, handler);
    let entries = [
        format!("api.test:{}", up.port()),
        format!("other.test:{}", up.port()),
    ];
    let policy = test_policy(
        allowlist(&[(&entries[0], rules), (&entries[1], rules)]),
        limits,
    );
    let secrets = MemorySecrets::default()
        .with("API_KEY", InjectAs::Bearer, SECRET, Some("api.test"))
        .with(
            "QUERY_KEY",
            InjectAs::Query("key".into()),
            SECRET,
            Some("api.test"),
        );
    let client = loopback_client(policy, &ca, &["api.test", "other.test"])
        .secrets(Arc::new(secrets))
        .build()
        .unwrap();
    let runner = ScriptRunner::new(client.clone(), limits);
    Env { up, client, runner }
}

impl Env {
    /// Runs `script` with `BASE` replaced by `https://api.test:PORT`.
    pub fn run(&self, script: &str) -> fazt_js::RunOutput {
        self.run_as(None, script)
    }

    pub fn run_as(&self, app: Option<&str>, script: &str) -> fazt_js::RunOutput {
        let base = format!("https://api.test:{}", self.up.port());
        self.runner.run(app, &script.replace("BASE", &base))
    }

    /// Runs and returns the JSON result, panicking with the console on error.
    pub fn value(&self, script: &str) -> serde_json::Value {
        let out = self.run(script);
        match out.result {
            Ok(v) => v,
            Err(e) => panic!("{e}\nconsole: {:?}", out.console),
        }
    }
}

/// A resolver an embedder plugged in that takes 6 s, whatever time the
/// call has left: a `fazt.net.fetch` through it blocks its thread where no
/// termination reaches.
#[derive(Debug)]
pub struct HangingLookup;

impl fazt_transport::NameLookup for HangingLookup {
    fn resolve(
        &self,
        _host: &str,
        _timeout: Option<std::time::Duration>,
    ) -> Result<Vec<std::net::IpAddr>, fazt_transport::LookupError> {
        std::thread::sleep(std::time::Duration::from_secs(6));
        Err(fazt_transport::LookupError::NotFound)
    }
}

/// A script that blocks in [`HangingLookup`] (see [`hanging_runner`]).
pub const HANGS: &str = "fazt.net.fetch('https://hang.test/')";

/// A runner with `exec_timeout_ms` of `limit_ms` whose client resolves
/// `hang.test` through [`HangingLookup`].
pub fn hanging_runner(limit_ms: u64) -> ScriptRunner {
    let mut limits = Limits::default();
    limits.set("exec_timeout_ms", limit_ms).unwrap();
    let policy = test_policy(
        allowlist(&[("hang.test", EntryOverrides::default())]),
        limits,
    );
    let client = EgressClient::builder(policy)
        .dangerous()
        .lookup(Arc::new(HangingLookup))
        .own_addresses(Vec::new())
        .allow_ranges([loopback_range()])
        .finish()
        .build()
        .unwrap();
    ScriptRunner::new(client, limits)
}
