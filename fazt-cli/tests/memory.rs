//! Host memory of `fazt run` under a script that tries to grow it outside
//! the JS heap. Linux only: the peak is read from `/proc`.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::Duration;

/// 40 console lines of 8 MiB: before the console had a byte budget, the
/// host kept all 320 MiB (712 MiB peak). Now it keeps 64 KiB, and the
/// process peaks at the heap limit plus a fixed margin.
#[test]
fn a_console_bomb_keeps_peak_rss_under_200_mib() {
    let dir = std::env::temp_dir().join(format!("fazt-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("bomb.js");
    std::fs::write(
        &script,
        r#"const line = "x".repeat(8 << 20);
for (let i = 0; i < 40; i++) console.log(line);
"done""#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .arg("--db")
        .arg(dir.join("fazt.db"))
        .arg("run")
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // VmHWM is a process's peak resident set so far: any reading after the
    // peak shows it. The script runs in a worker process (fazt run is
    // isolated), so the worker is read too: the largest peak of either.
    let pid = child.id();
    let peak = |pid: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    let mut peak_kib = 0u64;
    let mut saw_worker = false;
    let exit = loop {
        peak_kib = peak_kib.max(peak(&pid.to_string()).unwrap_or(0));
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for worker in children.split_whitespace() {
            if let Some(kib) = peak(worker) {
                saw_worker = true;
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(saw_worker, "the script ran in a worker process");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(exit.success(), "{exit}");
    assert!(peak_kib > 0, "no reading of the peak");
    assert!(peak_kib < 200 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

/// The process holds secret values in memory: it turns core dumps off for
/// itself (read from /proc while a script keeps it busy).
#[test]
fn fazt_runs_without_core_dumps() {
    let dir = std::env::temp_dir().join(format!("fazt-core-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("busy.js");
    std::fs::write(&script, "while (true) {}").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .arg("--db")
        .arg(dir.join("fazt.db"))
        .arg("run")
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let mut core_line = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        let text = std::fs::read_to_string(&limits).unwrap_or_default();
        // The limit is set first thing; wait until the script runs.
        if std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("Threads:") && !l.ends_with("\t1"))
        {
            core_line = text
                .lines()
                .find(|l| l.starts_with("Max core file size"))
                .map(str::to_string);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let line = core_line.expect("the process was seen running");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
}

/// The worker that runs a script is locked down before the script starts:
/// a seccomp filter, no new privileges, and resource limits (read from
/// /proc while the script keeps it busy).
#[test]
fn the_worker_runs_under_a_seccomp_filter_and_resource_limits() {
    let dir = std::env::temp_dir().join(format!("fazt-lockdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("busy.js");
    std::fs::write(&script, "while (true) {}").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fazt"))
        .env_clear()
        .arg("--db")
        .arg(dir.join("fazt.db"))
        .arg("run")
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut seen = None;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let Some(worker) = children.split_whitespace().next() else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{worker}/status")).unwrap_or_default();
        let limits = std::fs::read_to_string(format!("/proc/{worker}/limits")).unwrap_or_default();
        // Locked down once the script thread runs.
        if status
            .lines()
            .any(|l| l.starts_with("Threads:") && !l.ends_with("\t1"))
        {
            let environ = std::fs::read(format!("/proc/{worker}/environ")).unwrap_or_default();
            let fds: Vec<String> = std::fs::read_dir(format!("/proc/{worker}/fd"))
                .map(|d| {
                    d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                        .map(|p| p.display().to_string())
                        .collect()
                })
                .unwrap_or_default();
            seen = Some((status, limits, environ, fds));
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
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
    let field = |text: &str, name: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(name))
            .map(|l| {
                l[name.len()..]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
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
