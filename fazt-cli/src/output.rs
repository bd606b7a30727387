//! Failures and their exit codes; writing to stdout where a closed pipe is
//! not an error.

use std::io::Write;
use std::process::ExitCode;

use fazt_policy::NetError;

/// Why a command failed, which decides the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A usage mistake: exit 2, one line naming the bad value.
    Usage(String),
    /// A request was refused or failed: exit 1, the code and message, and
    /// what fixes it (for the app, when one was given).
    Net(NetError, Option<String>),
    /// Anything else: exit 1.
    Other(anyhow::Error),
    /// stdout was closed (e.g. piped into `head`): exit 0 quietly.
    BrokenPipe,
    /// Already reported: exit 1.
    Reported,
}

impl Failure {
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Failure::Usage(m) => {
                eprintln!("fazt: {m}");
                ExitCode::from(2)
            }
            Failure::Net(e, app) => {
                eprintln!("{e}");
                if let Some(fix) = crate::remedy::remedy(&e, app.as_deref()) {
                    eprintln!("fix: {fix}");
                }
                ExitCode::from(1)
            }
            Failure::Other(e) => {
                eprintln!("fazt: {e:#}");
                ExitCode::from(1)
            }
            Failure::BrokenPipe => ExitCode::SUCCESS,
            Failure::Reported => ExitCode::from(1),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Other(e.into())
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<NetError> for Failure {
    fn from(e: NetError) -> Self {
        Failure::Net(e, None)
    }
}

impl From<fazt_secrets::StoreError> for Failure {
    fn from(e: fazt_secrets::StoreError) -> Self {
        match e {
            fazt_secrets::StoreError::Sqlite(_) | fazt_secrets::StoreError::Io(_) => {
                Failure::Other(e.into())
            }
            other => Failure::Usage(other.to_string()),
        }
    }
}

/// A usage failure from anything displayable.
pub(crate) fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

/// Writes `text` to stdout.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes bytes to stdout.
pub(crate) fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Writes pretty JSON and a newline to stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Other(e.into()))?;
    print(&format!("{text}\n"))
}

/// `text` as a table cell: control characters (a newline, an escape
/// sequence) are shown escaped, so a stored value cannot forge lines or
/// drive the terminal.
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(shown("GET\n\u{1b}[2Kx"), "GET\\n\\u{1b}[2Kx");
        assert_eq!(shown("api.test/é"), "api.test/é");
    }
}
