//! Explaining a decision: the ordered steps the policy took and the rule
//! that refused, for `fazt net check` and for operators' logs.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::NetError;

/// Receives each step of a decision. The fast path uses a no-op observer
/// that compiles away; [`Explanation`] records them.
pub(crate) trait Trace {
    fn step(&mut self, step: &'static str, ok: bool, detail: impl FnOnce() -> String);
}

/// The observer that records nothing.
pub(crate) struct NoTrace;

impl Trace for NoTrace {
    #[inline(always)]
    fn step(&mut self, _: &'static str, _: bool, _: impl FnOnce() -> String) {}
}

impl Trace for Vec<Step> {
    fn step(&mut self, step: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        self.push(Step {
            step,
            ok,
            detail: detail(),
        });
    }
}

/// One step of a decision.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// What was checked: `scheme`, `parse`, `userinfo`, `ip-literal`, `host`,
    /// `allowlist`, `port`, `http`, `dns`.
    pub step: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// A whole decision, step by step.
///
/// Serializes as `{"url", "allowed", "code", "message", "host", "steps"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The URL as given.
    pub url: String,
    /// The canonical host, once known.
    pub host: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The refusal, if any.
    pub error: Option<NetError>,
}

impl Explanation {
    /// Whether the request would be allowed.
    pub fn allowed(&self) -> bool {
        self.error.is_none()
    }
}

impl Serialize for Explanation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Explanation", 6)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("allowed", &self.allowed())?;
        st.serialize_field("code", &self.error.as_ref().map(|e| e.code().as_str()))?;
        let message = match &self.error {
            Some(e) => e.to_string(),
            None => "allowed".to_string(),
        };
        st.serialize_field("message", &message)?;
        st.serialize_field("host", &self.host)?;
        st.serialize_field("steps", &self.steps)?;
        st.end()
    }
}
