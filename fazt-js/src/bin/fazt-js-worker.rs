//! The isolated-run worker on its own: what `fazt_js::worker::run_if_worker`
//! does at the top of a host's `main`, for hosts that point
//! `ScriptRunner::isolated` at this executable instead of their own.

fn main() -> std::process::ExitCode {
    fazt_js::worker::run_if_worker();
    eprintln!(
        "fazt-js-worker runs scripts for a host; it is started with {}",
        fazt_js::worker::WORKER_ARG
    );
    std::process::ExitCode::from(2)
}
