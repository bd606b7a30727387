//! Host canonicalization: the one function through which every request host,
//! allowlist entry and secret domain passes.
//!
//! The heavy lifting is the WHATWG host parser of the `url` crate
//! ([`url::Host::parse`]): percent-decoding, UTS-46 mapping (non-transitional,
//! so `faß` stays `faß` and becomes `xn--fa-hia`), lowercasing, Unicode dots
//! (`。`) as label separators, and the IPv4 number forms (`127.1`, `0x7f.1`,
//! `2130706433`). It is the same parser that [`url::Url::parse`] runs on a
//! request URL, so an entry and a request cannot disagree about a host. On
//! top of it we strip one trailing dot and refuse what a DNS name cannot be.

use std::fmt;
use std::net::IpAddr;

/// A host name in canonical form: ASCII, lowercase, IDNA-encoded, without a
/// trailing dot, every label 1..=63 bytes of `[a-z0-9_-]`, at most 253 bytes.
///
/// Never an IP address: literals are refused by [`CanonicalHost::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalHost(Box<str>);

/// Why a host was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// The host is an IP address, in one of the spellings the parser accepts.
    IpLiteral(IpAddr),
    /// The host is not a valid name.
    Invalid {
        /// The host as given (control characters escaped).
        host: String,
        /// What is wrong with it.
        problem: HostProblem,
    },
}

/// What makes a host name invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostProblem {
    /// Nothing left after canonicalization.
    Empty,
    /// Two dots in a row, or a leading dot.
    EmptyLabel,
    /// A label longer than 63 bytes.
    LabelTooLong,
    /// The whole name is longer than 253 bytes.
    TooLong,
    /// A character that has no place in a host name (`*` included).
    BadChar(char),
    /// The last label is numeric: the name would be read as an IP address.
    NumericTld,
    /// The WHATWG / IDNA parser refused it (invalid punycode, forbidden code
    /// point, bad IPv4 or IPv6 syntax).
    Parse(String),
}

impl CanonicalHost {
    /// Canonicalizes a host as it would appear in a URL's authority.
    ///
    /// ```
    /// use fazt_policy::CanonicalHost;
    /// let h = CanonicalHost::parse("API.Example.COM.").unwrap();
    /// assert_eq!(h.as_str(), "api.example.com");
    /// assert!(CanonicalHost::parse("0x7f.1").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, HostError> {
        if input.is_empty() {
            return Err(invalid(input, HostProblem::Empty));
        }
        match url::Host::parse(input) {
            Ok(url::Host::Domain(d)) => Self::from_parsed_domain(&d),
            Ok(url::Host::Ipv4(a)) => Err(HostError::IpLiteral(a.into())),
            Ok(url::Host::Ipv6(a)) => Err(HostError::IpLiteral(a.into())),
            Err(e) => Err(invalid(input, HostProblem::Parse(e.to_string()))),
        }
    }

    /// Finishes canonicalization of a domain the WHATWG parser already
    /// produced (from [`url::Host::parse`] or [`url::Url::host`]).
    pub(crate) fn from_parsed_domain(domain: &str) -> Result<Self, HostError> {
        let name = domain.strip_suffix('.').unwrap_or(domain);
        if name.is_empty() {
            return Err(invalid(domain, HostProblem::Empty));
        }
        if name.len() > 253 {
            return Err(invalid(domain, HostProblem::TooLong));
        }
        // One pass over the bytes: label lengths and the character set.
        let mut label_len = 0usize;
        for (i, &b) in name.as_bytes().iter().enumerate() {
            match b {
                b'.' if label_len == 0 => return Err(invalid(domain, HostProblem::EmptyLabel)),
                b'.' => label_len = 0,
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {
                    label_len += 1;
                    if label_len > 63 {
                        return Err(invalid(domain, HostProblem::LabelTooLong));
                    }
                }
                _ => {
                    // The first byte outside ASCII starts a character: `i`
                    // is a char boundary.
                    let c = name[i..].chars().next().unwrap_or('?');
                    return Err(invalid(domain, HostProblem::BadChar(c)));
                }
            }
        }
        if label_len == 0 {
            return Err(invalid(domain, HostProblem::EmptyLabel));
        }
        // The WHATWG parser reads a name ending in a number as IPv4; one that
        // got here anyway would be read differently by some other resolver.
        let last = name.rsplit('.').next().unwrap_or(name);
        if last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(invalid(domain, HostProblem::NumericTld));
        }
        Ok(CanonicalHost(name.into()))
    }

    /// The canonical name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The proper parent domains, nearest first: `a.b.c` yields `b.c`, `c`.
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        let s: &str = &self.0;
        s.match_indices('.').map(move |(i, _)| &s[i + 1..])
    }

    /// Whether `self` is a subdomain (at any depth) of `suffix`, on a label
    /// boundary. A name is not a subdomain of itself.
    pub fn is_subdomain_of(&self, suffix: &CanonicalHost) -> bool {
        let (h, s) = (self.as_str(), suffix.as_str());
        h.len() > s.len() + 1 && h.ends_with(s) && h.as_bytes()[h.len() - s.len() - 1] == b'.'
    }
}

impl fmt::Display for CanonicalHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CanonicalHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CanonicalHost({:?})", self.0)
    }
}

impl AsRef<str> for CanonicalHost {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostProblem::Empty => f.write_str("empty host"),
            HostProblem::EmptyLabel => f.write_str("empty label"),
            HostProblem::LabelTooLong => f.write_str("label longer than 63 bytes"),
            HostProblem::TooLong => f.write_str("name longer than 253 bytes"),
            HostProblem::BadChar(c) => write!(f, "character {:?} is not allowed in a host", c),
            HostProblem::NumericTld => f.write_str("numeric last label reads as an IP address"),
            HostProblem::Parse(e) => f.write_str(e),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::IpLiteral(a) => write!(f, "IP address {a} is not a host name"),
            HostError::Invalid { host, problem } => write!(f, "invalid host \"{host}\": {problem}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<HostError> for crate::NetError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::IpLiteral(addr) => crate::NetError::IpLiteral { addr },
            HostError::Invalid { host, problem } => crate::NetError::InvalidHost {
                host,
                reason: problem.to_string(),
            },
        }
    }
}

fn invalid(host: &str, problem: HostProblem) -> HostError {
    HostError::Invalid {
        host: crate::error::escape(host),
        problem,
    }
}
