//! `replace` against a real `cubeblob serve`: new content under the same id and a new
//! uid (larger, smaller, from stdin), the old uid dead, another user's blob refused,
//! an expired form recovered from, and storage failing for good: the blob is left
//! empty, the message says so and how to finish, and that advice works.

mod cli_support;
mod common;
mod faults_support;
mod transfer_util;

use std::path::Path;

use cli_support::{json_lines, Api};
use common::{cubeblob, logged_in, TestServer, ALICE, BOB};
use cubeblob::output::BlobRecord;
use faults_support::{stderr_of, Faulty};
use serde_json::json;
use tempfile::TempDir;
use transfer_util::random_file;

fn replace(config: &Path, url: &str, blob: &str, file: &Path) -> BlobRecord {
    let out = cubeblob(config, url)
        .args(["--json", "replace", blob])
        .arg(file)
        .assert()
        .success();
    json_lines::<BlobRecord>(&out.get_output().stdout).remove(0)
}

fn download(config: &Path, url: &str, blob: &str) -> Vec<u8> {
    let out = cubeblob(config, url)
        .args(["download", blob, "-o", "-"])
        .assert()
        .success();
    out.get_output().stdout.clone()
}

#[test]
fn a_larger_and_a_smaller_file_replace_the_content_under_the_same_id() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let first = api.blob("notes.txt", &[b'a'; 100_000], false);
    let id = first.id.to_string();
    let mut old_uid = first.uid.clone();
    let larger = random_file(dir.path(), "larger.png", 300_000, 1);
    let smaller = random_file(dir.path(), "smaller.bin", 10, 2);

    for file in [&larger, &smaller] {
        let size = std::fs::metadata(file).unwrap().len();
        let record = replace(config.path(), &server.url, &id, file);
        assert_eq!(record.id, first.id);
        assert_ne!(record.uid, old_uid, "a new uid");
        assert_eq!(record.size, Some(size));
        assert_eq!(record.status.as_deref(), Some("complete"));
        // The name and type stay the blob's, not guessed from the new file.
        assert_eq!(record.name, "notes.txt");
        assert_eq!(record.content_type.as_deref(), Some("text/plain"));
        let on_server = api.get(first.id).unwrap();
        assert_eq!(
            (on_server.uid.as_str(), on_server.size),
            (record.uid.as_str(), Some(size))
        );
        assert_eq!(
            download(config.path(), &server.url, &id),
            std::fs::read(file).unwrap()
        );
        assert_eq!(
            download(config.path(), &server.url, &record.uid),
            std::fs::read(file).unwrap()
        );
        // The old uid names nothing now.
        let out = cubeblob(config.path(), &server.url)
            .args(["download", &old_uid, "-o", "-"])
            .assert()
            .code(5);
        assert!(out.get_output().stdout.is_empty());
        assert!(!server.data.join("objects").join(&old_uid).exists());
        old_uid = record.uid;
    }

    // With a new name and type as well.
    let out = cubeblob(config.path(), &server.url)
        .args([
            "--json",
            "replace",
            &id,
            "--name",
            "pic.png",
            "--content-type",
            "image/png",
        ])
        .arg(&larger)
        .assert()
        .success();
    let record = json_lines::<BlobRecord>(&out.get_output().stdout).remove(0);
    assert_eq!(record.name, "pic.png");
    assert_eq!(record.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        download(config.path(), &server.url, &id),
        std::fs::read(&larger).unwrap()
    );
}

#[test]
fn stdin_replaces_the_content() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let blob = api.blob("config.json", b"{\"v\": 1}", false);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "replace", &blob.id.to_string(), "-"])
        .write_stdin("{\"v\": 2, \"more\": true}")
        .assert()
        .success();
    let record = json_lines::<BlobRecord>(&out.get_output().stdout).remove(0);
    assert_eq!((record.id, record.size), (blob.id, Some(22)));
    assert_eq!(record.name, "config.json");
    assert_eq!(
        download(config.path(), &server.url, &blob.id.to_string()),
        b"{\"v\": 2, \"more\": true}"
    );
}

#[test]
fn another_users_blob_is_refused_and_left_as_it_was() {
    let server = TestServer::start();
    let api = Api::login(&server, ALICE);
    let blob = api.blob("alice.txt", b"alice's own", true);
    let bob = logged_in(&server, BOB);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "bob.bin", 1000, 3);
    for target in [blob.id.to_string(), blob.uid.clone()] {
        let out = cubeblob(bob.path(), &server.url)
            .args(["replace", &target])
            .arg(&file)
            .assert()
            .code(4);
        let stderr = stderr_of(&out);
        assert!(stderr.contains("403"), "{stderr}");
        assert!(!stderr.contains("empty"), "nothing was emptied: {stderr}");
    }
    let after = api.get(blob.id).unwrap();
    assert_eq!(
        (after.uid.as_str(), after.size),
        (blob.uid.as_str(), Some(11))
    );
    assert!(after.is_complete());
    let alice = logged_in(&server, ALICE);
    assert_eq!(
        download(alice.path(), &server.url, &blob.uid),
        b"alice's own"
    );
}

/// The first POST is held until its form has expired (a form lives 3 s here): the
/// client asks for new content again and sends with the fresh form.
#[test]
fn an_expired_form_is_replaced_by_asking_again() {
    let f = Faulty::start(
        // `skip`: the first POST is the setup's upload of the old content.
        json!([{"route": "s3_post", "skip": 1, "first": 1, "delay_ms": 4000}]),
        &["--form-ttl", "3"],
    );
    let config = logged_in(&f.server, ALICE);
    let api = Api::login(&f.server, ALICE);
    let blob = api.blob("slow.bin", b"old", false);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "new.bin", 50_000, 4);
    let record = replace(config.path(), f.url(), &blob.id.to_string(), &file);
    assert_eq!((record.id, record.size), (blob.id, Some(50_000)));
    assert_eq!(f.stored(&record.uid), std::fs::read(&file).unwrap());
    let renewals = f.to("rename");
    assert_eq!(renewals.len(), 2, "new=1 asked twice: {renewals:?}");
    assert_eq!(f.to("s3_post").len(), 1 + 2);
}

#[test]
fn storage_failing_every_try_leaves_the_blob_empty_and_says_how_to_finish() {
    // `skip`: the first POST is the setup's upload of the old content.
    let f = Faulty::start(json!([{"route": "s3_post", "skip": 1, "status": 503}]), &[]);
    let config = logged_in(&f.server, ALICE);
    let api = Api::login(&f.server, ALICE);
    let blob = api.blob("report.pdf", b"old report", false);
    let id = blob.id.to_string();
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "report-v2.pdf", 20_000, 5);

    let out = cubeblob(config.path(), f.url())
        .args(["--retries", "1", "replace", &id])
        .arg(&file)
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    for expected in [
        format!("blob {id} (`report.pdf`) is left empty"),
        "503".to_string(),
        format!("hint: run `cubeblob replace {id} {}` again", file.display()),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in {stderr}");
    }
    assert_eq!(f.faulted("s3_post"), 2, "one try and one retry");
    let empty = api.get(blob.id).unwrap();
    assert!(!empty.is_complete(), "the blob is empty until replaced");

    // The advice works once storage is back.
    let f = f.restart(json!([]));
    let record = replace(config.path(), f.url(), &id, &file);
    assert_eq!((record.id, record.size), (blob.id, Some(20_000)));
    assert_eq!(
        download(config.path(), f.url(), &id),
        std::fs::read(&file).unwrap()
    );
}
