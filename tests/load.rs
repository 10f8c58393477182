//! Load, bounded in time: 200 concurrent uploads into one server, all byte-exact;
//! `upload -j 32` of 2,000 small files with nothing lost; `list --all` over 10,000
//! blobs. Each prints its figures on stderr (`cargo test --test load -- --nocapture`).

mod common;
mod transfer_util;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{cubeblob, logged_in, TestServer, ALICE};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use transfer_util::{json_lines, random_file};

/// One load test at a time, so that each one's figures are its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Generous bounds for a debug build on two cores: a regression by an order of
/// magnitude fails, an ordinary slow machine does not.
const BOUND: Duration = Duration::from_secs(60);

fn report(what: &str, files: usize, took: Duration) {
    eprintln!(
        "load: {what}: {files} in {:.2}s, {:.0} per second",
        took.as_secs_f64(),
        files as f64 / took.as_secs_f64()
    );
}

/// Uploads `files` with `jobs` at once; checks every one arrived whole, once.
fn upload_all(server: &TestServer, files: &[PathBuf], jobs: usize) -> Duration {
    let config = logged_in(server, ALICE);
    let started = Instant::now();
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload", "-j", &jobs.to_string()])
        .args(files)
        .assert()
        .success();
    let took = started.elapsed();
    let uploaded = json_lines(&out.get_output().stdout);
    assert_eq!(uploaded.len(), files.len());
    let ids: BTreeSet<u64> = uploaded.iter().map(|b| b["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), files.len(), "every file its own record");
    for blob in &uploaded {
        let local = std::fs::read(blob["file"].as_str().unwrap()).unwrap();
        let stored = server
            .data
            .join("objects")
            .join(blob["uid"].as_str().unwrap());
        assert!(std::fs::read(stored).unwrap() == local, "{blob}");
    }
    let listed = cubeblob(config.path(), &server.url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    let listed = json_lines(&listed.get_output().stdout);
    assert_eq!(listed.len(), files.len(), "no extra record");
    assert!(listed.iter().all(|b| b["status"] == "complete"));
    took
}

#[test]
fn two_hundred_concurrent_uploads_are_byte_exact() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = TestServer::start();
    let dir = TempDir::new().unwrap();
    // 1 KB to 200 KB, about 20 MB in all.
    let files: Vec<PathBuf> = (0..200u64)
        .map(|i| random_file(dir.path(), &format!("c{i:03}.bin"), 1_000 + i * 1_000, i))
        .collect();
    let took = upload_all(&server, &files, 200);
    report("200 concurrent uploads (20 MB)", 200, took);
    assert!(took < BOUND, "{took:?}");
}

#[test]
fn two_thousand_small_files_with_32_jobs_lose_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = TestServer::start();
    let dir = TempDir::new().unwrap();
    let files: Vec<PathBuf> = (0..2_000u64)
        .map(|i| random_file(dir.path(), &format!("s{i:04}.txt"), 1 + i % 1_500, i))
        .collect();
    let took = upload_all(&server, &files, 32);
    report("upload -j 32 of small files", 2_000, took);
    assert!(took < BOUND, "{took:?}");
}

#[test]
fn list_all_over_ten_thousand_blobs() {
    const BLOBS: usize = 10_000;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let started = Instant::now();
    create_records(&server.url, BLOBS);
    report(
        "blob records created through the API, 32 at a time",
        BLOBS,
        started.elapsed(),
    );

    let started = Instant::now();
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    let took = started.elapsed();
    report("list --all", BLOBS, took);
    let ids: Vec<u64> = json_lines(&out.get_output().stdout)
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=BLOBS as u64).collect::<Vec<_>>(),
        "each once, in order"
    );
    assert!(took < BOUND, "{took:?}");
}

/// `n` blob records (created, never uploaded: a listing is all they are for).
fn create_records(url: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let session: Value = http
            .post(format!("{url}/session"))
            .json(&json!({"application_id": 1, "auth_key": "local-auth-key",
                          "user": {"login": ALICE.0, "password": ALICE.1}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["session"]["token"].as_str().unwrap().to_string();
        let statuses: Vec<u16> = futures_util::stream::iter(0..n)
            .map(|i| {
                let request = http
                    .post(format!("{url}/blobs"))
                    .header("CB-Token", &token)
                    .json(&json!({"blob": {"name": format!("r{i:05}.txt"),
                                           "content_type": "text/plain", "public": false}}));
                async move { request.send().await.unwrap().status().as_u16() }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        assert!(statuses.iter().all(|&s| s == 201));
    });
}
