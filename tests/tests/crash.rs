//! A writer killed with SIGKILL mid-stream leaves a database that opens,
//! passes `PRAGMA integrity_check`, and holds every row flushed before the
//! kill.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fazt_secrets::{LogQuery, Store};

#[test]
fn sigkilled_writer_leaves_a_sound_database() {
    let dir = std::env::temp_dir().join(format!("fazt-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("fazt.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_log_writer"))
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut flushed = 0u64;
    while flushed < 20_000 {
        let line = lines.next().expect("child stopped early").unwrap();
        flushed = line.strip_prefix("flushed ").unwrap().parse().unwrap();
    }
    // Kill while it keeps writing (SIGKILL on unix: no destructor runs).
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows: u64 = conn
        .query_row("SELECT count(*) FROM request_log", [], |r| r.get(0))
        .unwrap();
    assert!(rows >= flushed, "{rows} rows, {flushed} reported flushed");
    drop(conn);
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store
            .recent_logs(&LogQuery {
                limit: 1,
                since_ms: None,
                after_id: None,
                ..LogQuery::default()
            })
            .unwrap()
            .len(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}
