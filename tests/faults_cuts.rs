//! The cut-connection rows of the fault table, against the real server with a fault
//! plan: an upload whose connection breaks halfway through its body, once, and a
//! download that breaks halfway on every try, then resumes once the link is fixed.

mod common;
mod faults_support;
mod transfer_util;

use common::{cubeblob, logged_in, ALICE};
use faults_support::{records, stderr_of, Faulty};
use serde_json::json;
use tempfile::TempDir;
use transfer_util::{json_lines, names_in, random_file, same_bytes};

const SIZE: u64 = 2_000_000;
const HALF: u64 = SIZE / 2;

/// Row: the connection cut halfway through the S3 POST body, once → success, and the
/// stored bytes are exact.
#[test]
fn an_upload_cut_halfway_is_sent_again_whole() {
    let f = Faulty::start(
        json!([{"route": "s3_post", "first": 1, "cut_after": HALF}]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "cut.bin", SIZE, 1);

    let out = cubeblob(config.path(), f.url())
        .args(["-v", "--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("sending to storage failed: connection to") && stderr.contains("broke"),
        "the client saw a broken connection, not an answer: {stderr}"
    );
    let blob = json_lines(&out.get_output().stdout)[0].clone();
    assert_eq!(blob["size"], SIZE);
    let posts = f.to("s3_post");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].fault.as_deref(), Some("cut after 1000000 bytes"));
    // One record, complete, holding exactly the file; nothing half-received.
    let on_server = records(config.path(), f.url());
    assert_eq!(on_server.len(), 1);
    assert_eq!(on_server[0]["status"], "complete");
    assert_eq!(
        f.stored(blob["uid"].as_str().unwrap()),
        std::fs::read(&file).unwrap()
    );
    assert!(f.half_received().is_empty());
    assert_eq!(f.to("create").len(), 1);
}

/// Row: the connection cut halfway through a download, every try → exit 3 and no
/// file at the target; with `--continue` the bytes that came are kept, and a later
/// run, once the link is fixed, finishes byte-exact from where they end.
#[test]
fn a_download_cut_every_try_fails_clean_and_resumes_later() {
    let f = Faulty::start(json!([{"route": "s3_get", "cut_after": HALF}]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "big.bin", SIZE, 2);
    let up = cubeblob(config.path(), f.url())
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let id = json_lines(&up.get_output().stdout)[0]["id"].to_string();
    let target = dir.path().join("down");
    std::fs::create_dir(&target).unwrap();
    let download = |url: &str, extra: &[&str]| {
        let mut cmd = cubeblob(config.path(), url);
        cmd.args(["--retries", "2", "download"])
            .args(extra)
            .args([&id, "-o"])
            .arg(&target);
        cmd
    };

    let out = download(f.url(), &["-v"]).assert().code(3);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("downloading from storage failed") && stderr.contains("broke"),
        "{stderr}"
    );
    // The storage address came from the API's redirect: `--api-url` is no fix.
    assert!(
        stderr.contains("hint: check the network and that the storage host"),
        "{stderr}"
    );
    assert!(!stderr.contains("--api-url"), "{stderr}");
    // The broken GETs are logged and reported without the presigned signature.
    for (at, _) in stderr.match_indices("X-Amz-Signature=") {
        assert!(
            stderr[at..].starts_with("X-Amz-Signature=%3Credacted%3E"),
            "{stderr}"
        );
    }
    assert!(names_in(&target).is_empty(), "{:?}", names_in(&target));
    let tries = f.to("s3_get");
    assert!(tries.len() >= 3, "{tries:?}");
    assert!(tries.iter().all(|t| t.fault.is_some()));

    // With --continue, a failed run keeps exactly the bytes before the break.
    download(f.url(), &["--continue"]).assert().code(3);
    let part = target.join("big.bin.part");
    assert_eq!(names_in(&target), ["big.bin.part"]);
    assert_eq!(std::fs::metadata(&part).unwrap().len(), HALF);

    let f = f.restart(json!([]));
    download(f.url(), &["--continue"]).assert().success();
    assert_eq!(names_in(&target), ["big.bin"]);
    assert!(same_bytes(&file, &target.join("big.bin")));
    let gets = f.to("s3_get");
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(gets[0].header("range"), Some("bytes=1000000-"));
}
