//! The session and form rows of the fault table, against the real server with a
//! fault plan: a session that ends in the middle of a batch, with and without the
//! credentials to make a new one; an upload form that expired; and Ctrl-C.

mod common;
mod faults_support;
mod transfer_util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{bin, cubeblob, interrupted, logged_in, ALICE};
use faults_support::{alice_credentials, records, stderr_of, stdout_of, Faulty};
use serde_json::json;
use tempfile::TempDir;
use transfer_util::{json_lines, random_file};

const BATCH: usize = 20;

/// The 11th create ends the session it was sent with and is refused with the
/// contract's 401: the token is gone for every request after it, as when a session
/// expires or is destroyed elsewhere.
fn session_ends_mid_batch() -> Faulty {
    Faulty::start(
        json!([{"route": "create", "skip": 10, "first": 1, "status": 401, "end_session": true}]),
        &[],
    )
}

fn batch(dir: &Path) -> Vec<PathBuf> {
    (0..BATCH)
        .map(|i| random_file(dir, &format!("f{i:02}.bin"), 20_000 + i as u64, i as u64))
        .collect()
}

/// Row: 401 "Required session does not exist" in the middle of a 20-file batch, with
/// credentials in the environment → the session is re-created once and all 20 succeed.
#[test]
fn a_session_lost_mid_batch_is_renewed_once_from_the_environment() {
    let f = session_ends_mid_batch();
    let config = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let files = batch(dir.path());

    let out = alice_credentials(&mut cubeblob(config.path(), f.url()))
        .args(["--json", "upload"])
        .args(&files)
        .assert()
        .success();
    let uploaded = json_lines(&out.get_output().stdout);
    assert_eq!(uploaded.len(), BATCH);

    assert_eq!(f.faulted("create"), 1);
    // The refused create is sent again with the new token, and so is any create that
    // was on its way with the old one (at most the three other jobs of `-j 4`).
    let creates = f.to("create").len();
    assert!(
        (BATCH + 1..=BATCH + 4).contains(&creates),
        "{creates} creates"
    );
    let sessions = f.to("session");
    assert_eq!(
        sessions.len(),
        2,
        "the first session and one renewal: {sessions:?}"
    );
    let on_server = alice_credentials(&mut cubeblob(config.path(), f.url()))
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    let on_server = json_lines(&on_server.get_output().stdout);
    assert_eq!(on_server.len(), BATCH, "no orphan record");
    assert!(on_server.iter().all(|b| b["status"] == "complete"));
    for blob in &uploaded {
        let file = dir.path().join(blob["name"].as_str().unwrap());
        assert_eq!(
            f.stored(blob["uid"].as_str().unwrap()),
            std::fs::read(file).unwrap()
        );
    }
    assert!(f.half_received().is_empty());
}

/// Row: the same without credentials → exit 4 with the `cubeblob login` hint; the
/// files not yet sent are reported as not sent, and none of them reached the server.
#[test]
fn a_session_lost_mid_batch_without_credentials_stops_the_batch() {
    let f = session_ends_mid_batch();
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let files = batch(dir.path());

    let out = cubeblob(config.path(), f.url())
        .args(["--json", "upload"])
        .args(&files)
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    let uploaded = json_lines(&out.get_output().stdout);
    // The first ten creates passed; up to three of those uploads were still in
    // flight (`-j 4`) when the session ended.
    assert!(uploaded.len() >= 7, "{}", stdout_of(&out));
    assert!(stderr.contains("hint: run `cubeblob login`"), "{stderr}");
    assert!(
        stderr.contains("the session ended during the batch and could not be renewed"),
        "{stderr}"
    );

    // Each file is accounted for once: uploaded, failed, or not sent. The files not
    // sent are exactly those the server never heard of.
    let not_sent: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("not sent: the session ended before its turn"))
        .collect();
    let creates = f.to("create").len();
    assert!(creates < BATCH, "the batch stopped: {creates} creates");
    assert_eq!(not_sent.len(), BATCH - creates, "{stderr}");
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let mentions = uploaded.iter().filter(|b| b["name"] == name).count()
            + stderr
                .lines()
                .filter(|l| l.contains(&format!("upload `{}`", file.display())))
                .count();
        assert_eq!(mentions, 1, "{name}: {stderr}");
    }

    // What the server holds: the uploaded files, complete; any other record is one
    // an upload in flight made and could not delete without a session, and says so.
    let fresh = logged_in(&f.server, ALICE);
    for record in records(fresh.path(), f.url()) {
        if uploaded.iter().any(|b| b["id"] == record["id"]) {
            assert_eq!(record["status"], "complete");
        } else {
            let id = &record["id"];
            assert!(
                stderr.contains(&format!(
                    "the blob record {id} it made could not be deleted"
                )),
                "record {id} is not accounted for: {stderr}"
            );
        }
    }
}

/// Row: 403 "Policy expired" on the S3 POST → a fresh blob record, success, and the
/// stale record deleted.
#[test]
fn an_expired_form_gets_a_fresh_record_and_the_stale_one_goes() {
    let f = Faulty::start(
        json!([{"route": "s3_post", "first": 1, "status": 403}]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "late.bin", 70_000, 7);

    let out = cubeblob(config.path(), f.url())
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let blob = json_lines(&out.get_output().stdout)[0].clone();
    assert_eq!(blob["id"], 2, "the second record, made for a fresh form");
    assert_eq!(f.to("create").len(), 2);
    let deleted = f.to("delete");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].uri, "/blobs/1");
    let on_server = records(config.path(), f.url());
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert_eq!(on_server[0]["id"], 2);
    assert_eq!(
        f.stored(blob["uid"].as_str().unwrap()),
        std::fs::read(&file).unwrap()
    );
    cubeblob(config.path(), f.url())
        .args(["info", "1"])
        .assert()
        .code(5);
}

/// Row: SIGINT during a 5-file upload with `-j 2` → exit 130, and no blob record is
/// left for the files that did not finish.
#[test]
fn sigint_mid_batch_keeps_the_finished_files_and_nothing_else() {
    // Two files go up; the next two hang in their S3 POST until the interrupt.
    let f = Faulty::start(
        json!([{"route": "s3_post", "skip": 2, "delay_ms": 30_000}]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let files: Vec<PathBuf> = (0..5)
        .map(|i| random_file(dir.path(), &format!("s{i}.bin"), 30_000, 10 + i))
        .collect();

    let child = Command::new(bin())
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", f.url())
        .env_remove("CUBEBLOB_TOKEN")
        .args(["--progress", "none", "--json", "upload", "-j", "2"])
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    f.wait_for("s3_post", 4);
    let (out, stderr) = interrupted(child);
    assert!(stderr.contains("interrupted"), "{stderr}");

    let finished = json_lines(&out.stdout);
    assert_eq!(finished.len(), 2, "{stderr}");
    assert_eq!(f.to("create").len(), 4, "the fifth file was never started");
    assert_eq!(
        f.to("delete").len(),
        2,
        "both unfinished records were deleted"
    );
    let mut kept: Vec<_> = records(config.path(), f.url())
        .iter()
        .map(|b| b["id"].clone())
        .collect();
    let mut expected: Vec<_> = finished.iter().map(|b| b["id"].clone()).collect();
    kept.sort_by_key(|v| v.as_u64());
    expected.sort_by_key(|v| v.as_u64());
    assert_eq!(kept, expected);
}
