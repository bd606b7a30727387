//! The secret rules: where an injected secret goes in a request
//! ([`Injection::apply`]), which domain it may go to
//! ([`check_secret_domain`]), and how it is kept out of everything that
//! comes back ([`Injection::scrub`]).

use std::borrow::Cow;
use std::fmt;

use crate::headers::{check_header_name, ResponseHeaders, DROPPED_REQUEST_HEADERS};
use crate::{CanonicalHost, HostPattern, NetError, Target};

/// Where an injected secret goes in the outgoing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InjectAs {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// A header with this (lowercase) name.
    Header(String),
    /// A query parameter with this name.
    Query(String),
}

/// Why an inject mode was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectAsError {
    /// The mode is not `bearer`, `header` or `query`.
    UnknownMode(String),
    /// `bearer` was given a key: it always goes in `Authorization`.
    KeyNotTaken,
    /// `header` or `query` was given no key.
    KeyMissing(&'static str),
    /// The header name is not a valid header name.
    InvalidHeader(String),
    /// The header is one the transport sets itself.
    ManagedHeader(String),
    /// The query key is too long or has characters that would split the
    /// query.
    InvalidQueryKey(String),
}

/// A name the secret name rule refuses ([`check_secret_name`]), escaped
/// for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidSecretName(pub String);

/// The secret name rule: 1..=64 characters of `A-Z`, `0-9` and `_`
/// (`STRIPE_KEY`). Names are what scripts write in `auth`; values never are.
///
/// # Errors
/// [`InvalidSecretName`] with the name, escaped.
pub fn check_secret_name(name: &str) -> Result<(), InvalidSecretName> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(InvalidSecretName(name.escape_debug().to_string()))
    }
}

impl fmt::Display for InvalidSecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid secret name \"{}\": expected 1..64 characters of A-Z, 0-9 and _",
            self.0
        )
    }
}

impl std::error::Error for InvalidSecretName {}

/// The longest query key a secret may be injected under.
pub const MAX_QUERY_KEY: usize = 64;

impl InjectAs {
    /// The inject mode rule: `bearer` (no key), `header` with a header
    /// name the transport does not manage, or `query` with a parameter
    /// name of 1..=[`MAX_QUERY_KEY`] characters that cannot split the query.
    /// The mode is case-insensitive; an empty key is no key; a header name
    /// is lowercased.
    ///
    /// # Errors
    /// An [`InjectAsError`] naming the rule and the value.
    pub fn parse(mode: &str, key: Option<&str>) -> Result<InjectAs, InjectAsError> {
        let key = key.map(str::trim).filter(|k| !k.is_empty());
        match (mode.to_ascii_lowercase().as_str(), key) {
            ("bearer", None) => Ok(InjectAs::Bearer),
            ("bearer", Some(_)) => Err(InjectAsError::KeyNotTaken),
            ("header", None) => Err(InjectAsError::KeyMissing("header")),
            ("query", None) => Err(InjectAsError::KeyMissing("query")),
            ("header", Some(k)) => {
                if check_header_name(k).is_err() {
                    return Err(InjectAsError::InvalidHeader(k.escape_debug().to_string()));
                }
                let k = k.to_ascii_lowercase();
                if DROPPED_REQUEST_HEADERS.contains(&k.as_str()) || k.starts_with("proxy-") {
                    return Err(InjectAsError::ManagedHeader(k));
                }
                Ok(InjectAs::Header(k))
            }
            ("query", Some(k)) => {
                if k.len() > MAX_QUERY_KEY
                    || k.chars()
                        .any(|c| c.is_control() || matches!(c, '&' | '=' | '#' | ' '))
                {
                    return Err(InjectAsError::InvalidQueryKey(k.escape_debug().to_string()));
                }
                Ok(InjectAs::Query(k.to_string()))
            }
            (other, _) => Err(InjectAsError::UnknownMode(other.escape_debug().to_string())),
        }
    }

    /// The mode's name, as [`InjectAs::parse`] reads it: `bearer`,
    /// `header` or `query`.
    pub fn mode(&self) -> &'static str {
        match self {
            InjectAs::Bearer => "bearer",
            InjectAs::Header(_) => "header",
            InjectAs::Query(_) => "query",
        }
    }

    /// The header or parameter name; `None` for `bearer`.
    pub fn key(&self) -> Option<&str> {
        match self {
            InjectAs::Bearer => None,
            InjectAs::Header(k) | InjectAs::Query(k) => Some(k),
        }
    }
}

impl fmt::Display for InjectAsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InjectAsError::UnknownMode(m) => {
                write!(f, "invalid inject mode \"{m}\": expected bearer, header or query")
            }
            InjectAsError::KeyNotTaken => f.write_str(
                "invalid inject key: bearer secrets go in Authorization and take no key",
            ),
            InjectAsError::KeyMissing(mode) => {
                write!(f, "invalid inject key: {mode} secrets need a key")
            }
            InjectAsError::InvalidHeader(k) => {
                write!(f, "invalid inject key: \"{k}\" is not a valid header name")
            }
            InjectAsError::ManagedHeader(k) => {
                write!(f, "invalid inject key: header \"{k}\" is managed by the transport")
            }
            InjectAsError::InvalidQueryKey(k) => write!(
                f,
                "invalid inject key: query key \"{k}\" must be 1..{MAX_QUERY_KEY} characters without controls, spaces, '&', '=' or '#'"
            ),
        }
    }
}

impl std::error::Error for InjectAsError {}

/// A secret value. It has no `Display`, its `Debug` is redacted, and the
/// only way to read it is [`SecretValue::expose`], which the transport calls
/// while writing the request.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself. Only the transport's injection step should call
    /// this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A secret ready to be injected.
#[derive(Clone, Debug)]
pub struct Injection {
    /// Where it goes.
    pub inject_as: InjectAs,
    /// The value.
    pub value: SecretValue,
}

impl Injection {
    /// The placement rule: the secret goes into the request to `target`
    /// with `headers` (lowercase names, as
    /// [`sanitize_request_headers`](crate::headers::sanitize_request_headers)
    /// leaves them) as `Authorization: Bearer <value>`, as the named
    /// header, or as the named query parameter. The injected value wins:
    /// a caller header of the same name (any case) is dropped, as is a
    /// query parameter of the same name.
    pub fn apply(&self, target: &mut Target, headers: &mut Vec<(String, String)>) {
        let value = self.value.expose();
        let (name, value) = match &self.inject_as {
            InjectAs::Bearer => ("authorization", format!("Bearer {value}")),
            InjectAs::Header(name) => (name.as_str(), value.to_string()),
            InjectAs::Query(key) => return target.set_query_param(key, value),
        };
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.to_string(), value));
    }

    /// The rule for text that goes back to the caller (the final URL, every
    /// response header, an error message): every occurrence of the secret's
    /// value, as it is or in the usual percent-encodings, becomes
    /// `[REDACTED]`; text that still holds it in another spelling
    /// ([`Injection::is_in`]) becomes `[REDACTED]` whole. A server may echo
    /// what it received anywhere, in any encoding; the value never comes
    /// back.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let value = self.value.expose();
        if value.is_empty() {
            return Cow::Borrowed(text);
        }
        let forms = [
            value.to_string(),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
            percent_encode_all(value),
        ];
        let mut out = Cow::Borrowed(text);
        for form in forms.iter().filter(|f| !f.is_empty()) {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), REDACTED));
            }
        }
        if self.is_in(&out) {
            return Cow::Owned(REDACTED.to_string());
        }
        out
    }

    /// The rule for response headers: a header named after the secret is
    /// dropped whole, every value is scrubbed ([`Injection::scrub`]).
    /// `None` when no header holds the secret (they go back as they are).
    pub fn scrub_headers(&self, headers: &ResponseHeaders) -> Option<ResponseHeaders> {
        let mut changed = false;
        let pairs: Vec<(&str, String)> = headers
            .pairs()
            .iter()
            .filter_map(|(name, value)| {
                if self.is_in(name) {
                    changed = true;
                    return None;
                }
                let value = self.scrub(value);
                changed |= matches!(value, Cow::Owned(_));
                Some((name.as_str(), value.into_owned()))
            })
            .collect();
        changed.then(|| ResponseHeaders::from_pairs(pairs))
    }

    /// The trace rule: whether `text` holds the secret's value in any
    /// spelling a server or a URL gives it: as it is or with the case of its
    /// letters changed (a host is lowercased), percent-encoded in either hex
    /// case, any of its bytes or all of them, once or up to
    /// [`MAX_ENCODING_LAYERS`] times over (a URL inside a URL), form-encoded
    /// (`+` for a space, in the text or in the value), with JSON's escaped
    /// slashes, or split by the tabs and line breaks a URL parser drops.
    pub fn is_in(&self, text: &str) -> bool {
        let value = self.value.expose();
        if value.is_empty() {
            return false;
        }
        let needle = value.to_lowercase();
        // A `+` that a form decoder made a space.
        let spaced = needle.replace('+', " ");
        let mut layer = text.to_lowercase();
        for _ in 0..=MAX_ENCODING_LAYERS {
            // JSON's escaped slash (`\/`), the tabs and line breaks a URL
            // parser drops, and `+` for a space.
            let plain = layer.replace("\\/", "/").replace(['\t', '\n', '\r'], "");
            if [&layer, &plain, &plain.replace('+', " ")]
                .iter()
                .any(|t| t.contains(&needle) || t.contains(&spaced))
            {
                return true;
            }
            match percent_decode(&plain) {
                Some(inner) => layer = inner.to_lowercase(),
                None => return false,
            }
        }
        false
    }
}

/// How many layers of percent-encoding [`Injection::is_in`] looks through.
pub const MAX_ENCODING_LAYERS: usize = 8;

/// `text` with every `%XX` decoded (invalid UTF-8 replaced), or `None` when
/// it has none.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut decoded = false;
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match escape {
            Some((hi, lo)) => {
                out.push(hi * 16 + lo);
                decoded = true;
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    decoded.then(|| String::from_utf8_lossy(&out).into_owned())
}

/// What a scrubbed secret value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// `value` with every byte but ASCII letters and digits percent-encoded.
fn percent_encode_all(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The secret binding rule: a secret named `name`, bound to `domain`, may be
/// injected into a request to `host` only if the domain matches it; a secret
/// bound to no domain is injected nowhere.
///
/// # Errors
/// [`NetError::SecretUnbound`] without a domain, [`NetError::SecretDomain`]
/// when it does not match.
pub fn check_secret_domain(
    name: &str,
    domain: Option<&HostPattern>,
    host: &CanonicalHost,
) -> Result<(), NetError> {
    match domain {
        None => Err(NetError::SecretUnbound {
            name: name.to_string(),
        }),
        Some(domain) if !domain.matches(host) => Err(NetError::SecretDomain {
            name: name.to_string(),
            host: host.to_string(),
        }),
        Some(_) => Ok(()),
    }
}
