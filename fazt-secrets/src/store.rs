//! Opening the database: file mode, pragmas, migrations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::StoreError;

/// Schema migrations, append-only: migration `i` takes `user_version` from
/// `i` to `i + 1`. Never edit a published entry; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: secrets, allowlist rules, request log.
    "CREATE TABLE secrets (
        app TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        inject_as TEXT NOT NULL CHECK (inject_as IN ('bearer', 'header', 'query')),
        inject_key TEXT NOT NULL DEFAULT '',
        domain TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (app, name)
    ) WITHOUT ROWID;
    CREATE TABLE allow_rules (
        app TEXT NOT NULL DEFAULT '',
        pattern TEXT NOT NULL,
        port INTEGER NOT NULL DEFAULT 0,
        allow_http INTEGER NOT NULL DEFAULT 0,
        rate_limit INTEGER NOT NULL DEFAULT 0,
        rate_burst INTEGER NOT NULL DEFAULT 0,
        max_response INTEGER NOT NULL DEFAULT 0,
        timeout_ms INTEGER NOT NULL DEFAULT 0,
        cache_ttl_s INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (app, pattern, port)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('allowlist_version', 0);
    CREATE TRIGGER allow_rules_insert AFTER INSERT ON allow_rules BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'allowlist_version';
    END;
    CREATE TRIGGER allow_rules_update AFTER UPDATE ON allow_rules BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'allowlist_version';
    END;
    CREATE TRIGGER allow_rules_delete AFTER DELETE ON allow_rules BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'allowlist_version';
    END;
    CREATE TABLE request_log (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        app TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        bytes_in INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL,
        cache_hit INTEGER NOT NULL
    );
    CREATE INDEX request_log_host ON request_log (host, id);
    CREATE INDEX request_log_app ON request_log (app, id);",
    // 2: limits set by the operator (what is not here is the default), with
    // a change counter like the allowlist's.
    "CREATE TABLE limits (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('limits_version', 0);
    CREATE TRIGGER limits_insert AFTER INSERT ON limits BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'limits_version';
    END;
    CREATE TRIGGER limits_update AFTER UPDATE ON limits BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'limits_version';
    END;
    CREATE TRIGGER limits_delete AFTER DELETE ON limits BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'limits_version';
    END;",
];

/// The database: one connection for reads and edits, shared by clones.
///
/// Open it with [`Store::open`] (a file, mode 0600) or
/// [`Store::in_memory`] (tests).
#[derive(Clone)]
pub struct Store {
    pub(crate) conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
    tightened_from: Option<u32>,
    /// The allowlist version [`Store::allowlist_if_changed`] last returned.
    pub(crate) seen_allowlist_version: Arc<Mutex<Option<i64>>>,
    /// The limits version [`Store::limits_if_changed`] last returned.
    pub(crate) seen_limits_version: Arc<Mutex<Option<i64>>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// A new file is created with mode 0600; an existing file readable or
    /// writable by group or others is tightened to 0600, and
    /// [`Store::tightened_from`] reports the old mode. WAL journaling, a
    /// 5-second busy timeout and foreign keys are switched on, and pending
    /// migrations are applied in one transaction.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tightened_from = prepare_file(path)?;
        let conn = Connection::open(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            // The WAL and shared-memory files hold the same data.
            prepare_existing(Path::new(&side))?;
        }
        Self::init(conn, Some(path.to_path_buf()), tightened_from)
    }

    /// A private in-memory database.
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, None, None)
    }

    fn init(
        conn: Connection,
        path: Option<PathBuf>,
        tightened_from: Option<u32>,
    ) -> Result<Store, StoreError> {
        configure(&conn)?;
        migrate(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path,
            tightened_from,
            seen_allowlist_version: Arc::new(Mutex::new(None)),
            seen_limits_version: Arc::new(Mutex::new(None)),
        })
    }

    /// `load()` if the change counter `key` in `meta` moved since `seen`
    /// last recorded it (always on the first call): one primary-key read
    /// when nothing changed.
    pub(crate) fn if_changed<T>(
        &self,
        key: &str,
        seen: &Mutex<Option<i64>>,
        load: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let version: i64 =
            self.conn
                .lock()
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?;
        let mut seen = seen.lock();
        if *seen == Some(version) {
            return Ok(None);
        }
        let value = load()?;
        *seen = Some(version);
        Ok(Some(value))
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The mode an existing file had before it was tightened to 0600.
    pub fn tightened_from(&self) -> Option<u32> {
        self.tightened_from
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// A second connection to the same file (for the log writer), or the
    /// shared one for an in-memory store.
    pub(crate) fn writer_connection(&self) -> Result<Arc<Mutex<Connection>>, StoreError> {
        match &self.path {
            Some(p) => {
                let conn = Connection::open(p)?;
                configure(&conn)?;
                Ok(Arc::new(Mutex::new(conn)))
            }
            None => Ok(Arc::clone(&self.conn)),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Freed space is overwritten with zeros: a deleted secret's value does
    // not linger in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}

/// Writes the WAL back into the database and truncates it: after a secret
/// changes, its old value must not linger in the WAL's page images.
pub(crate) fn erase_history(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if found == known {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let applied = (|| -> Result<(), StoreError> {
        // Another process may have migrated while we waited for the lock.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        Ok(())
    })();
    match applied {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Creates the file with mode 0600, or tightens an existing one; returns
/// the old mode when it was changed.
#[cfg(unix)]
fn prepare_file(path: &Path) -> Result<Option<u32>, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        return Ok(None);
    }
    prepare_existing(path)
}

#[cfg(unix)]
fn prepare_existing(path: &Path) -> Result<Option<u32>, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(Some(mode))
}

#[cfg(not(unix))]
fn prepare_file(_: &Path) -> Result<Option<u32>, StoreError> {
    Ok(None)
}

#[cfg(not(unix))]
fn prepare_existing(_: &Path) -> Result<Option<u32>, StoreError> {
    Ok(None)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            i64::try_from(fazt_policy::millis(d)).unwrap_or(i64::MAX)
        })
}
