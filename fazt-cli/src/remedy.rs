//! What fixes a refusal: the one place a refusal is mapped to the command
//! or wait that lifts it, for `net check`, `fetch`, `run` and `demo`.

use fazt_policy::{Limits, NetError};

/// The remedy for `e` met by a call for `app`, as one line, where there is
/// one an operator can apply (a refusal of the address a host resolved to,
/// or of a malformed request, has none: the policy is doing its job).
pub(crate) fn remedy(e: &NetError, app: Option<&str>) -> Option<String> {
    let app = app.map(|a| format!(" --app {a}")).unwrap_or_default();
    let raise = |name: &str, now: u64| {
        let top = Limits::schema()
            .iter()
            .find(|f| f.name == name)
            .map_or(now, |f| f.max);
        let next = now.saturating_mul(2).clamp(now, top);
        if next > now {
            format!("raise it with `fazt limits set {name} {next}` (at most {top})")
        } else {
            format!("{name} is at its most ({top})")
        }
    };
    Some(match e {
        // A name that always means this machine is never worth allowing:
        // the address it resolves to is refused anyway.
        NetError::NotAllowlisted { host, .. }
            if host == "localhost" || host.ends_with(".localhost") =>
        {
            return None
        }
        NetError::NotAllowlisted { host, .. } => format!("add it with `fazt net allow {host}{app}`"),
        NetError::PortNotAllowed { host, port } => {
            format!("allow the port with `fazt net allow {host}:{port}{app}`")
        }
        NetError::HttpNotAllowed { host } => {
            format!("use https, or allow http with `fazt net allow {host} --http{app}`")
        }
        NetError::RedirectNotAllowed { .. } => {
            "allow the host it redirects to, or call that host directly".into()
        }
        NetError::IpLiteral { .. } => {
            "call the service by its host name, and allowlist that name".into()
        }
        NetError::Userinfo { .. } => {
            "store the credential with `fazt secret set` and pass its name as `auth`".into()
        }
        NetError::SecretMissing { name } => {
            format!("store it with `fazt secret set {name} --domain HOST{app}`")
        }
        NetError::SecretUnbound { name } => {
            format!("bind it to its host with `fazt secret set {name} --domain HOST{app}`")
        }
        NetError::SecretDomain { name, host } => format!(
            "the secret is bound to another host: to use it with {host}, store it again with \
             `fazt secret set {name} --domain {host}{app}`"
        ),
        NetError::CallLimit { max } => {
            format!("max_calls: {}", raise("max_calls", u64::from(*max)))
        }
        NetError::TooManyRedirects { max, .. } => {
            format!("max_redirects: {}", raise("max_redirects", u64::from(*max)))
        }
        NetError::Timeout { host, after_ms } => format!(
            "call_timeout_ms: {}; or give {host} its own with `fazt net allow {host} --timeout MS{app}`",
            raise("call_timeout_ms", *after_ms)
        ),
        NetError::BudgetExhausted { .. } => "budget_ms: raise it with `fazt limits set budget_ms MS`, \
             or make fewer or faster calls per run"
            .into(),
        NetError::UrlTooLong { max, .. } => {
            format!("max_url_length: {}", raise("max_url_length", *max))
        }
        NetError::RequestBodyTooLarge { max, .. } => {
            format!("max_request_body: {}", raise("max_request_body", *max))
        }
        NetError::ResponseTooLarge { host, max } => format!(
            "max_response: {}; or give {host} its own with `fazt net allow {host} --max-response BYTES{app}`",
            raise("max_response", *max)
        ),
        NetError::ResponseHeadersTooLarge { max, .. } => {
            format!("max_response_headers: {}", raise("max_response_headers", *max))
        }
        NetError::AppConcurrency { .. } => {
            "retry shortly, or raise app_concurrency with `fazt limits set app_concurrency N`".into()
        }
        NetError::GlobalConcurrency { .. } => {
            "retry shortly, or raise concurrency with `fazt limits set concurrency N`".into()
        }
        NetError::RateLimited { host, retry_after } => format!(
            "wait {} ms (retryAfter), or raise the entry's rate with `fazt net allow {host} --rate N{app}`",
            retry_after.as_millis()
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_refusal_an_operator_can_lift_says_how() {
        let cases = [
            (
                NetError::NotAllowlisted {
                    host: "api.test".into(),
                    app: Some("shop".into()),
                },
                "add it with `fazt net allow api.test --app shop`",
            ),
            (
                NetError::CallLimit { max: 5 },
                "max_calls: raise it with `fazt limits set max_calls 10` (at most 20)",
            ),
            (
                NetError::CallLimit { max: 20 },
                "max_calls: max_calls is at its most (20)",
            ),
            (
                NetError::SecretMissing { name: "KEY".into() },
                "store it with `fazt secret set KEY --domain HOST --app shop`",
            ),
            (
                NetError::RateLimited {
                    host: "api.test".into(),
                    retry_after: Duration::from_millis(1500),
                },
                "wait 1500 ms (retryAfter), or raise the entry's rate with `fazt net allow api.test --rate N --app shop`",
            ),
        ];
        for (e, fix) in cases {
            assert_eq!(remedy(&e, Some("shop")).as_deref(), Some(fix), "{e}");
        }
        let none = NetError::InvalidMethod {
            method: "GE T".into(),
        };
        assert_eq!(remedy(&none, None), None);
        let local = NetError::NotAllowlisted {
            host: "localhost".into(),
            app: None,
        };
        assert_eq!(
            remedy(&local, None),
            None,
            "never suggest allowing localhost"
        );
    }
}
