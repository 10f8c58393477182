//! Helpers of the command-line tests: blobs made straight through the API (create,
//! S3 POST form, complete), so that the commands under test have something to show
//! without depending on `cubeblob upload`; and reads of the server's state.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use cubeblob::api::{Blob, Client, ClientConfig, LoginName, SessionCredentials};
use cubeblob::secret::Secret;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::common::{TestServer, APP_ID, AUTH_KEY};

/// A user's own API client, in its own runtime.
pub struct Api {
    pub client: Client,
    rt: tokio::runtime::Runtime,
}

impl Api {
    /// Logs in as `user` (a session of its own, not the CLI's).
    pub fn login(server: &TestServer, user: (&str, &str)) -> Api {
        let creds = SessionCredentials {
            app_id: APP_ID,
            auth_key: Secret::new(AUTH_KEY),
            user: Some((LoginName::Login(user.0.into()), Secret::new(user.1))),
            auth_secret: None,
        };
        let config = ClientConfig {
            base_url: server.url.parse().unwrap(),
            timeout: Duration::from_secs(30),
            retries: 2,
            verbose: false,
        };
        let client = Client::new(config, None, Some(creds)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Api { client, rt }
    }

    /// A complete blob holding `content`.
    pub fn blob(&self, name: &str, content: &[u8], public: bool) -> Blob {
        self.rt
            .block_on(upload(&self.client, name, content.to_vec(), public))
    }

    /// An unfinished blob: created, never uploaded nor completed.
    pub fn incomplete_blob(&self, name: &str) -> Blob {
        self.rt
            .block_on(self.client.create_blob(name, "text/plain", false))
            .unwrap()
    }

    /// `n` small complete blobs named `{prefix}{i:05}`, made 16 at a time; their ids.
    pub fn many(&self, n: usize, prefix: &str) -> Vec<u64> {
        let client = &self.client;
        self.rt.block_on(async {
            let blobs: Vec<Blob> = stream::iter(0..n)
                .map(|i| {
                    let name = format!("{prefix}{i:05}");
                    async move { Ok::<_, ()>(upload(client, &name, vec![b'x'; i % 7], false).await) }
                })
                .buffer_unordered(16)
                .try_collect()
                .await
                .unwrap();
            let mut ids: Vec<u64> = blobs.iter().map(|b| b.id).collect();
            ids.sort_unstable();
            ids
        })
    }

    /// The ids of the user's blobs, every page.
    pub fn ids(&self) -> Vec<u64> {
        let blobs = self
            .rt
            .block_on(cubeblob::api::listing::all_blobs(&self.client))
            .unwrap();
        blobs.iter().map(|b| b.id).collect()
    }

    /// This client's token, once a call has created its session.
    pub fn token(&self) -> String {
        self.rt.block_on(self.client.session()).unwrap();
        self.client.token().unwrap().expose().to_string()
    }

    /// The blob's record as the server has it, or the HTTP status that refused it.
    pub fn get(&self, id: u64) -> Result<Blob, u16> {
        self.rt
            .block_on(self.client.blob(id))
            .map_err(|e| e.status().unwrap_or(0))
    }
}

async fn upload(client: &Client, name: &str, content: Vec<u8>, public: bool) -> Blob {
    let blob = client
        .create_blob(name, "text/plain", public)
        .await
        .unwrap();
    let params = blob
        .blob_object_access
        .as_ref()
        .and_then(|a| a.params.clone())
        .expect("the create answer has an upload form");
    let (target, query) = params.split_once('?').unwrap();
    let mut form = reqwest::multipart::Form::new();
    // The form's fields are the query's pairs, in order, each percent-decoded once.
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        form = form.text(decode(k), decode(v));
    }
    let size = content.len() as u64;
    let part = reqwest::multipart::Part::bytes(content)
        .file_name(name.to_string())
        .mime_str("text/plain")
        .unwrap();
    form = form.part("file", part);
    let resp = client
        .http()
        .post(target)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.text().await.unwrap()
    );
    client.complete_blob(blob.id, size).await.unwrap();
    client.blob(blob.id).await.unwrap()
}

/// The token stored in the config folder's default profile.
pub fn stored_token(config: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config.join("config.toml")).ok()?;
    let value: toml::Value = toml::from_str(&text).unwrap();
    value["profiles"]["default"]
        .get("token")
        .and_then(|t| t.as_str())
        .map(str::to_string)
}

/// The lines of a command's stdout.
pub fn lines(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Each stdout line deserialised as a `T`: the `--json` contract.
pub fn json_lines<T: serde::de::DeserializeOwned>(output: &[u8]) -> Vec<T> {
    lines(output)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Test-only: sets a blob's record fields straight in the local server's database
/// (`DATA/cubeblob.db`, WAL, so the running server sees it at its next read). The
/// service has no call that changes `created_at` or the content type, and the filter
/// tests need blobs made at known times.
pub fn set_record(server: &TestServer, id: u64, created_at: i64, content_type: &str) {
    let db = rusqlite::Connection::open(server.data.join("cubeblob.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = db
        .execute(
            "UPDATE blobs SET created_at = ?1, updated_at = ?1, content_type = ?2 WHERE id = ?3",
            rusqlite::params![created_at, content_type, id as i64],
        )
        .unwrap();
    assert_eq!(changed, 1, "blob {id} is in the database");
}

/// Runs the binary on a pseudo-terminal `cols` wide (util-linux `script`, with `stty`),
/// with `input` typed in; its exit code and everything it showed (stdout and stderr
/// both reach the terminal), with the terminal's `\r\n` made `\n`.
pub fn on_terminal(
    config: &Path,
    api_url: &str,
    cols: u16,
    args: &[&str],
    input: &str,
) -> (i32, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!(
        "stty cols {cols} rows 50 && exec {}",
        quote(crate::common::bin().to_str().unwrap())
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("CUBEBLOB_") || key == "NO_COLOR" {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .env("CUBEBLOB_CONFIG_DIR", config)
        .env("CUBEBLOB_DATA_DIR", config.join("data"))
        .env("CUBEBLOB_API_URL", api_url)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.code().unwrap_or(-1), text)
}
