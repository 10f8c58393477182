//! Several `cubeblob serve` instances on one PostgreSQL database and one S3 store
//! (issue 15): a session made on one works on the other, records written through one
//! are read, changed and deleted through the other, concurrent uploads over both get
//! ids that are never reused; and an instance whose database goes away answers 503,
//! then recovers when it is back, without a restart.
//!
//! The database comes from `CUBEBLOB_TEST_DATABASE_URL` (`.ci/postgres.sh`), the store
//! from `CUBEBLOB_TEST_S3_*` (`.ci/seaweedfs.sh`). Without them these tests say they
//! were skipped; with `CUBEBLOB_REQUIRE_POSTGRES` (CI) they fail instead.
//! Not named `server_*`: that run passes `--database` to every `TestServer` itself.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use std::collections::HashSet;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::{create_database, ExternalS3, TestServer, ALICE};
use helpers::{content, download, http, json_of, login, upload};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A fresh database on the test cluster, or `None` (said aloud) when there is none.
fn fresh_database(test: &str) -> Option<String> {
    let base = std::env::var("CUBEBLOB_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let Some(base) = base else {
        assert!(
            std::env::var_os("CUBEBLOB_REQUIRE_POSTGRES").is_none(),
            "{test}: CUBEBLOB_REQUIRE_POSTGRES is set but CUBEBLOB_TEST_DATABASE_URL is not \
             (start the cluster with `.ci/postgres.sh`)"
        );
        let line = format!(
            "{test}: skipped: CUBEBLOB_TEST_DATABASE_URL not set \
             (run `eval \"$(.ci/postgres.sh start)\"` first)\n"
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        return None;
    };
    let name = format!("cb_inst_{}", hex::encode(rand::random::<[u8; 6]>()));
    Some(create_database(&base, &name))
}

/// Two instances on one database and one store, each with a data folder of its own.
fn two_instances(test: &str) -> Option<(TestServer, TestServer)> {
    let database = fresh_database(test)?;
    let s3 = ExternalS3::from_env(test)?;
    let extra = ["--database", database.as_str()];
    Some((
        TestServer::start_on(&s3, &extra),
        TestServer::start_on(&s3, &extra),
    ))
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> (StatusCode, Value) {
    json_of(
        http.get(url)
            .header("CB-Token", token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn what_one_instance_writes_the_other_reads_changes_and_deletes() {
    let test = "what_one_instance_writes_the_other_reads_changes_and_deletes";
    let Some((a, b)) = two_instances(test) else {
        return;
    };
    let http = http();
    let token = login(&http, &a.url, ALICE).await;
    for server in [&a, &b] {
        let file = server.data.join("cubeblob.db");
        assert!(
            !file.exists(),
            "an SQLite file in a PostgreSQL server's data folder"
        );
    }
    let bytes = content(7, 100_000);
    let blob = upload(&http, &a.url, &token, "made-on-a.bin", &bytes, false).await;
    let (id, uid) = (blob["id"].as_u64().unwrap(), blob["uid"].as_str().unwrap());

    // The session of A, and the record, seen through B.
    let (status, session) = get_json(&http, &format!("{}/session", b.url), &token).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["session"]["user"]["login"], ALICE.0);
    let (status, info) = get_json(&http, &format!("{}/blobs/{id}", b.url), &token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["blob"]["uid"], uid);
    assert_eq!(info["blob"]["size"], bytes.len());
    let (status, list) = get_json(&http, &format!("{}/blobs", b.url), &token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total_entries"], 1, "{list}");
    assert_eq!(list["items"][0]["blob"]["id"], id, "{list}");
    let got = download(
        &http,
        &format!("{}/blobs/{uid}/download?token={token}", b.url),
    )
    .await;
    assert!(got == bytes, "the download through B differs");

    // Renamed through B: A sees the new name at once.
    let (status, renamed) = json_of(
        http.put(format!("{}/blobs/{id}", b.url))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"name": "renamed-on-b.bin"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (_, info) = get_json(&http, &format!("{}/blobs/{id}", a.url), &token).await;
    assert_eq!(info["blob"]["name"], "renamed-on-b.bin");

    // Deleted through B: gone on A too.
    let response = http
        .delete(format!("{}/blobs/{id}", b.url))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for server in [&a, &b] {
        let (status, _) = get_json(&http, &format!("{}/blobs/{id}", server.url), &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", server.url);
    }

    // Logged out on B: the token is dead on A.
    let response = http
        .delete(format!("{}/session", b.url))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = get_json(&http, &format!("{}/blobs", a.url), &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_uploads_over_both_are_byte_exact_and_never_share_an_id() {
    let test = "concurrent_uploads_over_both_are_byte_exact_and_never_share_an_id";
    let Some((a, b)) = two_instances(test) else {
        return;
    };
    const COUNT: usize = 200;
    let http = http();
    let token = login(&http, &b.url, ALICE).await;
    let urls = [a.url.clone(), b.url.clone()];
    let uploads = (0..COUNT).map(|i| {
        let (http, token, url) = (http.clone(), token.clone(), urls[i % 2].clone());
        tokio::spawn(async move {
            let bytes = content(i as u8, 1000 + i * 37);
            let name = format!("file-{i}.bin");
            let blob = upload(&http, &url, &token, &name, &bytes, false).await;
            (i, blob)
        })
    });
    let mut blobs = Vec::new();
    for task in futures_util::future::join_all(uploads).await {
        blobs.push(task.unwrap());
    }
    let ids: HashSet<u64> = blobs
        .iter()
        .map(|(_, b)| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), COUNT, "an id was handed out twice");

    // Each through the other instance than the one it was uploaded through.
    for (i, blob) in &blobs {
        let uid = blob["uid"].as_str().unwrap();
        let other = &urls[(i + 1) % 2];
        let got = download(
            &http,
            &format!("{other}/blobs/{uid}/download?token={token}"),
        )
        .await;
        assert!(got == content(*i as u8, 1000 + i * 37), "file-{i} differs");
    }
    // Both list all of them, in the same (id) order.
    let mut lists = Vec::new();
    for url in &urls {
        let page = format!("{url}/blobs?per_page=100&page=");
        let mut listed = Vec::new();
        for n in 1..=2 {
            let (status, list) = get_json(&http, &format!("{page}{n}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            assert_eq!(list["total_entries"], COUNT);
            let items = list["items"].as_array().unwrap();
            listed.extend(
                items
                    .iter()
                    .map(|item| item["blob"]["id"].as_u64().unwrap()),
            );
        }
        lists.push(listed);
    }
    assert_eq!(lists[0], lists[1]);
    assert!(lists[0].windows(2).all(|w| w[0] < w[1]), "{:?}", lists[0]);
    assert_eq!(lists[0].iter().copied().collect::<HashSet<_>>(), ids);
}

/// A cluster of its own, so that stopping it touches no other test: initdb in `dir`,
/// started on `port` as the cluster user of `.ci/postgres.sh`.
struct PrivateCluster {
    bin: String,
    user: String,
    data: String,
    port: u16,
}

impl PrivateCluster {
    fn create(dir: &Path) -> Option<PrivateCluster> {
        let bin = std::env::var("CUBEBLOB_TEST_POSTGRES_BIN").ok()?;
        let user = std::env::var("CUBEBLOB_TEST_POSTGRES_USER").unwrap_or("postgres".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PrivateCluster {
            bin,
            user,
            data: dir.join("data").to_str().unwrap().to_string(),
            port,
        };
        let owner = Command::new("chown")
            .args([&cluster.user, dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(owner.success());
        cluster.run(
            "initdb",
            &["-D", &cluster.data, "-U", "cubeblob", "--auth=trust"],
        );
        cluster.start();
        Some(cluster)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = format!("{}/{tool}", self.bin);
        let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", &self.user, "--", &program]);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off",
            self.port, self.data
        );
        let log = format!("{}/../postgres.log", self.data);
        let args = ["-D", &self.data, "-l", &log, "-w", "-o", &options, "start"];
        self.run("pg_ctl", &args);
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data, "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://cubeblob@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let program = format!("{}/pg_ctl", self.bin);
        let _ = Command::new("runuser")
            .args(["-u", &self.user, "--", &program, "-D", &self.data])
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test]
async fn a_lost_database_is_a_503_until_it_is_back() {
    let test = "a_lost_database_is_a_503_until_it_is_back";
    if fresh_database(test).is_none() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let cluster = PrivateCluster::create(dir.path())
        .expect("CUBEBLOB_TEST_POSTGRES_BIN (from .ci/postgres.sh) names the binaries");
    let server = TestServer::start_with(&["--database", &cluster.url()]);
    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let blob = upload(&http, &server.url, &token, "kept.txt", b"kept", false).await;
    let info_url = format!("{}/blobs/{}", server.url, blob["id"]);

    cluster.stop();
    let (status, body) = get_json(&http, &info_url, &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["errors"]["base"][0].as_str().unwrap_or_default();
    assert!(message.contains("database"), "{body}");
    let response = http
        .post(format!("{}/session", server.url))
        .json(&json!({"application_id": 1, "auth_key": "local-auth-key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Back on the same port: the same server, the same token, the same record.
    cluster.start();
    let (status, body) = get_json(&http, &info_url, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["blob"]["name"], "kept.txt");
}
