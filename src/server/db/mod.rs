//! The metadata store: users, sessions and blob records. One interface, `Storage`,
//! which the routes use without knowing what is behind it: SQLite in the data folder
//! (`sqlite.rs`, the embedded default) or PostgreSQL (`postgres.rs`), which several
//! instances of the server can share.
//!
//! Every method is one consistent step: what reads and then writes a record does so
//! in one transaction (or under SQLite's one connection), never as a read-modify-write
//! across calls, so that concurrent requests on any instance end in a consistent record.

mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;

pub use postgres::PostgresDb;
pub use sqlite::SqliteDb;

/// The database handle shared by all requests.
pub type Db = Arc<dyn Storage>;

/// File work that must happen while the blob's record is held, so that an upload
/// landing and a delete or renewal of the same blob cannot interleave and leave a file
/// without a record (the local store's files; an external store needs none).
pub type FileStep = Box<dyn FnOnce() -> Result<()> + Send>;

/// The database could not be reached (or went away): requests are answered 503 until
/// it is back. Only the message of the driver, never the URL with its password.
#[derive(Debug, thiserror::Error)]
#[error("the database is unavailable: {0}")]
pub struct Unavailable(pub String);

/// Which database `serve --database` names.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite:PATH`; `None` is `cubeblob.db` in the data folder, the default.
    Sqlite(Option<PathBuf>),
    /// `postgres://…` or `postgresql://…`, as given (it may hold a password).
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<DatabaseUrl, String> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`sqlite:` needs a path, e.g. `sqlite:/srv/cubeblob.db`".into());
            }
            return Ok(DatabaseUrl::Sqlite(Some(PathBuf::from(path))));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_string()));
        }
        Err(format!(
            "`{}` is not a database URL: use `sqlite:PATH` or `postgres://USER@HOST/NAME`",
            redact(text)
        ))
    }

    /// The URL for messages: a password replaced by `***`.
    pub fn shown(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(None) => "sqlite (in the data folder)".into(),
            DatabaseUrl::Sqlite(Some(path)) => format!("sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => redact(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a text that is
/// no URL loses everything but its scheme, as it may still hold a password.
fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            let query: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !query.is_empty() {
                url.query_pairs_mut().clear().extend_pairs(query);
            }
            url.to_string()
        }
        Err(_) => match text.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "…".into(),
        },
    }
}

/// Opens the database `url` names (`default_sqlite` for `sqlite` in the data folder),
/// creating or upgrading its schema.
pub async fn open(url: &DatabaseUrl, default_sqlite: &Path, pool_size: usize) -> Result<Db> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let path = path.clone().unwrap_or_else(|| default_sqlite.to_path_buf());
            let db = tokio::task::spawn_blocking(move || SqliteDb::open(&path)).await??;
            Ok(Arc::new(db))
        }
        DatabaseUrl::Postgres(text) => {
            let db = PostgresDb::connect(text, &url.shown(), pool_size).await?;
            Ok(Arc::new(db))
        }
    }
}

#[async_trait]
pub trait Storage: Send + Sync {
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>>;
    /// Creates the user, or gives an existing one a new password hash.
    async fn upsert_user(&self, login: &str, password_hash: &str, now: i64) -> Result<()>;
    /// Makes a guest user, who has no password and whose sessions end at `expires_at`.
    async fn insert_guest(
        &self,
        login: &str,
        full_name: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<UserRow>;

    async fn insert_session(&self, s: NewSession) -> Result<SessionRow>;
    /// The live session of `token`, its expiry pushed to `new_expiry_ms` (sliding
    /// expiry, capped by a guest's end); `None` for an unknown or expired token, which
    /// is then forgotten.
    async fn touch_session(
        &self,
        token: &str,
        now_ms: i64,
        new_expiry_ms: i64,
    ) -> Result<Option<SessionRow>>;
    /// `POST /login` and `DELETE /login`: the session now acts for `user_id` (none:
    /// the application's). The token stays the same.
    async fn set_session_user(&self, session_id: i64, user_id: Option<i64>, now: i64)
        -> Result<()>;
    async fn delete_session(&self, token: &str) -> Result<()>;
    async fn delete_expired_sessions(&self, now_ms: i64) -> Result<()>;

    /// A new record; its id is greater than every id handed out before.
    async fn insert_blob(&self, b: NewBlob) -> Result<BlobRow>;
    async fn blob_by_id(&self, id: i64) -> Result<Option<BlobRow>>;
    async fn blob_by_uid(&self, uid: &str) -> Result<Option<BlobRow>>;
    /// One page of an owner's blobs in id order, and how many they have in all.
    async fn list_blobs(
        &self,
        owner_id: i64,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<BlobRow>, u64)>;
    /// Changes what is given and answers the record as it is then.
    async fn update_blob(
        &self,
        id: i64,
        name: Option<String>,
        content_type: Option<String>,
        now: i64,
    ) -> Result<Option<BlobRow>>;
    /// Gives a blob a new uid and forgets its object (see `Renewal`), then runs
    /// `then` with the record held; the renewed record.
    async fn renew_blob(
        &self,
        id: i64,
        r: Renewal,
        then: Option<FileStep>,
    ) -> Result<Option<BlobRow>>;
    /// Marks a blob complete with the size of the object it holds (the real size wins
    /// over the declared one). The first completion time is kept.
    async fn complete_blob(&self, id: i64, now: i64) -> Result<()>;
    /// Records a landed upload; false when the blob record is gone. A completed blob
    /// that is uploaded again takes the new size. `first` runs before the record is
    /// written, with the record held, and not at all when it is gone.
    async fn record_object(
        &self,
        uid: &str,
        object: Landed,
        now: i64,
        first: Option<FileStep>,
    ) -> Result<bool>;
    /// `record_object` and `complete_blob` in one step: an external store's complete.
    async fn record_and_complete(
        &self,
        id: i64,
        uid: &str,
        object: Landed,
        now: i64,
    ) -> Result<bool>;
    /// Deletes the record, then runs `then` with it still held; false when it was gone.
    async fn delete_blob(&self, id: i64, then: Option<FileStep>) -> Result<bool>;

    /// The test aid `serve --seed-blobs`: complete records without an object, all in
    /// one transaction, in order (ids follow it).
    async fn insert_seed(&self, blobs: Vec<SeedBlob>) -> Result<()>;
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub full_name: Option<String>,
    pub guest_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone)]
pub struct SessionRow {
    pub id: i64,
    pub token: String,
    pub user_id: Option<i64>,
    pub application_id: i64,
    pub nonce: i64,
    pub ts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in logs.
        f.debug_struct("SessionRow")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("application_id", &self.application_id)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

pub struct NewSession {
    pub token: String,
    pub user_id: Option<i64>,
    pub application_id: i64,
    pub nonce: i64,
    pub ts: i64,
    pub now: i64,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct BlobRow {
    pub id: i64,
    pub uid: String,
    pub owner_id: i64,
    pub name: String,
    pub content_type: String,
    pub public: bool,
    pub size: Option<i64>,
    pub object_size: Option<i64>,
    pub object_md5: Option<String>,
    pub object_content_type: Option<String>,
    pub completed_at: Option<i64>,
    pub form_expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl BlobRow {
    pub fn is_complete(&self) -> bool {
        self.completed_at.is_some()
    }
}

pub struct NewBlob {
    pub uid: String,
    pub owner_id: i64,
    pub name: String,
    pub content_type: String,
    pub public: bool,
    pub form_expires_at: i64,
    pub now: i64,
}

/// A record of `serve --seed-blobs`: complete at `at` with `size`, but no object
/// landed (so downloads of it answer 404).
pub struct SeedBlob {
    pub uid: String,
    pub owner_id: i64,
    pub name: String,
    pub content_type: String,
    pub public: bool,
    pub size: i64,
    pub at: i64,
}

/// What `PUT /blobs/{id}` with `new=1` changes: a new uid (so the old one and
/// every URL made for it name nothing), a fresh form, and no content yet. `size`
/// keeps the old value, as the service's answer does.
pub struct Renewal {
    pub uid: String,
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub form_expires_at: i64,
    pub now: i64,
}

/// A landed upload: its size, MD5 and the Content-Type it was sent with.
pub struct Landed {
    pub size: u64,
    pub md5: String,
    pub content_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_parse_and_never_show_a_password() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:/srv/c.db").unwrap(),
            DatabaseUrl::Sqlite(Some("/srv/c.db".into()))
        );
        let pg = DatabaseUrl::parse("postgres://cb:hunter2@127.0.0.1:5432/cb").unwrap();
        assert_eq!(pg.shown(), "postgres://cb:***@127.0.0.1:5432/cb");
        assert!(!format!("{pg:?}").contains("hunter2"));
        let query = DatabaseUrl::parse("postgresql://h/cb?user=cb&password=hunter2").unwrap();
        assert!(!query.shown().contains("hunter2"), "{}", query.shown());
        let bad = DatabaseUrl::parse("mysql://cb:hunter2@h/cb").unwrap_err();
        assert!(!bad.contains("hunter2"), "{bad}");
        assert!(DatabaseUrl::parse("sqlite:").is_err());
    }
}
