//! `fazt run` seen from outside, through `/proc` (Linux only): its memory
//! under a script that tries to grow it outside the JS heap, what the
//! process and its worker are allowed, and what a worker's crash costs.
#![cfg(target_os = "linux")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `fazt run SCRIPT` started in a directory of its own (removed, and the
/// process killed, when dropped).
struct FaztRun {
    child: Child,
    dir: PathBuf,
}

impl FaztRun {
    fn start(name: &str, script: &str) -> FaztRun {
        let dir = std::env::temp_dir().join(format!("fazt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("script.js");
        std::fs::write(&path, script).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fazt"))
            .env_clear()
            .arg("--db")
            .arg(dir.join("fazt.db"))
            .arg("run")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        FaztRun { child, dir }
    }

    /// Waits for the command to end: its exit code and standard error.
    fn finish(&mut self) -> (Option<i32>, String) {
        use std::io::Read;
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (self.child.wait().unwrap().code(), err)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// The worker process running the script, once there is one.
    fn worker(&self) -> Option<String> {
        let pid = self.pid();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()?
            .split_whitespace()
            .next()
            .map(str::to_string)
    }
}

impl Drop for FaztRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn proc_file(pid: &str, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap_or_default()
}

/// Whether process `pid` has started a second thread (its script runs).
fn running_a_script(pid: &str) -> bool {
    proc_file(pid, "status")
        .lines()
        .any(|l| l.starts_with("Threads:") && !l.ends_with("\t1"))
}

/// The values of the first line of `text` that starts with `name`.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(name))
        .map(|l| {
            l[name.len()..]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// 40 console lines of 8 MiB: before the console had a byte budget, the
/// host kept all 320 MiB (712 MiB peak). Now it keeps 64 KiB, and the
/// process peaks at the heap limit plus a fixed margin.
#[test]
fn a_console_bomb_keeps_peak_rss_under_200_mib() {
    let mut run = FaztRun::start(
        "memory",
        r#"const line = "x".repeat(8 << 20);
for (let i = 0; i < 40; i++) console.log(line);
"done""#,
    );
    // VmHWM is a process's peak resident set so far: any reading after the
    // peak shows it. The script runs in a worker process (fazt run is
    // isolated), so the worker is read too: the largest peak of either.
    let peak = |pid: &str| -> Option<u64> {
        field(&proc_file(pid, "status"), "VmHWM:")
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    let mut peak_kib = 0u64;
    let mut saw_worker = false;
    let exit = loop {
        peak_kib = peak_kib.max(peak(&run.pid()).unwrap_or(0));
        if let Some(kib) = run.worker().and_then(|w| peak(&w)) {
            saw_worker = true;
            peak_kib = peak_kib.max(kib);
        }
        if let Some(exit) = run.child.try_wait().unwrap() {
            break exit;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(saw_worker, "the script ran in a worker process");
    assert!(exit.success(), "{exit}");
    assert!(peak_kib > 0, "no reading of the peak");
    assert!(peak_kib < 200 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

/// The process holds secret values in memory: it turns core dumps off for
/// itself (read from /proc while a script keeps it busy).
#[test]
fn fazt_runs_without_core_dumps() {
    let run = FaztRun::start("core", "while (true) {}");
    let mut core_line = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        // The limit is set first thing; wait until the script runs.
        if running_a_script(&run.pid()) {
            core_line = proc_file(&run.pid(), "limits")
                .lines()
                .find(|l| l.starts_with("Max core file size"))
                .map(str::to_string);
            break;
        }
    }
    let line = core_line.expect("the process was seen running");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
}

/// The worker that runs a script is locked down before the script starts:
/// a seccomp filter, no new privileges, and resource limits (read from
/// /proc while the script keeps it busy).
#[test]
fn the_worker_runs_under_a_seccomp_filter_and_resource_limits() {
    let run = FaztRun::start("lockdown", "while (true) {}");
    let mut seen = None;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        let Some(worker) = run.worker() else {
            continue;
        };
        // Locked down once the script thread runs.
        if running_a_script(&worker) {
            let environ = std::fs::read(format!("/proc/{worker}/environ")).unwrap_or_default();
            let fds: Vec<String> = std::fs::read_dir(format!("/proc/{worker}/fd"))
                .map(|d| {
                    d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                        .map(|p| p.display().to_string())
                        .collect()
                })
                .unwrap_or_default();
            seen = Some((
                proc_file(&worker, "status"),
                proc_file(&worker, "limits"),
                environ,
                fds,
            ));
            break;
        }
    }
    let (status, limits, environ, fds) = seen.expect("the worker was seen running");
    // Nothing inherited: no environment, no descriptor on the database or
    // its directory (the parent holds both open).
    assert!(environ.is_empty(), "{}", String::from_utf8_lossy(&environ));
    assert!(!fds.is_empty());
    assert!(
        fds.iter()
            .all(|f| !f.contains("fazt.db") && !f.contains("fazt-lockdown-")),
        "{fds:?}"
    );
    assert_eq!(field(&status, "Seccomp:"), "2", "{status}");
    assert_eq!(field(&status, "NoNewPrivs:"), "1");
    assert!(
        field(&limits, "Max core file size").starts_with("0 0"),
        "{limits}"
    );
    assert!(
        field(&limits, "Max cpu time").starts_with("10 10"),
        "{limits}"
    );
    assert!(
        field(&limits, "Max address space").starts_with("8589934592 8589934592"),
        "{limits}"
    );
}

/// A crash in the engine's C code costs the run, not the command: the worker
/// running the script is aborted from outside (SIGABRT, as an engine abort
/// ends it), and `fazt run` answers with exit 1 and says what happened.
#[test]
fn an_engine_abort_costs_the_run_not_the_command() {
    let mut run = FaztRun::start("abort", "while (true) {}");
    let mut aborted = false;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        let Some(worker) = run.worker() else {
            continue;
        };
        if running_a_script(&worker) {
            let status = Command::new("kill")
                .args(["-ABRT", &worker])
                .status()
                .unwrap();
            aborted = status.success();
            break;
        }
    }
    assert!(aborted, "the worker was seen running and aborted");
    let (code, err) = run.finish();
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err.trim_end(),
        "the script engine failed: the worker process ended without an answer \
         (signal: 6 (SIGABRT))"
    );
}
