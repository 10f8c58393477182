//! The local ConnectyCube-compatible storage server: the API of CONTRACT.md and an
//! S3 endpoint for its upload forms and download URLs, over SQLite (or PostgreSQL,
//! `db`) and a folder of files (or an external S3 store, `store`). `cubeblob serve`
//! runs it as a process; `--local` runs it in-process.

mod auth;
mod blob_input;
mod blobs;
pub(crate) mod body;
mod data;
mod db;
pub(crate) mod errors;
mod faults;
mod listen;
mod login;
mod object_body;
mod password;
pub(crate) mod range;
mod routes;
pub(crate) mod s3;
mod seed;
pub(crate) mod sigv4;
mod state;
mod store;
mod temp;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use data::DataDir;
use db::Db;
use state::AppState;
use store::{ExternalStore, Store};

pub use db::DatabaseUrl;
pub use faults::FaultPlan;
pub use seed::SeedSpec;
pub use state::public_base;
pub use store::{ExternalS3, Tamper};

/// The login of the user made when no users are configured.
const DEMO_LOGIN: &str = "demo";

/// Token and form lifetimes are capped, so that expiry dates stay within what the
/// clock arithmetic and the 4-digit years of the wire formats can hold.
const MAX_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Connections to PostgreSQL at most, by default.
pub const DEFAULT_DB_POOL: usize = 16;

/// How long `serve` waits for a request head, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the server needs to start.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address of the API; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Address of the S3 endpoint; `None` serves it on the API's listener.
    pub s3_listen: Option<SocketAddr>,
    /// The database and file contents.
    pub data_dir: PathBuf,
    /// Login and password of each user to create or update; none makes a demo user.
    pub users: Vec<(String, String)>,
    /// The application id sessions must name.
    pub app_id: u64,
    /// The application auth key sessions must carry.
    pub auth_key: String,
    /// Key of legacy session signatures.
    pub auth_secret: String,
    /// Token lifetime; every authenticated call extends it again. At most ten years.
    pub token_ttl: Duration,
    /// How long an upload form stays valid. At most ten years.
    pub form_ttl: Duration,
    /// The largest upload accepted, in bytes.
    pub max_size: u64,
    /// An external S3-compatible store for file contents; `None` keeps them in the
    /// data folder behind the server's own S3 endpoint.
    pub s3_store: Option<ExternalS3>,
    /// A test aid: spoil every upload form handed out in this way.
    pub s3_tamper: Option<Tamper>,
    /// A test aid: the fault plan of `serve --faults` (failures on purpose).
    pub faults: Option<Arc<FaultPlan>>,
    /// A test aid: blob records to add at start (`serve --seed-blobs`).
    pub seed: Vec<SeedSpec>,
    /// How long a connection may stay without sending a request head (idle
    /// keep-alive connections included) before it is closed.
    pub idle_timeout: Duration,
    /// Open connections at most, both listeners together; `None` derives it from
    /// the open-file limit.
    pub max_connections: Option<usize>,
    /// The metadata store: SQLite (in the data folder by default) or PostgreSQL.
    pub database: DatabaseUrl,
    /// Connections to PostgreSQL at most.
    pub db_pool: usize,
    /// `scheme://host[:port]` that upload forms and download URLs name, checked by
    /// `public_base`; `None` names the bound address.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Passwords and the auth secret never reach logs.
        let logins: Vec<&str> = self.users.iter().map(|(login, _)| login.as_str()).collect();
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("s3_listen", &self.s3_listen)
            .field("data_dir", &self.data_dir)
            .field("users", &logins)
            .field("app_id", &self.app_id)
            .field("auth_key", &self.auth_key)
            .field("auth_secret", &"<redacted>")
            .field("token_ttl", &self.token_ttl)
            .field("form_ttl", &self.form_ttl)
            .field("max_size", &self.max_size)
            .field("s3_store", &self.s3_store)
            .field("s3_tamper", &self.s3_tamper)
            .field("faults", &self.faults.as_ref().map(|plan| plan.len()))
            .field("seed", &self.seed)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("public_url", &self.public_url)
            .field("database", &self.database)
            .field("db_pool", &self.db_pool)
            .finish()
    }
}

impl ServerConfig {
    /// A loopback server on a free port with a demo user and the defaults of
    /// `cubeblob serve`: what `--local` runs.
    pub fn local_default(data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            s3_listen: None,
            data_dir,
            users: Vec::new(),
            app_id: 1,
            auth_key: "local-auth-key".to_string(),
            auth_secret: "local-auth-secret".to_string(),
            token_ttl: Duration::from_secs(2 * 3600),
            form_ttl: Duration::from_secs(3600),
            max_size: 100 * 1024 * 1024,
            s3_store: None,
            s3_tamper: None,
            faults: None,
            seed: Vec::new(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: None,
            public_url: None,
            database: DatabaseUrl::Sqlite(None),
            db_pool: DEFAULT_DB_POOL,
        }
    }
}

/// `$CUBEBLOB_DATA_DIR` if set, else `cubeblob/server` under the user's data folder.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CUBEBLOB_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("cubeblob")
        .join("server")
}

/// A started server. Dropping it stops it without waiting; `shutdown` waits.
pub struct RunningServer {
    base_url: String,
    s3_url: String,
    app_id: u64,
    auth_key: String,
    login: String,
    demo_password: Option<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Opens the data folder, provisions the users, binds the listeners and serves.
    pub async fn start(config: ServerConfig) -> Result<RunningServer> {
        let setup = prepare(&config).await?;

        let store = match &config.s3_store {
            Some(external) => {
                let connected = ExternalStore::connect(external).await?;
                Store::External(Box::new(connected))
            }
            None => Store::Local,
        };
        // With an external store, our own S3 endpoint has nothing to serve.
        let own_s3 = matches!(store, Store::Local);
        let api_listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on `{}`", config.listen))?;
        let base_url = url_of(api_listener.local_addr()?);
        let s3_listener = match config.s3_listen.filter(|_| own_s3) {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on `{addr}`"))?,
            ),
            None => None,
        };
        // Forms and download URLs name the public address, never a request's `Host`.
        let public = config
            .public_url
            .clone()
            .unwrap_or_else(|| base_url.clone());
        let s3_base = match &s3_listener {
            Some(listener) if config.public_url.is_some() => {
                state::with_port(&public, listener.local_addr()?.port())
            }
            Some(listener) => url_of(listener.local_addr()?),
            None => public,
        };
        let s3_url = match &store {
            Store::External(external) => external.upload_url().to_string(),
            Store::Local => s3_base.clone(),
        };

        let state = Arc::new(AppState {
            app_id: config.app_id,
            auth_key: config.auth_key.clone(),
            auth_secret: config.auth_secret.clone(),
            token_ttl: config.token_ttl.min(MAX_TTL),
            form_ttl: config.form_ttl.min(MAX_TTL),
            max_size: config.max_size,
            db: setup.db,
            data: setup.data,
            keys: setup.keys,
            s3_base,
            store,
            tamper: config.s3_tamper,
        });

        let (stop, stopped) = watch::channel(false);
        let mut limits = listen::ConnectionLimits::new(config.idle_timeout, config.max_connections);
        limits.receive_buffer = config
            .faults
            .as_ref()
            .and_then(|plan| plan.receive_buffer());
        let mut tasks = vec![spawn_serve(
            api_listener,
            limits.clone(),
            faults::wrap(
                routes::api_app(Arc::clone(&state), s3_listener.is_none() && own_s3),
                config.faults.clone(),
                state.db.clone(),
            ),
            stopped.clone(),
        )];
        if let Some(listener) = s3_listener {
            let db = state.db.clone();
            let app = faults::wrap(routes::s3_app(state), config.faults.clone(), db);
            tasks.push(spawn_serve(listener, limits, app, stopped));
        }
        Ok(RunningServer {
            base_url,
            s3_url,
            app_id: config.app_id,
            auth_key: config.auth_key,
            login: setup.login,
            demo_password: setup.demo_password,
            stop,
            tasks,
        })
    }

    /// The API base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The S3 endpoint's base URL (the API's when they share a listener).
    pub fn s3_url(&self) -> String {
        self.s3_url.clone()
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    pub fn auth_key(&self) -> &str {
        &self.auth_key
    }

    /// The first configured user's login, or the demo user's.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The demo user's password, when no users were configured.
    pub fn demo_password(&self) -> Option<&str> {
        self.demo_password.as_deref()
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Without `shutdown`, still stop serving: the server must not outlive its handle.
        let _ = self.stop.send(true);
    }
}

fn spawn_serve(
    listener: TcpListener,
    limits: listen::ConnectionLimits,
    app: axum::Router,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Every answer of either app, the fault plan's included, passes the CORS layer.
    tokio::spawn(listen::serve(listener, routes::cors(app), limits, stopped))
}

/// The URL clients should use for a bound address: a wildcard address is reached
/// over loopback.
fn url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

struct Setup {
    db: Db,
    data: DataDir,
    keys: sigv4::S3Keys,
    login: String,
    demo_password: Option<String>,
}

/// The first part of a start: folders, database, keys and users.
async fn prepare(config: &ServerConfig) -> Result<Setup> {
    let (data, keys, demo) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let in_folder = config.database == db::DatabaseUrl::Sqlite(None);
            let data = DataDir::prepare(&config.data_dir, in_folder)?;
            let keys = data.s3_keys()?;
            let demo = match config.users.is_empty() {
                true => Some(data.demo_password(DEMO_LOGIN)?),
                false => None,
            };
            Ok((data, keys, demo))
        })
        .await
        .context("the server's set-up task failed")??
    };
    let db: Db = db::open(&config.database, &data.db_path(), config.db_pool).await?;
    let now = chrono::Utc::now();
    db.delete_expired_sessions(now.timestamp_millis()).await?;

    let (users, demo_password) = if let Some(password) = demo {
        (
            vec![(DEMO_LOGIN.to_string(), password.clone())],
            Some(password),
        )
    } else {
        (config.users.clone(), None)
    };
    for (login, password) in &users {
        if login.is_empty() || password.is_empty() {
            bail!("a user needs a login and a password (LOGIN:PASSWORD)");
        }
        // Rehash only when the password changed, so restarts stay quick.
        let current = db.user_by_login(login).await?;
        let password = password.clone();
        let hash = tokio::task::spawn_blocking(move || {
            let same = current.is_some_and(|u| password::verify(&password, &u.password_hash));
            (!same).then(|| password::hash(&password))
        })
        .await
        .context("the server's set-up task failed")?;
        if let Some(hash) = hash {
            db.upsert_user(login, &hash, now.timestamp()).await?;
        }
    }
    seed::seed(&db, &config.seed, now.timestamp()).await?;
    Ok(Setup {
        db,
        data,
        keys,
        login: users[0].0.clone(),
        demo_password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut config = ServerConfig::local_default(PathBuf::from("/tmp/x"));
        config.users.push(("alice".into(), "hunter2".into()));
        let shown = format!("{config:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("hunter2") && !shown.contains("local-auth-secret"));
    }

    #[test]
    fn wildcard_addresses_are_reached_over_loopback() {
        assert_eq!(
            url_of("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(url_of("[::]:8080".parse().unwrap()), "http://[::1]:8080");
        assert_eq!(url_of("10.1.2.3:80".parse().unwrap()), "http://10.1.2.3:80");
    }
}
