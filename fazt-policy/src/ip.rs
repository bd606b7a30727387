//! IP classification: may egress connect to this address?
//!
//! The answer is "only if it is globally reachable". The tables below are the
//! non-global rows of the IANA *IPv4 Special-Purpose Address Registry* and
//! *IPv6 Special-Purpose Address Registry*, plus multicast, the deprecated
//! site-local and 6to4-relay ranges, and (for IPv6) everything outside
//! `2000::/3`, the only block IANA allocates as global unicast.
//!
//! **Registry snapshot:** reviewed against both registries as published on
//! 2025-06 and re-read on 2026-11-25. IANA registries change: when a row
//! is added, add it here with its RFC and a test at both edges.
//!
//! Rows the registries mark *globally reachable* are allowed: `192.31.196.0/24`
//! (AS112-v4), `192.52.193.0/24` (AMT), `192.175.48.0/24` (AS112 delegation),
//! and inside `2001::/23`: `2001:1::1/128`, `2001:1::2/128`, `2001:1::3/128`,
//! `2001:3::/32`, `2001:4:112::/48`, `2001:20::/28`, `2001:30::/28`. The
//! exception is `192.0.0.0/24`, refused whole although two of its /32s are
//! marked global.
//!
//! Embedded IPv4: an IPv4-mapped address (`::ffff:a.b.c.d`, RFC 4291) and a
//! NAT64 well-known-prefix address (`64:ff9b::a.b.c.d`, RFC 6052) are judged
//! by the IPv4 inside, so DNS64 networks keep working and
//! `::ffff:127.0.0.1` is loopback. IPv4-compatible (`::/96`), IPv4-translated
//! (`::ffff:0:0:0/96`), 6to4 (`2002::/16`), Teredo (`2001::/32`) and
//! local-use NAT64 (`64:ff9b:1::/48`) are refused outright: their inner
//! address is not a reliable description of where packets go.
//!
//! Operator ranges: `deny_ranges` win over everything; then `allow_ranges`
//! admit an address the built-in tables would block (tests use
//! `127.0.0.1/32`). Both are checked against the address and, for mapped and
//! NAT64 addresses, the IPv4 inside. Last, the host's own interface
//! addresses ([`Classifier::with_own_addresses`]) are blocked even when
//! globally reachable.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// A named special-purpose class of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum IpClass {
    /// `0.0.0.0/8`, "this network" (RFC 791).
    ThisNetwork,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918).
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598).
    SharedAddress,
    /// `127.0.0.0/8` (RFC 1122), `::1/128` (RFC 4291).
    Loopback,
    /// `169.254.0.0/16` (RFC 3927), `fe80::/10` (RFC 4291). Includes the
    /// cloud metadata address `169.254.169.254`.
    LinkLocal,
    /// `192.0.0.0/24` (RFC 6890), `2001::/23` (RFC 2928).
    IetfProtocol,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` (RFC 5737),
    /// `2001:db8::/32` (RFC 3849), `3fff::/20` (RFC 9637).
    Documentation,
    /// `192.88.99.0/24`, deprecated 6to4 relay anycast (RFC 7526).
    Relay6to4,
    /// `198.18.0.0/15` (RFC 2544), `2001:2::/48` (RFC 5180).
    Benchmarking,
    /// `240.0.0.0/4`, reserved (RFC 1112).
    Reserved,
    /// `255.255.255.255/32`, limited broadcast (RFC 919).
    Broadcast,
    /// `224.0.0.0/4` (RFC 5771), `ff00::/8` (RFC 4291).
    Multicast,
    /// `::/128`, the unspecified address (RFC 4291).
    Unspecified,
    /// `::/96`, deprecated IPv4-compatible addresses (RFC 4291).
    Ipv4Compatible,
    /// `::ffff:0:0:0/96`, IPv4-translated addresses (RFC 2765).
    Ipv4Translated,
    /// `64:ff9b:1::/48`, local-use NAT64 (RFC 8215).
    Nat64Local,
    /// `100::/64`, discard-only (RFC 6666).
    Discard,
    /// `100:0:0:1::/64`, dummy prefix (RFC 9780).
    DummyPrefix,
    /// `2001::/32`, Teredo (RFC 4380).
    Teredo,
    /// `2002::/16`, 6to4 (RFC 3056).
    SixToFour,
    /// `5f00::/16`, SRv6 SIDs (RFC 9602).
    Srv6,
    /// `fc00::/7`, unique local (RFC 4193).
    UniqueLocal,
    /// `fec0::/10`, deprecated site-local (RFC 3879).
    SiteLocal,
    /// Outside `2000::/3`: not allocated as global unicast (RFC 4291 §2.4).
    NotGlobalUnicast,
}

impl IpClass {
    /// A short human name, e.g. `loopback`.
    pub const fn name(self) -> &'static str {
        use IpClass::*;
        match self {
            ThisNetwork => "\"this network\"",
            Private => "private network",
            SharedAddress => "shared address space (carrier-grade NAT)",
            Loopback => "loopback",
            LinkLocal => "link-local (includes cloud metadata)",
            IetfProtocol => "IETF protocol assignments",
            Documentation => "documentation",
            Relay6to4 => "6to4 relay anycast",
            Benchmarking => "benchmarking",
            Reserved => "reserved",
            Broadcast => "limited broadcast",
            Multicast => "multicast",
            Unspecified => "unspecified",
            Ipv4Compatible => "IPv4-compatible IPv6",
            Ipv4Translated => "IPv4-translated IPv6",
            Nat64Local => "local-use NAT64",
            Discard => "discard-only",
            DummyPrefix => "dummy prefix",
            Teredo => "Teredo",
            SixToFour => "6to4",
            Srv6 => "SRv6 SIDs",
            UniqueLocal => "unique local",
            SiteLocal => "site-local",
            NotGlobalUnicast => "not global unicast",
        }
    }

    /// The RFC that defines the range.
    pub const fn rfc(self) -> &'static str {
        use IpClass::*;
        match self {
            ThisNetwork => "RFC 791",
            Private => "RFC 1918",
            SharedAddress => "RFC 6598",
            Loopback => "RFC 1122 / RFC 4291",
            LinkLocal => "RFC 3927 / RFC 4291",
            IetfProtocol => "RFC 6890 / RFC 2928",
            Documentation => "RFC 5737 / RFC 3849 / RFC 9637",
            Relay6to4 => "RFC 7526",
            Benchmarking => "RFC 2544 / RFC 5180",
            Reserved => "RFC 1112",
            Broadcast => "RFC 919",
            Multicast => "RFC 5771 / RFC 4291",
            Unspecified | Ipv4Compatible | NotGlobalUnicast => "RFC 4291",
            Ipv4Translated => "RFC 2765",
            Nat64Local => "RFC 8215",
            Discard => "RFC 6666",
            DummyPrefix => "RFC 9780",
            Teredo => "RFC 4380",
            SixToFour => "RFC 3056",
            Srv6 => "RFC 9602",
            UniqueLocal => "RFC 4193",
            SiteLocal => "RFC 3879",
        }
    }
}

/// Why an address is blocked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum BlockReason {
    /// The address is in a special-purpose range.
    Special(IpClass),
    /// The IPv4 address embedded in a mapped or NAT64 address is.
    Embedded {
        /// The embedded address.
        inner: Ipv4Addr,
        /// Its class.
        class: IpClass,
    },
    /// An operator `deny_ranges` entry covers it.
    Denied(IpNet),
    /// It is one of this host's own interface addresses.
    OwnAddress,
}

/// The classifier's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Globally reachable: may be connected to.
    Allowed,
    /// Blocked by the built-in tables but admitted by `allow_ranges`.
    AllowedByOperator(IpNet),
    /// Blocked.
    Blocked(BlockReason),
}

impl Verdict {
    /// Whether a connection may be made.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Verdict::Blocked(_))
    }
}

/// Built-in tables plus operator ranges.
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
    own: Vec<IpAddr>,
}

impl Classifier {
    /// The built-in tables alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits addresses in `ranges` even when the built-in tables block
    /// them. Dangerous: meant for private deployments and tests.
    pub fn with_allow_ranges(mut self, ranges: impl IntoIterator<Item = IpNet>) -> Self {
        self.allow.extend(ranges.into_iter().map(|n| n.trunc()));
        self
    }

    /// Blocks addresses in `ranges` on top of the built-in tables; wins over
    /// `allow_ranges`.
    pub fn with_deny_ranges(mut self, ranges: impl IntoIterator<Item = IpNet>) -> Self {
        self.deny.extend(ranges.into_iter().map(|n| n.trunc()));
        self
    }

    /// Blocks this host's own interface addresses even when they are
    /// globally reachable (no calling ourselves through a public name).
    /// An operator's `allow_ranges` still wins for addresses the built-in
    /// tables block (tests allow `127.0.0.1/32`).
    pub fn with_own_addresses(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.own.extend(addrs);
        self
    }

    /// The operator's allow ranges.
    pub fn allow_ranges(&self) -> &[IpNet] {
        &self.allow
    }

    /// The operator's deny ranges.
    pub fn deny_ranges(&self) -> &[IpNet] {
        &self.deny
    }

    /// Classifies one address.
    ///
    /// ```
    /// use fazt_policy::{Classifier, Verdict};
    /// let c = Classifier::new();
    /// assert!(!c.classify("169.254.169.254".parse().unwrap()).is_allowed());
    /// assert!(!c.classify("::ffff:127.0.0.1".parse().unwrap()).is_allowed());
    /// assert_eq!(c.classify("93.184.215.14".parse().unwrap()), Verdict::Allowed);
    /// ```
    pub fn classify(&self, ip: IpAddr) -> Verdict {
        let inner = embedded_ipv4(ip);
        let covers = |nets: &[IpNet]| {
            nets.iter()
                .find(|n| n.contains(&ip) || inner.is_some_and(|v4| n.contains(&IpAddr::V4(v4))))
                .copied()
        };
        if let Some(net) = covers(&self.deny) {
            return Verdict::Blocked(BlockReason::Denied(net));
        }
        match builtin(ip) {
            None if self.own.contains(&ip)
                || inner.is_some_and(|v4| self.own.contains(&IpAddr::V4(v4))) =>
            {
                Verdict::Blocked(BlockReason::OwnAddress)
            }
            None => Verdict::Allowed,
            Some(reason) => match covers(&self.allow) {
                Some(net) => Verdict::AllowedByOperator(net),
                None => Verdict::Blocked(reason),
            },
        }
    }
}

/// The built-in verdict: `None` when globally reachable.
fn builtin(ip: IpAddr) -> Option<BlockReason> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(BlockReason::Special),
        IpAddr::V6(v6) => match embedded_ipv4(ip) {
            Some(inner) => classify_v4(inner).map(|class| BlockReason::Embedded { inner, class }),
            None => classify_v6(v6).map(BlockReason::Special),
        },
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64
/// well-known-prefix (`64:ff9b::/96`) address.
pub fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let bits = u128::from(v6);
    let prefix = bits >> 32;
    // Truncation is intended: the low 32 bits are the IPv4 address.
    let low = Ipv4Addr::from(bits as u32);
    (prefix == 0xffff || prefix == 0x0064_ff9b_0000_0000_0000_0000).then_some(low)
}

/// The built-in class of an IPv4 address, `None` if globally reachable.
pub fn classify_v4(ip: Ipv4Addr) -> Option<IpClass> {
    let a = u32::from(ip);
    V4_TABLE
        .iter()
        .find(|(net, len, _)| prefix_match32(a, *net, *len))
        .map(|&(_, _, class)| class)
}

/// The built-in class of an IPv6 address judged on its own (embedded IPv4
/// is not decoded here), `None` if globally reachable.
pub fn classify_v6(ip: Ipv6Addr) -> Option<IpClass> {
    let a = u128::from(ip);
    // Only 2000::/3 is allocated as global unicast: most lookups are there,
    // and only a few rows lie inside it.
    let (table, default) = if a >> 125 == 0b001 {
        (V6_GLOBAL_UNICAST_TABLE, None)
    } else {
        (V6_OTHER_TABLE, Some(IpClass::NotGlobalUnicast))
    };
    for &(net, len, class) in table {
        if prefix_match128(a, net, len) {
            return class;
        }
    }
    default
}

fn prefix_match32(a: u32, net: u32, len: u8) -> bool {
    len == 0 || (a ^ net) >> (32 - u32::from(len)) == 0
}

fn prefix_match128(a: u128, net: u128, len: u8) -> bool {
    len == 0 || (a ^ net) >> (128 - u32::from(len)) == 0
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// Non-global IPv4 ranges, first match wins.
const V4_TABLE: &[(u32, u8, IpClass)] = &[
    (v4(0, 0, 0, 0), 8, IpClass::ThisNetwork),
    (v4(10, 0, 0, 0), 8, IpClass::Private),
    (v4(100, 64, 0, 0), 10, IpClass::SharedAddress),
    (v4(127, 0, 0, 0), 8, IpClass::Loopback),
    (v4(169, 254, 0, 0), 16, IpClass::LinkLocal),
    (v4(172, 16, 0, 0), 12, IpClass::Private),
    (v4(192, 0, 0, 0), 24, IpClass::IetfProtocol),
    (v4(192, 0, 2, 0), 24, IpClass::Documentation),
    (v4(192, 88, 99, 0), 24, IpClass::Relay6to4),
    (v4(192, 168, 0, 0), 16, IpClass::Private),
    (v4(198, 18, 0, 0), 15, IpClass::Benchmarking),
    (v4(198, 51, 100, 0), 24, IpClass::Documentation),
    (v4(203, 0, 113, 0), 24, IpClass::Documentation),
    (v4(224, 0, 0, 0), 4, IpClass::Multicast),
    (v4(255, 255, 255, 255), 32, IpClass::Broadcast),
    (v4(240, 0, 0, 0), 4, IpClass::Reserved),
];

const fn v6(s: [u16; 8]) -> u128 {
    let mut out = 0u128;
    let mut i = 0;
    while i < 8 {
        out = (out << 16) | s[i] as u128;
        i += 1;
    }
    out
}

/// IPv6 ranges outside `2000::/3`, first match wins (the rest of that
/// space is [`IpClass::NotGlobalUnicast`]).
const V6_OTHER_TABLE: &[(u128, u8, Option<IpClass>)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, Some(IpClass::Loopback)),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 0]),
        128,
        Some(IpClass::Unspecified),
    ),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 0]),
        96,
        Some(IpClass::Ipv4Compatible),
    ),
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        Some(IpClass::Ipv4Translated),
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        Some(IpClass::Nat64Local),
    ),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, Some(IpClass::Discard)),
    (
        v6([0x100, 0, 0, 1, 0, 0, 0, 0]),
        64,
        Some(IpClass::DummyPrefix),
    ),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, Some(IpClass::Srv6)),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        Some(IpClass::UniqueLocal),
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Some(IpClass::LinkLocal),
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Some(IpClass::SiteLocal),
    ),
    (
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        8,
        Some(IpClass::Multicast),
    ),
];

/// Non-global IPv6 ranges inside `2000::/3`, first match wins; `None` marks
/// a globally reachable row inside a blocked one.
const V6_GLOBAL_UNICAST_TABLE: &[(u128, u8, Option<IpClass>)] = &[
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, Some(IpClass::Teredo)),
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 1]), 128, None),
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 2]), 128, None),
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 3]), 128, None),
    (v6([0x2001, 3, 0, 0, 0, 0, 0, 0]), 32, None),
    (v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0]), 48, None),
    (v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0]), 28, None),
    (v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0]), 28, None),
    (
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0]),
        48,
        Some(IpClass::Benchmarking),
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        Some(IpClass::IetfProtocol),
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        Some(IpClass::Documentation),
    ),
    (
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0]),
        16,
        Some(IpClass::SixToFour),
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        Some(IpClass::Documentation),
    ),
];

impl fmt::Display for IpClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.rfc())
    }
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockReason::Special(class) => class.fmt(f),
            BlockReason::Embedded { inner, class } => {
                write!(f, "embeds IPv4 {inner}, which is {class}")
            }
            BlockReason::Denied(net) => write!(f, "operator deny_ranges {net}"),
            BlockReason::OwnAddress => f.write_str("an address of this host"),
        }
    }
}
