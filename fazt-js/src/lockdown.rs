//! What a worker process locks itself down with before it runs a script
//! (Linux): resource limits, and a seccomp filter that refuses what a
//! script's engine never needs.
//!
//! Refused, with `EPERM`, by the filter:
//! - every network call: `socket`, `connect`, `bind`, `listen`, `accept`,
//!   `accept4` (the parent makes the calls). `socketpair` stays: it makes a
//!   connected pair inside the process and nothing else (the async runtime
//!   uses one for signals), and reaches no one;
//! - starting programs and inspecting processes: `execve`, `execveat`,
//!   `ptrace`, `process_vm_readv`, `process_vm_writev`, and `kill` (a
//!   worker has no process to signal; `tgkill`, which an abort uses on its
//!   own thread, stays);
//! - writing files: `open`/`openat`/`openat2`/`creat` for writing or
//!   creating, `truncate`, `ftruncate`, `unlink`, `unlinkat`, `rename`,
//!   `renameat`, `renameat2`, `mkdir`, `mkdirat`, `rmdir`, `link`,
//!   `linkat`, `symlink`, `symlinkat`, `chmod`, `fchmod`, `fchmodat`,
//!   `chown`, `fchown`, `lchown`, `fchownat`.
//!
//! Everything else the engine and the runtime use (memory, threads,
//! futexes, reading its own pipe and executable's files) is allowed: the
//! filter is a list of refusals, so an engine or libc update that needs a
//! new ordinary call keeps working. `PR_SET_NO_NEW_PRIVS` is set first.
//!
//! Resource limits: no core files, CPU seconds at the run's limit plus a
//! margin (the parent kills the worker before then; this is a backstop),
//! and an address space of [`ADDRESS_SPACE`].

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// The address space a worker may map: far above its heap limit (thread
/// stacks and the engine's reservations count too), a backstop against a
/// runaway native allocation.
pub(crate) const ADDRESS_SPACE: u64 = 8 * 1024 * 1024 * 1024;

/// Applies the resource limits and the filter to the calling thread and
/// every thread it starts after; the process's other threads are not
/// affected (a worker calls it before it starts any).
pub(crate) fn lock_down(cpu_seconds: u64) -> Result<(), String> {
    limit_resources(cpu_seconds)?;
    let program = filter()?;
    seccompiler::apply_filter(&program).map_err(|e| format!("seccomp filter: {e}"))
}

fn limit_resources(cpu_seconds: u64) -> Result<(), String> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    for (resource, value) in [
        (Resource::Core, 0),
        (Resource::Cpu, cpu_seconds),
        (Resource::As, ADDRESS_SPACE),
    ] {
        setrlimit(
            resource,
            Rlimit {
                current: Some(value),
                maximum: Some(value),
            },
        )
        .map_err(|e| format!("setrlimit {resource:?}: {e}"))?;
    }
    Ok(())
}

/// The filter: refused calls return `EPERM`, everything else is allowed.
pub(crate) fn filter() -> Result<BpfProgram, String> {
    let always: &[i64] = &[
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kill,
        libc::SYS_truncate,
        libc::SYS_ftruncate,
        libc::SYS_unlinkat,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_mkdirat,
        libc::SYS_linkat,
        libc::SYS_symlinkat,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_fchown,
        libc::SYS_fchownat,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_creat,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_unlink,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_rename,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_mkdir,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_rmdir,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_link,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_symlink,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_chmod,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_chown,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_lchown,
    ];
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        always.iter().map(|&call| (call, Vec::new())).collect();
    // Opening for writing or creating: the flags argument with any of these
    // bits set.
    let writing = |flags_arg: u8| -> Result<Vec<SeccompRule>, String> {
        [libc::O_WRONLY, libc::O_RDWR, libc::O_CREAT, libc::O_TRUNC]
            .iter()
            .map(|&bit| {
                let bit = bit as u64;
                SeccompCondition::new(
                    flags_arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(bit),
                    bit,
                )
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(|e| e.to_string())
            })
            .collect()
    };
    rules.insert(libc::SYS_openat, writing(2)?);
    #[cfg(target_arch = "x86_64")]
    rules.insert(libc::SYS_open, writing(1)?);
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    /// The filter on one thread (a filter applies to the thread that
    /// installs it and the threads it starts): what it refuses fails with
    /// EPERM, ordinary work goes on.
    #[test]
    fn the_filter_refuses_network_exec_and_file_writes() {
        let dir = std::env::temp_dir().join(format!("fazt-lockdown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("readable"), "ok").unwrap();
        let d = dir.clone();
        let results = std::thread::spawn(move || {
            let program = super::filter().unwrap();
            seccompiler::apply_filter(&program).unwrap();
            let denied =
                |r: std::io::Result<()>| r.map_err(|e| e.kind() == ErrorKind::PermissionDenied);
            [
                denied(std::net::TcpStream::connect("127.0.0.1:9").map(drop)),
                denied(std::net::UdpSocket::bind("127.0.0.1:0").map(drop)),
                denied(std::fs::File::create(d.join("new")).map(drop)),
                denied(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(d.join("readable"))
                        .map(drop),
                ),
                denied(std::fs::remove_file(d.join("readable"))),
                denied(std::process::Command::new("/bin/true").status().map(drop)),
                // Allowed: reading, memory, threads.
                denied(std::fs::read(d.join("readable")).map(drop)),
                denied(
                    std::thread::spawn(|| vec![0u8; 1 << 20].len())
                        .join()
                        .map(drop)
                        .map_err(|_| std::io::Error::other("thread")),
                ),
            ]
        })
        .join()
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            results,
            [
                Err(true),
                Err(true),
                Err(true),
                Err(true),
                Err(true),
                Err(true),
                Ok(()),
                Ok(())
            ],
        );
    }
}
