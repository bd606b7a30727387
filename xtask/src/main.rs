//! `cargo xtask`: the workspace's automation, in Rust so it runs wherever
//! cargo does.
//!
//! - `cargo xtask ci`: the whole check CI runs (format, lints, tests, docs).
//! - `cargo xtask bench [ARGS]`: the criterion benchmarks.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <ci | bench [cargo bench args]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every step CI runs, in order; the first failure stops the run. Every
/// build is `--locked`: CI builds exactly the committed Cargo.lock.
fn ci() -> Result<()> {
    check_native_prerequisites()?;
    run("cargo", &["fmt", "--all", "--check"], &[])?;
    run(
        "cargo",
        &[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    let (passed, failed) = run_tests(&["test", "--locked", "--workspace"])?;
    // The V8 backend cannot be built offline (its build script downloads
    // V8); DOCS_RS=1 makes it skip that, so the code still type-checks.
    run(
        "cargo",
        &[
            "check",
            "--locked",
            "-p",
            "fazt-js",
            "--no-default-features",
            "--features",
            "v8",
        ],
        &[("DOCS_RS", "1")],
    )?;
    run(
        "cargo",
        &["doc", "--locked", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-Dwarnings")],
    )?;
    // One closing line for the whole run, whatever order cargo printed in.
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs `cargo test`, echoing its output, and adds up every `test result`
/// line.
fn run_tests(args: &[&str]) -> Result<(u64, u64)> {
    eprintln!("xtask: $ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start cargo")?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "`cargo {}` failed with {status} ({failed} failed)",
            args.join(" ")
        );
    }
    Ok((passed, failed))
}

/// The number before `label` in `ok. 8 passed; 0 failed; ...`.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label.trim_start())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// fazt-js's default QuickJS backend builds C code with CMake and needs the
/// SIMDe headers; say so plainly instead of failing deep in a build script.
fn check_native_prerequisites() -> Result<()> {
    let cmake = Command::new("cmake")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let simde = std::path::Path::new("/usr/include/simde").is_dir();
    if !(cmake && simde) {
        let missing: Vec<&str> = [
            (!cmake).then_some("cmake"),
            (!simde).then_some("libsimde-dev"),
        ]
        .into_iter()
        .flatten()
        .collect();
        bail!(
            "fazt-js's QuickJS backend needs {}; on Debian: apt-get install {}",
            missing.join(" and "),
            missing.join(" ")
        );
    }
    Ok(())
}

fn bench(extra: &[String]) -> Result<()> {
    // Only the criterion targets: libtest harnesses reject criterion's
    // options (`--warm-up-time`). The whole workspace unless a package is
    // named; cargo ignores `-p` next to `--workspace`.
    let mut args = vec!["bench", "--bench", "*"];
    let mut cargo_args = extra.iter().take_while(|a| *a != "--");
    if !cargo_args.any(|a| a.starts_with("-p") || a.starts_with("--package")) {
        args.push("--workspace");
    }
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args, &[])
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}
