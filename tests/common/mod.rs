//! Shared by the integration tests: a real `cubeblob serve` on a loopback port with its
//! own data folder, and the built binary run with its own config folder.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};

use tempfile::TempDir;

/// The users every test server accepts.
pub const ALICE: (&str, &str) = ("alice", "alice-password");
pub const BOB: (&str, &str) = ("bob", "bob-password");
pub const APP_ID: u64 = 1;
pub const AUTH_KEY: &str = "local-auth-key";
pub const AUTH_SECRET: &str = "local-auth-secret";

/// A `cubeblob serve` child process; killed when dropped.
pub struct TestServer {
    child: Child,
    /// The API base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The data folder (database and files).
    pub data: PathBuf,
    _dir: Option<TempDir>,
}

impl TestServer {
    /// A server with alice and bob, default settings.
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// A server with alice and bob and extra `serve` options (`--token-ttl 2`, ...).
    pub fn start_with(extra: &[&str]) -> TestServer {
        let dir = TempDir::new().unwrap();
        let data = dir.path().join("data");
        let mut server = Self::start_in(&data, extra);
        server._dir = Some(dir);
        server
    }

    /// A server on a data folder the caller keeps (to restart on the same data).
    pub fn start_in(data: &Path, extra: &[&str]) -> TestServer {
        let alice = format!("{}:{}", ALICE.0, ALICE.1);
        let bob = format!("{}:{}", BOB.0, BOB.1);
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--user",
            &alice,
            "--user",
            &bob,
        ];
        args.extend_from_slice(extra);
        // The second run of the server tests in CI: each data folder gets a database
        // of its own on the PostgreSQL cluster (the same one again on a restart).
        let database = serve_database(data);
        if let Some(url) = &database {
            args.extend(["--database", url]);
        }
        let mut child = StdCommand::new(bin())
            .args(&args)
            .env_remove("CUBEBLOB_API_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cubeblob serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the start line");
        let url = start_line_field(&line, "url")
            .unwrap_or_else(|| panic!("no url= in the start line: {line:?}"));
        TestServer {
            child,
            url,
            data: data.to_path_buf(),
            _dir: None,
        }
    }

    /// Stops the server (as SIGKILL would); the data folder stays.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `CUBEBLOB_TEST_SERVE_DATABASE`, a `postgres://` URL of a cluster, makes every
/// `TestServer` run on PostgreSQL: a database named after its data folder, made if
/// missing. Unset, the servers run on SQLite in their data folder.
pub fn serve_database(data: &Path) -> Option<String> {
    let base = std::env::var("CUBEBLOB_TEST_SERVE_DATABASE")
        .ok()
        .filter(|url| !url.is_empty())?;
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    let name = format!("cb_test_{:016x}", hasher.finish());
    Some(create_database(&base, &name))
}

/// Makes database `name` on the cluster of `base` (a `postgres://` URL) unless it is
/// there; the URL of the new database.
pub fn create_database(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).expect("a postgres:// URL");
    let (base, name_owned) = (base.to_string(), name.to_string());
    // On a thread of its own: the caller may be inside a tokio test's runtime.
    std::thread::spawn(move || create_database_blocking(&base, &name_owned))
        .join()
        .expect("create the test database");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn create_database_blocking(base: &str, name: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        let connection = tokio::spawn(connection);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .unwrap()
            .is_some();
        if !exists {
            // Two servers on one folder may race to make it: the loser's error is fine.
            let _ = client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await;
        }
        drop(client);
        let _ = connection.await;
    });
}

/// A value from the `key=value` start line of `cubeblob serve`.
pub fn start_line_field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

/// Ctrl-C for a running `cubeblob`: SIGINT, then its output once it has exited, which
/// must be with 130. Returns the output and its stderr as text.
pub fn interrupted(child: Child) -> (std::process::Output, String) {
    let killed = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    (out, stderr)
}

/// Bytes that look random (xorshift from `seed`): no two seeds, and no two stretches
/// of one, share content, so a byte out of place shows in a comparison or an MD5.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cubeblob"))
}

/// The binary with a private config folder and no `CUBEBLOB_*` from the caller's
/// environment, pointed at `api_url`.
pub fn cubeblob(config: &Path, api_url: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin());
    for (key, _) in std::env::vars() {
        if key.starts_with("CUBEBLOB_") || key == "NO_COLOR" {
            cmd.env_remove(key);
        }
    }
    cmd.env("CUBEBLOB_CONFIG_DIR", config)
        .env("CUBEBLOB_DATA_DIR", config.join("data"))
        .env("CUBEBLOB_API_URL", api_url)
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// A config folder logged in as `user` on `server`.
pub fn logged_in(server: &TestServer, user: (&str, &str)) -> TempDir {
    let config = TempDir::new().unwrap();
    cubeblob(config.path(), &server.url)
        .args([
            "login",
            "--app-id",
            &APP_ID.to_string(),
            "--auth-key",
            AUTH_KEY,
            "--login",
            user.0,
            "--password-stdin",
        ])
        .write_stdin(format!("{}\n", user.1))
        .assert()
        .success();
    config
}

/// An external S3 store to run the server on: `CUBEBLOB_TEST_S3_ENDPOINT`, `_BUCKET`,
/// `_ACCESS_KEY` and `_SECRET_KEY`, as `.ci/seaweedfs.sh` exports them.
#[derive(Debug, Clone)]
pub struct ExternalS3 {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

impl ExternalS3 {
    /// The store from the environment. Without it a test cannot run: it says so loudly
    /// and gets `None`, or fails when `CUBEBLOB_REQUIRE_S3` is set (as in CI), so that
    /// a store that went missing there never passes as a skip.
    pub fn from_env(test: &str) -> Option<ExternalS3> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let store = var("CUBEBLOB_TEST_S3_ENDPOINT").map(|endpoint| ExternalS3 {
            endpoint,
            bucket: var("CUBEBLOB_TEST_S3_BUCKET").unwrap_or_else(|| "uploads".into()),
            access_key: var("CUBEBLOB_TEST_S3_ACCESS_KEY").unwrap_or_default(),
            secret_key: var("CUBEBLOB_TEST_S3_SECRET_KEY").unwrap_or_default(),
        });
        if store.is_none() {
            assert!(
                var("CUBEBLOB_REQUIRE_S3").is_none(),
                "{test}: CUBEBLOB_REQUIRE_S3 is set but CUBEBLOB_TEST_S3_ENDPOINT is not \
                 (start the store with `.ci/seaweedfs.sh`)"
            );
            // Straight to the stream: the test harness captures `eprintln!` of tests
            // that pass, and a skip must be seen.
            // In one write, so that tests running at once do not mix their lines.
            let line = format!(
                "{test}: skipped: CUBEBLOB_TEST_S3_ENDPOINT not set \
                 (run `eval \"$(.ci/seaweedfs.sh start)\"` first)\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        store
    }

    /// The `serve` options that put file contents in this store.
    pub fn serve_args(&self) -> Vec<String> {
        [
            ("--s3-endpoint", &self.endpoint),
            ("--s3-bucket", &self.bucket),
            ("--s3-access-key", &self.access_key),
            ("--s3-secret-key", &self.secret_key),
        ]
        .iter()
        .flat_map(|(option, value)| [option.to_string(), value.to_string()])
        .collect()
    }

    /// `{endpoint}/{bucket}`: where its objects' URLs start.
    pub fn bucket_url(&self) -> String {
        format!("{}/{}", self.endpoint.trim_end_matches('/'), self.bucket)
    }
}

impl TestServer {
    /// A server with alice and bob whose file contents live in `store`, with extra
    /// `serve` options.
    pub fn start_on(store: &ExternalS3, extra: &[&str]) -> TestServer {
        let mut args = store.serve_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start_with(&args)
    }
}
