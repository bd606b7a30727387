//! The allowlist: which hosts (and ports) an app may call, with per-domain
//! overrides.
//!
//! Entries are exact hosts (`api.stripe.com`) or wildcards (`*.googleapis.com`)
//! that match subdomains at any depth but never the apex. A bare `*` and a
//! wildcard on a public suffix (`*.com`, `*.co.uk`, or any single label) are
//! refused; see [`AllowEntry::parse`] for which list decides. Entries are global or scoped to one app.
//!
//! Lookup order, first match wins: the app's entries, then global ones;
//! within a scope the exact entry, then wildcards from the longest suffix to
//! the shortest. An entry without a port matches only the scheme's default
//! port; one with a port matches only that port. Lookup cost depends on the
//! number of labels in the host, never on the number of entries: both kinds
//! of entry are hashed by their host or suffix.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::{CanonicalHost, HostError, Limits, Scheme};

/// A parsed allowlist entry: pattern, optional port, scope and overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowEntry {
    pattern: HostPattern,
    port: Option<u16>,
    scope: Scope,
    overrides: EntryOverrides,
}

/// An exact host or a `*.suffix` wildcard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// This host only.
    Exact(CanonicalHost),
    /// Any subdomain of this suffix, at any depth, not the suffix itself.
    Wildcard(CanonicalHost),
}

/// Global or one app's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every app.
    Global,
    /// One app.
    App(AppId),
}

/// An app identifier: 1..=64 characters of `[A-Za-z0-9_.-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(Box<str>);

/// Per-domain overrides carried by an entry; `0` means "inherit the global
/// limit".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EntryOverrides {
    /// Plain `http` allowed for this entry.
    pub allow_http: bool,
    /// Requests per minute to this domain (0 = the global `rate_limit`).
    pub rate_limit: u32,
    /// Burst above the rate (0 = the global `rate_burst`).
    pub rate_burst: u32,
    /// Response size cap in bytes (0 = the global `max_response`); never
    /// above the hard cap.
    pub max_response: u64,
    /// Per-call timeout in milliseconds (0 = the global `call_timeout_ms`).
    pub timeout_ms: u64,
    /// Response cache lifetime in seconds (0 = no caching).
    pub cache_ttl_s: u64,
}

/// Why an entry (or an app id, or an override) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    /// Nothing given.
    Empty,
    /// `*` alone allows everything: not an allowlist.
    BareWildcard,
    /// `*` somewhere other than a leading `*.` label.
    MisplacedWildcard(String),
    /// A wildcard directly on a public suffix.
    PublicSuffixWildcard(String),
    /// A URL was given where a host was expected.
    NotAHost(String),
    /// The host part is invalid or an IP address.
    Host(HostError),
    /// The port is not a number in 1..=65535.
    Port(String),
    /// The app id is not valid.
    AppId(String),
    /// An override is outside its allowed range.
    Override {
        /// The override's name.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Inclusive bounds.
        min: u64,
        /// Inclusive bounds.
        max: u64,
    },
}

impl AllowEntry {
    /// Parses `host`, `*.suffix`, optionally followed by `:port`, as a global
    /// entry with no overrides.
    ///
    /// A wildcard is refused when its suffix is a single label or an ICANN
    /// public suffix of the compiled-in Public Suffix List. Private-section
    /// names (`*.googleapis.com`, `*.github.io`) are accepted: each belongs
    /// to one operator, and allowing its subdomains is a deliberate choice.
    ///
    /// ```
    /// use fazt_policy::AllowEntry;
    /// let e = AllowEntry::parse("*.GoogleAPIs.com.").unwrap();
    /// assert_eq!(e.to_string(), "*.googleapis.com");
    /// assert!(AllowEntry::parse("*.co.uk").is_err());
    /// assert!(AllowEntry::parse("*").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, EntryError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EntryError::Empty);
        }
        if input.contains("://") || input.contains('/') {
            return Err(EntryError::NotAHost(crate::error::escape(input)));
        }
        let (host, port) = split_port(input)?;
        let pattern = match host.strip_prefix("*.") {
            _ if host == "*" => return Err(EntryError::BareWildcard),
            Some("") => return Err(EntryError::BareWildcard),
            Some(suffix) => {
                if suffix.contains('*') {
                    return Err(EntryError::MisplacedWildcard(crate::error::escape(input)));
                }
                let suffix = CanonicalHost::parse(suffix).map_err(EntryError::Host)?;
                if is_public_suffix(&suffix) {
                    return Err(EntryError::PublicSuffixWildcard(suffix.to_string()));
                }
                HostPattern::Wildcard(suffix)
            }
            None if host.contains('*') => {
                return Err(EntryError::MisplacedWildcard(crate::error::escape(input)))
            }
            None => HostPattern::Exact(CanonicalHost::parse(host).map_err(EntryError::Host)?),
        };
        Ok(AllowEntry {
            pattern,
            port,
            scope: Scope::Global,
            overrides: EntryOverrides::default(),
        })
    }

    /// Scopes the entry to one app.
    pub fn for_app(mut self, app: AppId) -> Self {
        self.scope = Scope::App(app);
        self
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the overrides, after checking their ranges.
    pub fn with_overrides(mut self, overrides: EntryOverrides) -> Result<Self, EntryError> {
        overrides.validate()?;
        self.overrides = overrides;
        Ok(self)
    }

    /// The host pattern.
    pub fn pattern(&self) -> &HostPattern {
        &self.pattern
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The overrides.
    pub fn overrides(&self) -> &EntryOverrides {
        &self.overrides
    }

    /// Whether this entry admits `port` for `scheme` (ignoring the http
    /// rule).
    pub fn admits_port(&self, scheme: Scheme, port: u16) -> bool {
        self.port.unwrap_or(scheme.default_port()) == port
    }

    fn key(&self) -> (Scope, HostPattern, Option<u16>) {
        (self.scope.clone(), self.pattern.clone(), self.port)
    }
}

impl HostPattern {
    /// Parses `host` or `*.suffix` (no port), e.g. a secret's domain binding.
    pub fn parse(input: &str) -> Result<Self, EntryError> {
        let e = AllowEntry::parse(input)?;
        match e.port {
            Some(_) => Err(EntryError::NotAHost(crate::error::escape(input))),
            None => Ok(e.pattern),
        }
    }

    /// Whether `host` matches.
    pub fn matches(&self, host: &CanonicalHost) -> bool {
        match self {
            HostPattern::Exact(h) => h == host,
            HostPattern::Wildcard(suffix) => host.is_subdomain_of(suffix),
        }
    }
}

impl EntryOverrides {
    /// Hard cap on `max_response`, whatever the configuration: 10 MiB.
    pub const HARD_MAX_RESPONSE: u64 = 10 * 1024 * 1024;

    /// Checks each override against its range (0 is always allowed): the
    /// range of the global limit it overrides, from the [`Limits`] table
    /// (`timeout_ms` overrides `call_timeout_ms`), never below 1;
    /// `cache_ttl_s`, which has no global limit, 1 s to a day.
    pub fn validate(&self) -> Result<(), EntryError> {
        let limit_range = |limit: &str| {
            // Every name below is a field of the table: a miss would leave
            // the override unchecked, so it refuses everything instead.
            Limits::field_schema(limit).map_or((u64::MAX, 0), |s| (s.min.max(1), s.max))
        };
        let check = |field, value: u64, (min, max): (u64, u64)| {
            if value != 0 && !(min..=max).contains(&value) {
                Err(EntryError::Override {
                    field,
                    value,
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        };
        check(
            "rate_limit",
            self.rate_limit.into(),
            limit_range("rate_limit"),
        )?;
        check(
            "rate_burst",
            self.rate_burst.into(),
            limit_range("rate_burst"),
        )?;
        check(
            "max_response",
            self.max_response,
            limit_range("max_response"),
        )?;
        check(
            "timeout_ms",
            self.timeout_ms,
            limit_range("call_timeout_ms"),
        )?;
        check("cache_ttl_s", self.cache_ttl_s, (1, 86_400))
    }
}

impl AppId {
    /// Parses an app id.
    pub fn parse(input: &str) -> Result<Self, EntryError> {
        let ok = (1..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(AppId(input.into()))
        } else {
            Err(EntryError::AppId(crate::error::escape(input)))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The result of an allowlist lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// This entry matched host and port.
    Found(&'a Arc<AllowEntry>),
    /// Some entry matched the host, none the port.
    WrongPort,
    /// No entry matched the host.
    NotFound,
}

/// An indexed set of entries. Adding an entry with the same scope, pattern
/// and port as an existing one replaces it.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    entries: Vec<Arc<AllowEntry>>,
    positions: HashMap<(Scope, HostPattern, Option<u16>), usize>,
    global: ScopeIndex,
    apps: NameMap<ScopeIndex>,
}

#[derive(Clone, Debug, Default)]
struct ScopeIndex {
    exact: NameMap<Vec<usize>>,
    wildcard: NameMap<Vec<usize>>,
}

/// Maps keyed by host names. Keys are written only by the operator (entries
/// and app ids), so a fast non-keyed hash is safe here: a script can choose
/// what it looks up, not what collides.
type NameMap<V> = HashMap<Box<str>, V, BuildHasherDefault<Fnv1a>>;

/// 64-bit FNV-1a.
#[derive(Clone, Copy, Debug)]
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl Allowlist {
    /// An empty allowlist: everything is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, entry: AllowEntry) {
        if let Some(&i) = self.positions.get(&entry.key()) {
            self.entries[i] = Arc::new(entry);
            return;
        }
        let i = self.entries.len();
        self.positions.insert(entry.key(), i);
        let index = match &entry.scope {
            Scope::Global => &mut self.global,
            Scope::App(app) => self.apps.entry(app.0.clone()).or_default(),
        };
        let (map, key) = match &entry.pattern {
            HostPattern::Exact(h) => (&mut index.exact, h.as_str()),
            HostPattern::Wildcard(s) => (&mut index.wildcard, s.as_str()),
        };
        map.entry(key.into()).or_default().push(i);
        self.entries.push(Arc::new(entry));
    }

    /// Removes the entry with this scope, pattern and port; returns whether
    /// there was one.
    pub fn remove(&mut self, scope: &Scope, pattern: &HostPattern, port: Option<u16>) -> bool {
        let key = (scope.clone(), pattern.clone(), port);
        if !self.positions.contains_key(&key) {
            return false;
        }
        let rest = std::mem::take(&mut self.entries);
        *self = rest
            .into_iter()
            .filter(|e| e.key() != key)
            .map(Arc::unwrap_or_clone)
            .collect();
        true
    }

    /// All entries, in insertion order.
    pub fn entries(&self) -> &[Arc<AllowEntry>] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finds the entry that governs a request to `host:port` over `scheme`
    /// for `app` (see the module docs for the order).
    pub fn lookup(
        &self,
        app: Option<&str>,
        host: &CanonicalHost,
        scheme: Scheme,
        port: u16,
    ) -> Lookup<'_> {
        let mut host_matched = false;
        let scopes = app
            .and_then(|a| self.apps.get(a))
            .into_iter()
            .chain(std::iter::once(&self.global));
        for index in scopes {
            let exact = index.exact.get(host.as_str());
            let wild = host.parents().filter_map(|p| index.wildcard.get(p));
            for ids in exact.into_iter().chain(wild) {
                host_matched = true;
                if let Some(&i) = ids
                    .iter()
                    .find(|&&i| self.entries[i].admits_port(scheme, port))
                {
                    return Lookup::Found(&self.entries[i]);
                }
            }
        }
        if host_matched {
            Lookup::WrongPort
        } else {
            Lookup::NotFound
        }
    }
}

impl FromIterator<AllowEntry> for Allowlist {
    fn from_iter<I: IntoIterator<Item = AllowEntry>>(iter: I) -> Self {
        let mut list = Allowlist::new();
        for e in iter {
            list.insert(e);
        }
        list
    }
}

/// Whether `name` is itself a public suffix: any single label, or a suffix
/// in the ICANN section of the compiled-in Public Suffix List (`com`,
/// `co.uk`, `gov.au`).
///
/// The list's private section (`github.io`, `googleapis.com`) is not used:
/// those names belong to one operator, and an entry such as
/// `*.googleapis.com` is a deliberate, common choice.
fn is_public_suffix(name: &CanonicalHost) -> bool {
    if !name.as_str().contains('.') {
        return true;
    }
    psl::suffix(name.as_str().as_bytes()).is_some_and(|s| {
        s.typ() == Some(psl::Type::Icann) && s.as_bytes() == name.as_str().as_bytes()
    })
}

fn split_port(input: &str) -> Result<(&str, Option<u16>), EntryError> {
    if input.starts_with('[') {
        // An IPv6 literal, with or without port: let the host parser name it.
        let host = input.rsplit_once("]:").map_or(input, |(h, _)| h);
        let host = if host.ends_with(']') {
            host.to_string()
        } else {
            format!("{host}]")
        };
        return Err(match CanonicalHost::parse(&host) {
            Err(e) => EntryError::Host(e),
            Ok(_) => EntryError::NotAHost(crate::error::escape(input)),
        });
    }
    match input.rsplit_once(':') {
        None => Ok((input, None)),
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) if p != 0 && !port.starts_with('+') => Ok((host, Some(p))),
            _ => Err(EntryError::Port(crate::error::escape(port))),
        },
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(h) => write!(f, "{h}"),
            HostPattern::Wildcard(s) => write!(f, "*.{s}"),
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pattern)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::App(a) => write!(f, "app \"{}\"", a.0),
        }
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::Empty => f.write_str("empty allowlist entry"),
            EntryError::BareWildcard => {
                f.write_str("\"*\" would allow every host; list the hosts or a \"*.domain\" wildcard")
            }
            EntryError::MisplacedWildcard(e) => write!(
                f,
                "wildcard in \"{e}\" must be a whole leading label, as in \"*.example.com\""
            ),
            EntryError::PublicSuffixWildcard(s) => write!(
                f,
                "wildcard on public suffix \"{s}\" would allow unrelated sites; use a registrable domain such as \"*.example.{s}\""
            ),
            EntryError::NotAHost(e) => {
                write!(f, "\"{e}\" is not a host; give a host name such as api.example.com")
            }
            EntryError::Host(e) => e.fmt(f),
            EntryError::Port(p) => write!(f, "invalid port \"{p}\": expected 1..65535"),
            EntryError::AppId(a) => write!(
                f,
                "invalid app id \"{a}\": expected 1..64 characters of letters, digits, '_', '.', '-'"
            ),
            EntryError::Override {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} = {value} is out of range: 0 (inherit) or {min}..={max}"),
        }
    }
}

impl std::error::Error for EntryError {}
