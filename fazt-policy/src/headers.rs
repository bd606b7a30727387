//! Header rules: what a caller may send, and how responses are presented.

use crate::NetError;

/// Request headers a caller may not set: the transport owns them. Any name
/// starting with `proxy-` is dropped too.
pub const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "host",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "accept-encoding",
    "content-length",
    "trailer",
];

/// Methods that never leave the host (they tunnel or reflect).
pub const FORBIDDEN_METHODS: &[&str] = &["CONNECT", "TRACE", "TRACK"];

/// The most bytes of request headers a call may send (each header counts
/// its name, its value and the 4 bytes of `: ` and CRLF around them):
/// what servers commonly accept, and with the longest URL the limits allow
/// still within what the transport writes in one buffer. A script cannot
/// make the host copy more than this.
pub const MAX_REQUEST_HEADER_BYTES: u64 = 32 * 1024;

/// The bytes each header line adds besides its name and value (`: ` and
/// CRLF): so many empty headers cost something too.
pub const HEADER_FRAMING: usize = 4;

/// Checks and normalizes a request method: a token per RFC 9110; the six
/// standard methods are uppercased as WHATWG fetch does; `CONNECT`, `TRACE`
/// and `TRACK` are refused.
///
/// ```
/// use fazt_policy::headers::normalize_method;
/// assert_eq!(normalize_method("post").unwrap(), "POST");
/// assert_eq!(normalize_method("PATCH").unwrap(), "PATCH");
/// assert!(normalize_method("GET\r\nX: y").is_err());
/// assert!(normalize_method("connect").is_err());
/// ```
pub fn normalize_method(method: &str) -> Result<String, NetError> {
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(NetError::InvalidMethod {
            method: crate::error::escape(method),
        });
    }
    let upper = method.to_ascii_uppercase();
    if FORBIDDEN_METHODS.contains(&upper.as_str()) {
        return Err(NetError::InvalidMethod { method: upper });
    }
    let standard = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    Ok(if standard.contains(&upper.as_str()) {
        upper
    } else {
        method.to_string()
    })
}

/// Checks caller headers and drops those the transport owns.
///
/// Names must be RFC 9110 tokens; values may not contain CR, LF, NUL or
/// other control characters except tab. Names come back lowercased, values
/// with surrounding whitespace trimmed; order and repeats are kept.
///
/// ```
/// use fazt_policy::headers::sanitize_request_headers;
/// let h = sanitize_request_headers([("X-Api", " 1 "), ("Host", "evil")]).unwrap();
/// assert_eq!(h, vec![("x-api".to_string(), "1".to_string())]);
/// assert!(sanitize_request_headers([("x", "a\r\nInjected: 1")]).is_err());
/// ```
pub fn sanitize_request_headers<N, V>(
    headers: impl IntoIterator<Item = (N, V)>,
) -> Result<Vec<(String, String)>, NetError>
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = Vec::new();
    let mut total = 0u64;
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_header_name(name)?;
        total = total.saturating_add((name.len() + value.len() + HEADER_FRAMING) as u64);
        if total > MAX_REQUEST_HEADER_BYTES {
            return Err(request_headers_too_large(name));
        }
        if let Some(c) = value
            .chars()
            .find(|&c| c != '\t' && (c < ' ' || c == '\x7f'))
        {
            let what = match c {
                '\r' => "CR",
                '\n' => "LF",
                '\0' => "NUL",
                _ => "a control character",
            };
            return Err(NetError::InvalidHeader {
                name: name.to_ascii_lowercase(),
                reason: format!("value contains {what}"),
            });
        }
        let lower = name.to_ascii_lowercase();
        if DROPPED_REQUEST_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") {
            continue;
        }
        out.push((lower, value.trim_matches([' ', '\t']).to_string()));
    }
    Ok(out)
}

/// The refusal of request headers over [`MAX_REQUEST_HEADER_BYTES`],
/// `name` being the one that crossed it.
pub fn request_headers_too_large(name: &str) -> NetError {
    NetError::InvalidHeader {
        name: name.to_ascii_lowercase(),
        reason: format!("the request's headers are over {MAX_REQUEST_HEADER_BYTES} bytes"),
    }
}

/// Checks that `name` is a valid header name (an RFC 9110 token).
pub fn check_header_name(name: &str) -> Result<(), NetError> {
    if !name.is_empty() && name.bytes().all(is_tchar) {
        return Ok(());
    }
    let reason = if name.is_empty() {
        "empty name".to_string()
    } else if name.contains(['\r', '\n', '\0']) {
        "name contains CR, LF or NUL".to_string()
    } else {
        "name is not a token".to_string()
    };
    Err(NetError::InvalidHeader {
        name: crate::error::escape(name),
        reason,
    })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Response headers as scripts see them: lowercase names, order and repeats
/// kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    pairs: Vec<(String, String)>,
}

impl ResponseHeaders {
    /// Builds the model from raw pairs, lowercasing names.
    pub fn from_pairs<N: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        ResponseHeaders {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (n.as_ref().to_ascii_lowercase(), v.into()))
                .collect(),
        }
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value under `name` (any case).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value under `name` (any case), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The WHATWG `Headers.get` value: all values joined with `", "`.
    pub fn joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self.all(name).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Total size as sent on the wire (`name: value\r\n` per pair).
    pub fn wire_size(&self) -> usize {
        self.pairs.iter().map(|(n, v)| n.len() + v.len() + 4).sum()
    }
}
