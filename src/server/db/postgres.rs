//! The PostgreSQL `Storage` (`serve --database postgres://…`), which several instances
//! of the server can share. A pool of connections; each method is one statement or one
//! transaction, so that concurrent requests on any instance end in a consistent record.
//! The schema is the migrations in `migrations/postgres/`, applied at start.
//!
//! A lost database (connection refused or cut, the server shutting down, no free
//! connection in time) is an `Unavailable` error, which requests answer with 503; the
//! pool drops dead connections and makes new ones, so service resumes by itself.

use std::time::Duration;

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::{NoTls, Row};

use super::{
    BlobRow, FileStep, Landed, NewBlob, NewSession, Renewal, SeedBlob, SessionRow, Storage,
    Unavailable, UserRow,
};

/// The migrations, in order; a database records which it has in `cubeblob_migrations`.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    include_str!("../../../migrations/postgres/0001_initial.sql"),
)];

/// The advisory lock that instances starting together take to migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6375_6265_626c_6f62; // "cubeblob"

/// How long a request waits for a connection, or for a new one to be made, before
/// it is answered 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresDb {
    pool: Pool,
}

impl PostgresDb {
    /// Connects with up to `pool_size` connections and applies the migrations it lacks.
    /// `shown` is the URL without its password, for messages.
    pub async fn connect(url: &str, shown: &str, pool_size: usize) -> Result<PostgresDb> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .with_context(|| format!("`{shown}` is not a PostgreSQL URL"))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("cubeblob serve");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .context("cannot set up the database pool")?;
        let db = PostgresDb { pool };
        db.migrate()
            .await
            .with_context(|| format!("cannot set up the database `{shown}`"))?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await.map_err(unavailable)?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let applied = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS cubeblob_migrations (
                        version INTEGER PRIMARY KEY,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await?;
            for (version, sql) in MIGRATIONS {
                let tx = client.transaction().await?;
                let done = tx
                    .query_opt(
                        "SELECT 1 FROM cubeblob_migrations WHERE version = $1",
                        &[version],
                    )
                    .await?
                    .is_some();
                if !done {
                    tx.batch_execute(sql)
                        .await
                        .with_context(|| format!("migration {version} failed"))?;
                    tx.execute(
                        "INSERT INTO cubeblob_migrations (version) VALUES ($1)",
                        &[version],
                    )
                    .await?;
                }
                tx.commit().await?;
            }
            anyhow::Ok(())
        }
        .await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        applied?;
        unlocked?;
        Ok(())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(unavailable)
    }
}

/// Rows per statement of `insert_seed`: the arrays of one chunk stay a few MB.
const SEED_CHUNK: usize = 10_000;

/// A lost database, told apart from a refused statement: no SQLSTATE (an I/O error, a
/// closed connection), a connection exception (class 08) or the server going away.
fn classify(err: tokio_postgres::Error) -> anyhow::Error {
    let lost = match err.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
    };
    if lost {
        anyhow::Error::new(Unavailable(err.to_string()))
    } else {
        anyhow::Error::new(err)
    }
}

fn unavailable(err: PoolError) -> anyhow::Error {
    match err {
        PoolError::Backend(err) => classify(err),
        other => anyhow::Error::new(Unavailable(other.to_string())),
    }
}

/// `?` for the driver's errors, classified.
trait Pg<T> {
    fn pg(self) -> Result<T>;
}

impl<T> Pg<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(classify)
    }
}

fn user_from(row: &Row) -> Result<UserRow> {
    Ok(UserRow {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        password_hash: row.try_get("password_hash")?,
        full_name: row.try_get("full_name")?,
        guest_expires_at: row.try_get("guest_expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn session_from(row: &Row) -> Result<SessionRow> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        token: row.try_get("token")?,
        user_id: row.try_get("user_id")?,
        application_id: row.try_get("application_id")?,
        nonce: row.try_get("nonce")?,
        ts: row.try_get("ts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
    })
}

fn blob_from(row: &Row) -> Result<BlobRow> {
    Ok(BlobRow {
        id: row.try_get("id")?,
        uid: row.try_get("uid")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        content_type: row.try_get("content_type")?,
        public: row.try_get("public")?,
        size: row.try_get("size")?,
        object_size: row.try_get("object_size")?,
        object_md5: row.try_get("object_md5")?,
        object_content_type: row.try_get("object_content_type")?,
        completed_at: row.try_get("completed_at")?,
        form_expires_at: row.try_get("form_expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Runs a file step off the async threads.
async fn run_step(step: Option<FileStep>) -> Result<()> {
    match step {
        Some(step) => tokio::task::spawn_blocking(step)
            .await
            .context("a file task failed")?,
        None => Ok(()),
    }
}

fn size_of(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

#[async_trait]
impl Storage for PostgresDb {
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        let client = self.client().await?;
        let sql = "SELECT * FROM users WHERE login = $1";
        let row = client.query_opt(sql, &[&login]).await.pg()?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        let client = self.client().await?;
        let sql = "SELECT * FROM users WHERE id = $1";
        let row = client.query_opt(sql, &[&id]).await.pg()?;
        row.as_ref().map(user_from).transpose()
    }

    async fn upsert_user(&self, login: &str, password_hash: &str, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO users (login, password_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $3)
                 ON CONFLICT (login) DO UPDATE SET password_hash = $2, updated_at = $3",
                &[&login, &password_hash, &now],
            )
            .await
            .pg()?;
        Ok(())
    }

    async fn insert_guest(
        &self,
        login: &str,
        full_name: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<UserRow> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO users (login, password_hash, full_name, guest_expires_at,
                 created_at, updated_at) VALUES ($1, '', $2, $3, $4, $4) RETURNING *",
                &[&login, &full_name, &expires_at, &now],
            )
            .await
            .pg()?;
        user_from(&row)
    }

    async fn insert_session(&self, s: NewSession) -> Result<SessionRow> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO sessions (token, user_id, application_id, nonce, ts, created_at,
                 updated_at, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING *",
                &[
                    &s.token,
                    &s.user_id,
                    &s.application_id,
                    &s.nonce,
                    &s.ts,
                    &s.now,
                    &s.expires_at_ms,
                ],
            )
            .await
            .pg()?;
        session_from(&row)
    }

    async fn touch_session(
        &self,
        token: &str,
        now_ms: i64,
        new_expiry_ms: i64,
    ) -> Result<Option<SessionRow>> {
        let client = self.client().await?;
        // One statement: a live session slides (never backwards, when two requests
        // race; never past a guest's end), an ended one is not touched here.
        let row = client
            .query_opt(
                "WITH target AS (
                    SELECT s.id, u.guest_expires_at * 1000 AS guest_end
                    FROM sessions s LEFT JOIN users u ON u.id = s.user_id
                    WHERE s.token = $1)
                 UPDATE sessions s SET
                    expires_at_ms = LEAST(GREATEST(s.expires_at_ms, $3::BIGINT),
                                          COALESCE(t.guest_end, $3::BIGINT)),
                    updated_at = $4
                 FROM target t
                 WHERE s.id = t.id AND s.expires_at_ms > $2
                   AND COALESCE(t.guest_end > $2, TRUE)
                 RETURNING s.*",
                &[&token, &now_ms, &new_expiry_ms, &(now_ms / 1000)],
            )
            .await
            .pg()?;
        match row {
            Some(row) => Ok(Some(session_from(&row)?)),
            None => {
                // Unknown, or ended: forgotten (a no-op for an unknown token).
                client
                    .execute(
                        "DELETE FROM sessions WHERE token = $1 AND (expires_at_ms <= $2
                         OR user_id IN (SELECT id FROM users WHERE guest_expires_at * 1000 <= $2))",
                        &[&token, &now_ms],
                    )
                    .await
                    .pg()?;
                Ok(None)
            }
        }
    }

    async fn set_session_user(
        &self,
        session_id: i64,
        user_id: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE sessions SET user_id = $2, updated_at = $3 WHERE id = $1",
                &[&session_id, &user_id, &now],
            )
            .await
            .pg()?;
        Ok(())
    }

    async fn delete_session(&self, token: &str) -> Result<()> {
        let client = self.client().await?;
        let sql = "DELETE FROM sessions WHERE token = $1";
        client.execute(sql, &[&token]).await.pg()?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> Result<()> {
        let client = self.client().await?;
        let sql = "DELETE FROM sessions WHERE expires_at_ms <= $1";
        client.execute(sql, &[&now_ms]).await.pg()?;
        Ok(())
    }

    async fn insert_blob(&self, b: NewBlob) -> Result<BlobRow> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO blobs (uid, owner_id, name, content_type, public, form_expires_at,
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *",
                &[
                    &b.uid,
                    &b.owner_id,
                    &b.name,
                    &b.content_type,
                    &b.public,
                    &b.form_expires_at,
                    &b.now,
                ],
            )
            .await
            .pg()?;
        blob_from(&row)
    }

    async fn blob_by_id(&self, id: i64) -> Result<Option<BlobRow>> {
        let client = self.client().await?;
        let sql = "SELECT * FROM blobs WHERE id = $1";
        let row = client.query_opt(sql, &[&id]).await.pg()?;
        row.as_ref().map(blob_from).transpose()
    }

    async fn blob_by_uid(&self, uid: &str) -> Result<Option<BlobRow>> {
        let client = self.client().await?;
        let sql = "SELECT * FROM blobs WHERE uid = $1";
        let row = client.query_opt(sql, &[&uid]).await.pg()?;
        row.as_ref().map(blob_from).transpose()
    }

    async fn list_blobs(
        &self,
        owner_id: i64,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<BlobRow>, u64)> {
        let mut client = self.client().await?;
        // One snapshot for the count and the page, so they agree.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .pg()?;
        let sql = "SELECT COUNT(*) FROM blobs WHERE owner_id = $1";
        let total: i64 = tx.query_one(sql, &[&owner_id]).await.pg()?.try_get(0)?;
        let (Ok(limit), Ok(offset)) = (i64::try_from(limit), i64::try_from(offset)) else {
            return Ok((Vec::new(), total as u64));
        };
        let rows = tx
            .query(
                "SELECT * FROM blobs WHERE owner_id = $1 ORDER BY id ASC LIMIT $2 OFFSET $3",
                &[&owner_id, &limit, &offset],
            )
            .await
            .pg()?;
        tx.commit().await.pg()?;
        let page = rows.iter().map(blob_from).collect::<Result<Vec<_>>>()?;
        Ok((page, total as u64))
    }

    async fn update_blob(
        &self,
        id: i64,
        name: Option<String>,
        content_type: Option<String>,
        now: i64,
    ) -> Result<Option<BlobRow>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE blobs SET name = COALESCE($2, name),
                 content_type = COALESCE($3, content_type), updated_at = $4
                 WHERE id = $1 RETURNING *",
                &[&id, &name, &content_type, &now],
            )
            .await
            .pg()?;
        row.as_ref().map(blob_from).transpose()
    }

    async fn renew_blob(
        &self,
        id: i64,
        r: Renewal,
        then: Option<FileStep>,
    ) -> Result<Option<BlobRow>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.pg()?;
        let row = tx
            .query_opt(
                "UPDATE blobs SET uid = $2, name = COALESCE($3, name),
                 content_type = COALESCE($4, content_type), object_size = NULL,
                 object_md5 = NULL, object_content_type = NULL, completed_at = NULL,
                 form_expires_at = $5, updated_at = $6 WHERE id = $1 RETURNING *",
                &[
                    &id,
                    &r.uid,
                    &r.name,
                    &r.content_type,
                    &r.form_expires_at,
                    &r.now,
                ],
            )
            .await
            .pg()?;
        let renewed = row.as_ref().map(blob_from).transpose()?;
        run_step(then).await?;
        tx.commit().await.pg()?;
        Ok(renewed)
    }

    async fn complete_blob(&self, id: i64, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE blobs SET size = object_size, completed_at = COALESCE(completed_at, $2),
                 updated_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await
            .pg()?;
        Ok(())
    }

    async fn record_object(
        &self,
        uid: &str,
        object: Landed,
        now: i64,
        first: Option<FileStep>,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.pg()?;
        // The row lock keeps a delete or renewal of this blob out until the file is in
        // place and recorded.
        let sql = "SELECT id FROM blobs WHERE uid = $1 FOR UPDATE";
        if tx.query_opt(sql, &[&uid]).await.pg()?.is_none() {
            return Ok(false);
        }
        run_step(first).await?;
        tx.execute(
            "UPDATE blobs SET object_size = $2, object_md5 = $3, updated_at = $4,
             object_content_type = $5,
             size = CASE WHEN completed_at IS NULL THEN size ELSE $2 END WHERE uid = $1",
            &[
                &uid,
                &size_of(object.size),
                &object.md5,
                &now,
                &object.content_type,
            ],
        )
        .await
        .pg()?;
        tx.commit().await.pg()?;
        Ok(true)
    }

    async fn record_and_complete(
        &self,
        id: i64,
        uid: &str,
        object: Landed,
        now: i64,
    ) -> Result<bool> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE blobs SET object_size = $3, object_md5 = $4, object_content_type = $5,
                 size = $3, completed_at = COALESCE(completed_at, $6), updated_at = $6
                 WHERE id = $1 AND uid = $2",
                &[
                    &id,
                    &uid,
                    &size_of(object.size),
                    &object.md5,
                    &object.content_type,
                    &now,
                ],
            )
            .await
            .pg()?;
        Ok(changed > 0)
    }

    async fn delete_blob(&self, id: i64, then: Option<FileStep>) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.pg()?;
        let sql = "DELETE FROM blobs WHERE id = $1";
        let deleted = tx.execute(sql, &[&id]).await.pg()? > 0;
        run_step(then).await?;
        tx.commit().await.pg()?;
        Ok(deleted)
    }

    async fn insert_seed(&self, blobs: Vec<SeedBlob>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.pg()?;
        // Arrays unnested in one statement per chunk, in order (ids follow it): a
        // round trip per 10,000 rows rather than per row.
        let sql = "INSERT INTO blobs (uid, owner_id, name, content_type, public, size,
                   completed_at, form_expires_at, created_at, updated_at)
                   SELECT uid, owner_id, name, content_type, public, size, at, at, at, at
                   FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],
                               $5::boolean[], $6::bigint[], $7::bigint[])
                        WITH ORDINALITY AS s(uid, owner_id, name, content_type, public,
                                             size, at, ord)
                   ORDER BY ord";
        for chunk in blobs.chunks(SEED_CHUNK) {
            let uids: Vec<&str> = chunk.iter().map(|b| b.uid.as_str()).collect();
            let owners: Vec<i64> = chunk.iter().map(|b| b.owner_id).collect();
            let names: Vec<&str> = chunk.iter().map(|b| b.name.as_str()).collect();
            let types: Vec<&str> = chunk.iter().map(|b| b.content_type.as_str()).collect();
            let public: Vec<bool> = chunk.iter().map(|b| b.public).collect();
            let sizes: Vec<i64> = chunk.iter().map(|b| b.size).collect();
            let times: Vec<i64> = chunk.iter().map(|b| b.at).collect();
            tx.execute(
                sql,
                &[&uids, &owners, &names, &types, &public, &sizes, &times],
            )
            .await
            .pg()?;
        }
        tx.commit().await.pg()?;
        Ok(())
    }
}
