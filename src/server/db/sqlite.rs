//! The SQLite `Storage` (`DATA/cubeblob.db`), the embedded default. One connection
//! behind a mutex, used from blocking threads for short statements, so each method
//! is atomic with respect to the others; WAL and a busy timeout keep a second process
//! on the same folder from failing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{
    BlobRow, FileStep, Landed, NewBlob, NewSession, Renewal, SeedBlob, SessionRow, Storage, UserRow,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    user_id INTEGER,               -- NULL for an application session
    application_id INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids of deleted blobs never come back
    uid TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    public INTEGER NOT NULL,
    size INTEGER,                  -- set by complete, from the stored object
    object_size INTEGER,           -- set when an upload lands
    object_md5 TEXT,
    completed_at INTEGER,
    form_expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blobs_by_owner ON blobs (owner_id, id);
";

/// Columns added since the first schema, so that a data folder made by an older
/// version gets them on open: (table, column, type).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("users", "full_name", "TEXT"),
    // Set for guest users (Unix seconds): their sessions end then.
    ("users", "guest_expires_at", "INTEGER"),
    // The Content-Type the object was stored with, which downloads keep (as S3 does)
    // when the record's is edited later.
    ("blobs", "object_content_type", "TEXT"),
];

/// How many blobs each owner has, kept by triggers, so that a page of a listing reads
/// its total instead of counting the owner's index range again: at 100,000 blobs a
/// `COUNT(*)` costs about 7 ms, paid on each of 1,000 pages.
const BLOB_COUNTS: &str = "
CREATE TABLE blob_counts (owner_id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
CREATE TRIGGER blob_counts_insert AFTER INSERT ON blobs BEGIN
    INSERT INTO blob_counts (owner_id, n) VALUES (NEW.owner_id, 1)
    ON CONFLICT (owner_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER blob_counts_delete AFTER DELETE ON blobs BEGIN
    UPDATE blob_counts SET n = n - 1 WHERE owner_id = OLD.owner_id;
END;
INSERT INTO blob_counts (owner_id, n) SELECT owner_id, COUNT(*) FROM blobs GROUP BY owner_id;
";

/// Adds the counts (and counts the blobs already there) to a database without them,
/// in one transaction, so a crash leaves either no counts or right ones.
fn add_blob_counts(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let exists = tx
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blob_counts'")?
        .exists([])?;
    if !exists {
        tx.execute_batch(BLOB_COUNTS)?;
    }
    tx.commit()?;
    Ok(())
}

fn add_missing_columns(conn: &Connection) -> Result<()> {
    for (table, column, kind) in ADDED_COLUMNS {
        let exists = conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        if !exists {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// The database handle shared by all requests.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteDb {
    pub fn open(path: &Path) -> Result<SqliteDb> {
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the database `{}`", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)
            .map_err(anyhow::Error::from)
            .and_then(|()| add_missing_columns(&conn))
            .and_then(|()| add_blob_counts(&mut conn))
            .with_context(|| format!("cannot set up the database `{}`", path.display()))?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    async fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere while holding the lock leaves SQLite consistent
            // (statements are atomic), so a poisoned lock is still usable.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .context("a database task failed")?
    }
}

fn user_from(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: row.get("id")?,
        login: row.get("login")?,
        password_hash: row.get("password_hash")?,
        full_name: row.get("full_name")?,
        guest_expires_at: row.get("guest_expires_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn user_by_login(conn: &Connection, login: &str) -> Result<Option<UserRow>> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE login = ?1", [login], user_from)
        .optional()?)
}

fn user_by_id(conn: &Connection, id: i64) -> Result<Option<UserRow>> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE id = ?1", [id], user_from)
        .optional()?)
}

/// Creates the user, or gives an existing one a new password hash.
fn upsert_user(conn: &Connection, login: &str, password_hash: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO users (login, password_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (login) DO UPDATE SET password_hash = ?2, updated_at = ?3",
        params![login, password_hash, now],
    )?;
    Ok(())
}

/// Makes a guest user, who has no password and whose sessions end at `expires_at`.
fn insert_guest(
    conn: &Connection,
    login: &str,
    full_name: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<UserRow> {
    conn.execute(
        "INSERT INTO users (login, password_hash, full_name, guest_expires_at, created_at, updated_at)
         VALUES (?1, '', ?2, ?3, ?4, ?4)",
        params![login, full_name, expires_at, now],
    )?;
    user_by_id(conn, conn.last_insert_rowid())?.context("the new guest user vanished")
}

fn session_from(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get("id")?,
        token: row.get("token")?,
        user_id: row.get("user_id")?,
        application_id: row.get("application_id")?,
        nonce: row.get("nonce")?,
        ts: row.get("ts")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        expires_at_ms: row.get("expires_at_ms")?,
    })
}

fn insert_session(conn: &Connection, s: &NewSession) -> Result<SessionRow> {
    conn.execute(
        "INSERT INTO sessions (token, user_id, application_id, nonce, ts, created_at, updated_at, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        params![s.token, s.user_id, s.application_id, s.nonce, s.ts, s.now, s.expires_at_ms],
    )?;
    Ok(conn.query_row(
        "SELECT * FROM sessions WHERE id = ?1",
        [conn.last_insert_rowid()],
        session_from,
    )?)
}

/// The live session of `token`, its expiry pushed to `new_expiry_ms` (sliding
/// expiry); `None` for an unknown or expired token, which is then forgotten.
fn touch_session(
    conn: &Connection,
    token: &str,
    now_ms: i64,
    new_expiry_ms: i64,
) -> Result<Option<SessionRow>> {
    let Some(mut session) = conn
        .query_row(
            "SELECT * FROM sessions WHERE token = ?1",
            [token],
            session_from,
        )
        .optional()?
    else {
        return Ok(None);
    };
    // The writes below are housekeeping: when they fail (a full disk, above all) the
    // request still goes on with what was read, so that reads keep working.
    if session.expires_at_ms <= now_ms {
        if let Err(err) = conn.execute("DELETE FROM sessions WHERE id = ?1", [session.id]) {
            eprintln!("cubeblob serve: cannot forget an expired session: {err}");
        }
        return Ok(None);
    }
    // A guest's sessions end with the guest.
    let guest_end_ms: Option<i64> = match session.user_id {
        Some(user) => conn
            .query_row(
                "SELECT guest_expires_at FROM users WHERE id = ?1",
                [user],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten()
            .map(|secs| secs.saturating_mul(1000)),
        None => None,
    };
    if guest_end_ms.is_some_and(|end| end <= now_ms) {
        conn.execute("DELETE FROM sessions WHERE id = ?1", [session.id])?;
        return Ok(None);
    }
    let new_expiry_ms = guest_end_ms.map_or(new_expiry_ms, |end| end.min(new_expiry_ms));
    let slid = conn.execute(
        "UPDATE sessions SET expires_at_ms = ?1, updated_at = ?2 WHERE id = ?3",
        params![new_expiry_ms, now_ms / 1000, session.id],
    );
    match slid {
        Ok(_) => {
            session.expires_at_ms = new_expiry_ms;
            session.updated_at = now_ms / 1000;
        }
        Err(err) => eprintln!("cubeblob serve: cannot extend a session's expiry: {err}"),
    }
    Ok(Some(session))
}

/// `POST /login` and `DELETE /login`: the session now acts for `user_id` (none: the
/// application's). The token stays the same.
fn set_session_user(
    conn: &Connection,
    session_id: i64,
    user_id: Option<i64>,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE sessions SET user_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![session_id, user_id, now],
    )?;
    Ok(())
}

fn delete_session(conn: &Connection, token: &str) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE token = ?1", [token])?;
    Ok(())
}

fn delete_expired_sessions(conn: &Connection, now_ms: i64) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE expires_at_ms <= ?1", [now_ms])?;
    Ok(())
}

fn blob_from(row: &Row<'_>) -> rusqlite::Result<BlobRow> {
    Ok(BlobRow {
        id: row.get("id")?,
        uid: row.get("uid")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        content_type: row.get("content_type")?,
        public: row.get("public")?,
        size: row.get("size")?,
        object_size: row.get("object_size")?,
        object_md5: row.get("object_md5")?,
        object_content_type: row.get("object_content_type")?,
        completed_at: row.get("completed_at")?,
        form_expires_at: row.get("form_expires_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn insert_blob(conn: &Connection, b: &NewBlob) -> Result<BlobRow> {
    conn.execute(
        "INSERT INTO blobs (uid, owner_id, name, content_type, public, form_expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![b.uid, b.owner_id, b.name, b.content_type, b.public, b.form_expires_at, b.now],
    )?;
    blob_by_id(conn, conn.last_insert_rowid())?.context("the new blob record vanished")
}

fn blob_by_id(conn: &Connection, id: i64) -> Result<Option<BlobRow>> {
    Ok(conn
        .query_row("SELECT * FROM blobs WHERE id = ?1", [id], blob_from)
        .optional()?)
}

fn blob_by_uid(conn: &Connection, uid: &str) -> Result<Option<BlobRow>> {
    Ok(conn
        .query_row("SELECT * FROM blobs WHERE uid = ?1", [uid], blob_from)
        .optional()?)
}

/// One page of an owner's blobs in id order, and how many they have in all.
fn list_blobs(
    conn: &Connection,
    owner_id: i64,
    limit: u64,
    offset: u64,
) -> Result<(Vec<BlobRow>, u64)> {
    let total: i64 = conn.query_row(
        "SELECT COALESCE((SELECT n FROM blob_counts WHERE owner_id = ?1), 0)",
        [owner_id],
        |row| row.get(0),
    )?;
    // SQLite integers are i64; a page past that is simply empty.
    let (Ok(limit), Ok(offset)) = (i64::try_from(limit), i64::try_from(offset)) else {
        return Ok((Vec::new(), total as u64));
    };
    // The offset is walked on the owner's index alone, and only the page's rows are
    // read from the table: the page deep in a long listing costs half as much.
    let mut statement = conn.prepare(
        "SELECT * FROM blobs WHERE id IN (SELECT id FROM blobs WHERE owner_id = ?1 \
         ORDER BY id ASC LIMIT ?2 OFFSET ?3) ORDER BY id ASC",
    )?;
    let rows = statement
        .query_map(params![owner_id, limit, offset], blob_from)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total as u64))
}

fn update_blob(
    conn: &Connection,
    id: i64,
    name: Option<&str>,
    content_type: Option<&str>,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE blobs SET name = COALESCE(?2, name), content_type = COALESCE(?3, content_type),
         updated_at = ?4 WHERE id = ?1",
        params![id, name, content_type, now],
    )?;
    Ok(())
}

/// Gives a blob a new uid and forgets its object: not complete until new content is
/// uploaded and completed. `size` keeps the old value, as the service's answer does.
fn renew_blob(conn: &Connection, id: i64, r: &Renewal) -> Result<()> {
    conn.execute(
        "UPDATE blobs SET uid = ?2, name = COALESCE(?3, name),
         content_type = COALESCE(?4, content_type), object_size = NULL, object_md5 = NULL,
         object_content_type = NULL, completed_at = NULL, form_expires_at = ?5, updated_at = ?6 WHERE id = ?1",
        params![id, r.uid, r.name, r.content_type, r.form_expires_at, r.now],
    )?;
    Ok(())
}

/// Marks a blob complete with the size of the object it holds (the real size wins
/// over the declared one). The first completion time is kept.
fn complete_blob(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE blobs SET size = object_size, completed_at = COALESCE(completed_at, ?2),
         updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Records a landed upload; false when the blob record is gone. A completed blob
/// that is uploaded again takes the new size.
fn record_object(conn: &Connection, uid: &str, object: &Landed, now: i64) -> Result<bool> {
    let changed = conn.execute(
        "UPDATE blobs SET object_size = ?2, object_md5 = ?3, updated_at = ?4,
         object_content_type = ?5,
         size = CASE WHEN completed_at IS NULL THEN size ELSE ?2 END WHERE uid = ?1",
        params![
            uid,
            object.size as i64,
            object.md5,
            now,
            object.content_type
        ],
    )?;
    Ok(changed > 0)
}

fn delete_blob(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM blobs WHERE id = ?1", [id])? > 0)
}

/// `serve --seed-blobs`: one transaction and one prepared statement, so 100,000 rows
/// take well under a second.
fn insert_seed(conn: &mut Connection, blobs: &[SeedBlob]) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO blobs (uid, owner_id, name, content_type, public, size, completed_at,
             form_expires_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?7)",
        )?;
        for b in blobs {
            insert.execute(params![
                b.uid,
                b.owner_id,
                b.name,
                b.content_type,
                b.public,
                b.size,
                b.at
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[async_trait]
impl Storage for SqliteDb {
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        let login = login.to_owned();
        self.call(move |c| user_by_login(c, &login)).await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        self.call(move |c| user_by_id(c, id)).await
    }

    async fn upsert_user(&self, login: &str, password_hash: &str, now: i64) -> Result<()> {
        let (login, hash) = (login.to_owned(), password_hash.to_owned());
        self.call(move |c| upsert_user(c, &login, &hash, now)).await
    }

    async fn insert_guest(
        &self,
        login: &str,
        full_name: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<UserRow> {
        let (login, full_name) = (login.to_owned(), full_name.map(str::to_owned));
        self.call(move |c| insert_guest(c, &login, full_name.as_deref(), now, expires_at))
            .await
    }

    async fn insert_session(&self, s: NewSession) -> Result<SessionRow> {
        self.call(move |c| insert_session(c, &s)).await
    }

    async fn touch_session(
        &self,
        token: &str,
        now_ms: i64,
        new_expiry_ms: i64,
    ) -> Result<Option<SessionRow>> {
        let token = token.to_owned();
        self.call(move |c| touch_session(c, &token, now_ms, new_expiry_ms))
            .await
    }

    async fn set_session_user(
        &self,
        session_id: i64,
        user_id: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.call(move |c| set_session_user(c, session_id, user_id, now))
            .await
    }

    async fn delete_session(&self, token: &str) -> Result<()> {
        let token = token.to_owned();
        self.call(move |c| delete_session(c, &token)).await
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> Result<()> {
        self.call(move |c| delete_expired_sessions(c, now_ms)).await
    }

    async fn insert_blob(&self, b: NewBlob) -> Result<BlobRow> {
        self.call(move |c| insert_blob(c, &b)).await
    }

    async fn blob_by_id(&self, id: i64) -> Result<Option<BlobRow>> {
        self.call(move |c| blob_by_id(c, id)).await
    }

    async fn blob_by_uid(&self, uid: &str) -> Result<Option<BlobRow>> {
        let uid = uid.to_owned();
        self.call(move |c| blob_by_uid(c, &uid)).await
    }

    async fn list_blobs(
        &self,
        owner_id: i64,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<BlobRow>, u64)> {
        self.call(move |c| list_blobs(c, owner_id, limit, offset))
            .await
    }

    async fn update_blob(
        &self,
        id: i64,
        name: Option<String>,
        content_type: Option<String>,
        now: i64,
    ) -> Result<Option<BlobRow>> {
        self.call(move |c| {
            update_blob(c, id, name.as_deref(), content_type.as_deref(), now)?;
            blob_by_id(c, id)
        })
        .await
    }

    async fn renew_blob(
        &self,
        id: i64,
        r: Renewal,
        then: Option<FileStep>,
    ) -> Result<Option<BlobRow>> {
        self.call(move |c| {
            renew_blob(c, id, &r)?;
            let renewed = blob_by_id(c, id)?;
            if let Some(step) = then {
                step()?;
            }
            Ok(renewed)
        })
        .await
    }

    async fn complete_blob(&self, id: i64, now: i64) -> Result<()> {
        self.call(move |c| complete_blob(c, id, now)).await
    }

    async fn record_object(
        &self,
        uid: &str,
        object: Landed,
        now: i64,
        first: Option<FileStep>,
    ) -> Result<bool> {
        let uid = uid.to_owned();
        self.call(move |c| {
            if blob_by_uid(c, &uid)?.is_none() {
                return Ok(false);
            }
            if let Some(step) = first {
                step()?;
            }
            record_object(c, &uid, &object, now)
        })
        .await
    }

    async fn record_and_complete(
        &self,
        id: i64,
        uid: &str,
        object: Landed,
        now: i64,
    ) -> Result<bool> {
        let uid = uid.to_owned();
        self.call(move |c| {
            let recorded = record_object(c, &uid, &object, now)?;
            if recorded {
                complete_blob(c, id, now)?;
            }
            Ok(recorded)
        })
        .await
    }

    async fn delete_blob(&self, id: i64, then: Option<FileStep>) -> Result<bool> {
        self.call(move |c| {
            let deleted = delete_blob(c, id)?;
            if let Some(step) = then {
                step()?;
            }
            Ok(deleted)
        })
        .await
    }

    async fn insert_seed(&self, blobs: Vec<SeedBlob>) -> Result<()> {
        self.call(move |c| insert_seed(c, &blobs)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&dir.path().join("t.db")).unwrap();
        let conn = Arc::try_unwrap(db.conn).ok().unwrap().into_inner().unwrap();
        (dir, conn)
    }

    #[test]
    fn sessions_slide_and_expire() {
        let (_dir, conn) = db();
        upsert_user(&conn, "alice", "h1", 1).unwrap();
        upsert_user(&conn, "alice", "h2", 2).unwrap();
        let alice = user_by_login(&conn, "alice").unwrap().unwrap();
        assert_eq!(alice.password_hash, "h2");
        let new = NewSession {
            token: "t".into(),
            user_id: Some(alice.id),
            application_id: 1,
            nonce: 1,
            ts: 1,
            now: 1,
            expires_at_ms: 10_000,
        };
        insert_session(&conn, &new).unwrap();
        let touched = touch_session(&conn, "t", 9_000, 19_000).unwrap().unwrap();
        assert_eq!(touched.expires_at_ms, 19_000);
        assert!(touch_session(&conn, "t", 18_000, 28_000).unwrap().is_some());
        assert!(touch_session(&conn, "t", 28_000, 38_000).unwrap().is_none());
        assert!(
            touch_session(&conn, "t", 1, 2).unwrap().is_none(),
            "forgotten"
        );
    }

    #[test]
    fn an_older_database_gets_the_added_columns_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        for _ in 0..2 {
            let db = SqliteDb::open(&path).unwrap();
            let c = db.conn.lock().unwrap();
            let guest = insert_guest(&c, "guest-1", Some("G"), 1, 2).unwrap();
            assert_eq!(guest.guest_expires_at, Some(2));
            c.execute("DELETE FROM users", []).unwrap();
        }
    }

    fn blob_for(conn: &Connection, uid: &str, owner_id: i64) -> BlobRow {
        let new = NewBlob {
            uid: uid.into(),
            owner_id,
            name: uid.into(),
            content_type: "text/plain".into(),
            public: false,
            form_expires_at: 5,
            now: 1,
        };
        insert_blob(conn, &new).unwrap()
    }

    #[test]
    fn listing_totals_follow_inserts_and_deletes_and_older_databases_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(SCHEMA).unwrap();
        add_missing_columns(&old).unwrap();
        for i in 0..5 {
            blob_for(&old, &format!("a{i}"), 1);
        }
        blob_for(&old, "b0", 2);
        drop(old);
        for _ in 0..2 {
            // Opened twice: the counts are made once, from the blobs already there.
            let db = SqliteDb::open(&path).unwrap();
            let c = db.conn.lock().unwrap();
            assert_eq!(list_blobs(&c, 1, 2, 0).unwrap().1, 5);
            assert_eq!(list_blobs(&c, 2, 2, 0).unwrap().1, 1);
        }
        let db = SqliteDb::open(&path).unwrap();
        let c = db.conn.lock().unwrap();
        let extra = blob_for(&c, "a5", 1);
        let (page, total) = list_blobs(&c, 1, 2, 4).unwrap();
        let uids: Vec<_> = page.iter().map(|b| b.uid.as_str()).collect();
        assert_eq!((uids, total), (vec!["a4", "a5"], 6));
        assert!(delete_blob(&c, extra.id).unwrap());
        assert_eq!(list_blobs(&c, 1, 10, 0).unwrap().1, 5);
        let (page, total) = list_blobs(&c, 3, 10, 0).unwrap();
        assert!(page.is_empty() && total == 0);
    }

    #[test]
    fn blobs_complete_with_the_real_size() {
        let (_dir, conn) = db();
        let new = NewBlob {
            uid: "ab00".into(),
            owner_id: 1,
            name: "n".into(),
            content_type: "text/plain".into(),
            public: false,
            form_expires_at: 5,
            now: 1,
        };
        let blob = insert_blob(&conn, &new).unwrap();
        let landed = |size, md5: &str| Landed {
            size,
            md5: md5.into(),
            content_type: Some("text/plain".into()),
        };
        assert!(record_object(&conn, "ab00", &landed(7, "md5"), 2).unwrap());
        assert_eq!(blob_by_id(&conn, blob.id).unwrap().unwrap().size, None);
        complete_blob(&conn, blob.id, 3).unwrap();
        let done = blob_by_uid(&conn, "ab00").unwrap().unwrap();
        assert_eq!((done.size, done.completed_at), (Some(7), Some(3)));
        assert!(record_object(&conn, "ab00", &landed(9, "md5b"), 4).unwrap());
        assert_eq!(blob_by_id(&conn, blob.id).unwrap().unwrap().size, Some(9));
        assert!(!record_object(&conn, "zz00", &landed(1, "x"), 4).unwrap());
        let (page, total) = list_blobs(&conn, 1, 10, 0).unwrap();
        assert_eq!((page.len(), total), (1, 1));
        assert!(delete_blob(&conn, blob.id).unwrap());
        assert!(!delete_blob(&conn, blob.id).unwrap());
    }
}
