//! The startup snapshot script runtimes are restored from.
//!
//! Creating a runtime from scratch runs deno_core's own JS, the engine's
//! context setup and our preludes: most of a run's cost. A startup snapshot
//! of a runtime with our extensions, taken once, lets every later runtime
//! be restored instead. Each run still gets a runtime of its own; only the
//! starting state is shared, and it holds nothing of any script (it is
//! taken before any script runs, and sealed after restoring: see
//! [`sandbox::seal`](crate::sandbox::seal)).
//!
//! The snapshot is built in this process, kept in memory for its lifetime,
//! and never written anywhere: a worker process gets it from its parent
//! over the pipe. An executable can also carry one made at build time
//! ([`make_startup_snapshot`] in its build script, [`use_startup_snapshot`]
//! in `main`): the `fazt` command does, so its one run restores too. Building it takes a few hundred milliseconds, more than a
//! runtime created from scratch, so a process that runs one script (the
//! CLI) never builds it: the build starts in the background when a second
//! runtime is asked for ([`note_runtime_wanted`]), or when a host asks for
//! it up front ([`build_startup_snapshot`]). Until it is ready, runtimes are
//! created from scratch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use deno_core::{JsRuntimeForSnapshot, RuntimeOptions};

use crate::sandbox::Seal;

/// The snapshot: `None` while it is being built or if building it failed.
static SNAPSHOT: OnceLock<Option<&'static [u8]>> = OnceLock::new();

/// Runtimes asked for so far in this process.
static WANTED: AtomicUsize = AtomicUsize::new(0);

/// The extensions of every script runtime, in order: the snapshot is taken
/// with them and restored with them.
pub(crate) fn extensions() -> Vec<deno_core::Extension> {
    vec![
        crate::fazt_net::init(),
        crate::fazt_sandbox::init(Seal::ByHost),
    ]
}

/// The snapshot if it is built; never waits.
pub(crate) fn ready() -> Option<&'static [u8]> {
    SNAPSHOT.get().copied().flatten()
}

/// Counts a runtime asked for, and starts building the snapshot in the
/// background at the second one.
pub(crate) fn note_runtime_wanted() {
    if WANTED.fetch_add(1, Ordering::Relaxed) == 1 {
        let _ = std::thread::Builder::new()
            .name("fazt-snapshot".into())
            .spawn(|| SNAPSHOT.get_or_init(build));
    }
}

/// Builds the startup snapshot now, if it is not built yet, and waits for
/// it (a few hundred milliseconds, once per process). Returns whether script
/// runtimes are restored from it (`false` if it could not be built; they
/// are then created from scratch).
///
/// Without this call, a process builds the snapshot in the background when
/// it asks for its second runtime; a host that wants its first runs fast
/// calls this at startup.
pub fn build_startup_snapshot() -> bool {
    crate::prepare_engine();
    SNAPSHOT.get_or_init(build).is_some()
}

/// Takes the snapshot for this process; it lives as long as the process.
fn build() -> Option<&'static [u8]> {
    make_startup_snapshot().map(|taken| &*Box::leak(taken))
}

/// Takes a startup snapshot of the script runtime now, on a thread of its
/// own, and returns it (`None` if the engine could not make one). A build
/// script can compile it into an executable, which then hands it to
/// [`use_startup_snapshot`]: the snapshot must come from the same version
/// of this crate, built with the same features, as the executable.
pub fn make_startup_snapshot() -> Option<Box<[u8]>> {
    crate::prepare_engine();
    std::thread::Builder::new()
        .name("fazt-snapshot".into())
        .stack_size(crate::runner::RUN_STACK_SIZE)
        .spawn(|| {
            let runtime = JsRuntimeForSnapshot::try_new(RuntimeOptions {
                extensions: extensions(),
                ..Default::default()
            })
            .ok()?;
            Some(runtime.snapshot())
        })
        .ok()?
        .join()
        .ok()?
}

/// Restores this process's script runtimes from `snapshot`, one that
/// [`make_startup_snapshot`] made from this same build (compiled into the
/// executable: never read it from a writable place, the engine trusts its
/// bytecode). Returns `false`, and changes nothing, when the process already
/// has a snapshot. Call it at the top of `main`, after
/// [`prepare_engine`](crate::prepare_engine).
pub fn use_startup_snapshot(snapshot: &'static [u8]) -> bool {
    SNAPSHOT.set(Some(snapshot)).is_ok()
}

/// Keeps a snapshot received from the parent process for this process's
/// lifetime (a worker's one runtime is restored from it).
pub(crate) fn adopt(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}
