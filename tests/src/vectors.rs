//! The shared test vectors, `fazt-policy/testdata/*.toml`, read in one
//! place for every layer's tests: the policy checks them, the transport
//! sends them, the script surface throws them.
//!
//! Each loader reads its file relative to the workspace, refuses a field it
//! does not know (a misspelled key would otherwise be a case that checks
//! nothing) and a case that is neither accepted nor refused, and panics
//! with the file's path and the reason: a broken vector fails every test
//! that reads it.
//!
//! fazt-policy's own tests compile this very file (`#[path]` in
//! `fazt-policy/tests/vectors.rs`) instead of depending on this crate. The
//! dependency would be a cycle (this crate depends on fazt-policy), which
//! cargo allows for a dev-dependency, but it would make the tests of the
//! I/O-free policy crate build the whole stack this crate pulls in (the
//! transport, rustls, SQLite, the test CA). So the file uses only `std`,
//! `serde` and `toml`, which fazt-policy's tests already have, and names
//! nothing of this crate; the path below is the same from either crate.

use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The directory holding the vectors. `CARGO_MANIFEST_DIR` is `tests/` or
/// `fazt-policy/`: both are one level below the workspace.
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fazt-policy/testdata");

/// A request URL (`urls.toml`), checked without an allowlist
/// (`fazt_policy::Target::parse`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlCase {
    /// The URL as a caller writes it.
    pub url: String,
    /// For an accepted URL: the URL that will be requested.
    pub canonical: Option<String>,
    /// For a refused URL: the error code (`NET_BLOCKED`, ...).
    pub code: Option<String>,
    /// For a refused URL: the rule that refuses it (`NetError::rule`).
    pub rule: Option<String>,
}

impl UrlCase {
    /// `(code, rule)` when the URL is refused.
    pub fn refusal(&self) -> Option<(&str, &str)> {
        Some((self.code.as_deref()?, self.rule.as_deref()?))
    }
}

/// An address and how the built-in classifier judges it (`ips.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpCase {
    /// The address.
    pub ip: IpAddr,
    /// The `IpClass` (its Debug name) that blocks the address, or
    /// `"global"`. An embedded IPv4 address (mapped, NAT64) is judged, and
    /// named, by the inner address.
    pub class: String,
}

impl IpCase {
    /// Whether the classifier lets the address be dialed.
    pub fn is_global(&self) -> bool {
        self.class == "global"
    }
}

/// An allowlist entry as an operator writes it (`entries.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryCase {
    /// The entry as written.
    pub entry: String,
    /// For an accepted entry: how it is stored and shown.
    pub display: Option<String>,
    /// For a refused entry: the kind of `EntryError` (`bare-wildcard`,
    /// `public-suffix`, ...).
    pub error: Option<String>,
}

/// The allowlist decisions (`matches.toml`): one set of entries, then
/// requests against it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matches {
    /// The allowlist.
    pub entries: Vec<EntrySpec>,
    /// The requests.
    #[serde(rename = "case")]
    pub cases: Vec<MatchCase>,
}

/// One entry of [`Matches`]' allowlist.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    /// The entry as written.
    pub entry: String,
    /// The app it is scoped to; every app when absent.
    pub app: Option<String>,
    /// Whether plain http is allowed.
    #[serde(default)]
    pub http: bool,
}

/// One request of [`Matches`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchCase {
    /// The URL.
    pub url: String,
    /// The app making the call.
    pub app: Option<String>,
    /// For an admitted request: the entry that governs it, as displayed.
    pub entry: Option<String>,
    /// For a refused request: the error code.
    pub code: Option<String>,
    /// For a refused request: the rule (`NetError::rule`).
    pub rule: Option<String>,
}

/// Every case of `urls.toml`.
pub fn urls() -> Vec<UrlCase> {
    let cases: Vec<UrlCase> = cases("urls.toml");
    for c in &cases {
        let refused = c.code.is_some() && c.rule.is_some();
        let partial = c.code.is_some() != c.rule.is_some();
        if partial || refused == c.canonical.is_some() {
            bad(
                "urls.toml",
                &c.url,
                "needs `canonical`, or `code` and `rule`",
            );
        }
    }
    cases
}

/// Every case of `ips.toml`.
pub fn ips() -> Vec<IpCase> {
    cases("ips.toml")
}

/// Every case of `entries.toml`.
pub fn entries() -> Vec<EntryCase> {
    let cases: Vec<EntryCase> = cases("entries.toml");
    for c in &cases {
        if c.display.is_some() == c.error.is_some() {
            bad("entries.toml", &c.entry, "needs `display` or `error`");
        }
    }
    cases
}

/// The entries and cases of `matches.toml`.
pub fn matches() -> Matches {
    let m: Matches = load("matches.toml");
    for c in &m.cases {
        let refused = c.code.is_some() && c.rule.is_some();
        let partial = c.code.is_some() != c.rule.is_some();
        if partial || refused == c.entry.is_some() {
            bad(
                "matches.toml",
                &c.url,
                "needs `entry`, or `code` and `rule`",
            );
        }
    }
    m
}

/// A file made of `[[case]]` tables and nothing else.
fn cases<T: DeserializeOwned>(name: &str) -> Vec<T> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cases<T> {
        case: Vec<T>,
    }
    load::<Cases<T>>(name).case
}

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bad(name: &str, case: &str, why: &str) -> ! {
    panic!("{DIR}/{name}: case {case:?} {why}")
}
