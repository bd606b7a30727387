//! The `fazt` command (being built): allowlist and secret management,
//! decision explanations, fetch, script runs, logs and an offline demo.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("fazt: commands are not available yet; see README.md");
    ExitCode::from(2)
}
