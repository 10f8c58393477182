//! The transfer engine against a fake API and a fake S3 host on a second loopback
//! port that records every request: the form as the contract wants it, no token ever
//! sent to storage, retries, fresh forms for expired ones, rollback, and resume after
//! a connection cut halfway.

mod common;
mod transfer_fake;

use std::path::Path;

use common::cubeblob;
use tempfile::TempDir;
use transfer_fake::{FakeCube, PostFault};

const TOKEN: &str = "fake-token-0123456789";

fn cmd(fake: &FakeCube, config: &Path) -> assert_cmd::Command {
    let mut cmd = cubeblob(config, &fake.api_url);
    cmd.env("CUBEBLOB_TOKEN", TOKEN);
    cmd
}

fn data(len: usize) -> Vec<u8> {
    common::noise(len, 1)
}

fn no_credentials_in(seen: &transfer_fake::Seen) {
    for (name, value) in &seen.headers {
        assert!(
            !name.eq_ignore_ascii_case("cb-token"),
            "CB-Token sent to storage: {seen:?}"
        );
        assert!(!name.eq_ignore_ascii_case("authorization"), "{seen:?}");
        assert!(!name.eq_ignore_ascii_case("cookie"), "{seen:?}");
        assert!(
            !value.contains(TOKEN),
            "the token in header {name}: {seen:?}"
        );
    }
    assert!(
        !seen.uri.contains(TOKEN) && !seen.uri.contains("token="),
        "{seen:?}"
    );
}

#[test]
fn the_form_goes_in_order_with_an_exact_length_and_no_token() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("photo.svg");
    let bytes = data(700_000);
    std::fs::write(&file, &bytes).unwrap();

    cmd(&fake, dir.path())
        .args(["--json", "upload", "--public"])
        .arg(&file)
        .assert()
        .success();

    let posts = fake.seen("storage");
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.fields,
        [
            "Content-Type",
            "key",
            "policy",
            "success_action_status",
            "x-amz-signature",
            "file"
        ]
    );
    let length: usize = post
        .header("content-length")
        .expect("a Content-Length")
        .parse()
        .unwrap();
    assert_eq!(length, post.body_len);
    assert_eq!(post.header("transfer-encoding"), None, "not chunked");
    no_credentials_in(post);

    let blobs = fake.blobs();
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].complete);
    assert!(blobs[0].public);
    assert_eq!(blobs[0].content_type, "image/svg+xml");
    assert_eq!(blobs[0].data.as_deref(), Some(&bytes[..]));
    // The API calls did carry the token.
    assert!(fake
        .seen("api")
        .iter()
        .all(|s| s.header("cb-token") == Some(TOKEN)));
}

#[test]
fn the_download_follows_the_redirect_without_the_token() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let bytes = data(300_000);
    let blob = fake.put_blob("a.bin", &bytes);
    let target = dir.path().join("out.bin");

    let out = cmd(&fake, dir.path())
        .args(["-v", "download", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(std::fs::read(&target).unwrap(), bytes);

    let gets = fake.seen("storage");
    assert_eq!(gets.len(), 1);
    no_credentials_in(&gets[0]);
    let redirect = fake
        .seen("api")
        .into_iter()
        .find(|s| s.uri.ends_with("/download"))
        .unwrap();
    assert_eq!(redirect.header("cb-token"), Some(TOKEN));
    // The -v log shows the storage request, its signature redacted.
    let log = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        log.contains(&format!("> GET {}/bucket/", fake.storage_url)),
        "{log}"
    );
    assert!(!log.contains(TOKEN) && !log.contains("=sig"), "{log}");
}

#[test]
fn storage_trouble_is_retried() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, data(100_000)).unwrap();
    fake.state.post_faults.lock().unwrap().extend([
        PostFault::Status(503, "SlowDown".into()),
        PostFault::Status(500, "InternalError".into()),
    ]);

    cmd(&fake, dir.path())
        .args(["upload"])
        .arg(&file)
        .assert()
        .success();

    assert_eq!(fake.seen("storage").len(), 3);
    let blobs = fake.blobs();
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].complete);
}

#[test]
fn an_expired_form_gets_a_fresh_record() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, data(10_000)).unwrap();
    fake.state
        .post_faults
        .lock()
        .unwrap()
        .push_back(PostFault::PolicyExpired);

    cmd(&fake, dir.path())
        .args(["upload"])
        .arg(&file)
        .assert()
        .success();

    let api = fake.seen("api");
    let creates = api.iter().filter(|s| s.method == "POST").count();
    let deletes = api.iter().filter(|s| s.method == "DELETE").count();
    assert_eq!((creates, deletes), (2, 1));
    let blobs = fake.blobs();
    assert_eq!(blobs.len(), 1, "the stale record is gone");
    assert!(blobs[0].complete);
}

#[test]
fn a_refused_upload_leaves_no_record_and_says_which_step_failed() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, data(10_000)).unwrap();
    fake.state
        .post_faults
        .lock()
        .unwrap()
        .push_back(PostFault::Status(403, "SignatureDoesNotMatch".into()));

    let out = cmd(&fake, dir.path())
        .args(["upload"])
        .arg(&file)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("sending to storage failed: 403 SignatureDoesNotMatch"),
        "{stderr}"
    );
    assert!(stderr.contains("a.bin"), "{stderr}");
    assert!(fake.blobs().is_empty(), "the record was deleted");
    assert_eq!(fake.seen("storage").len(), 1, "a 403 is not retried");
}

#[test]
fn a_cut_connection_is_resumed_with_range() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let bytes = data(2_000_000);
    let blob = fake.put_blob("big.bin", &bytes);
    fake.state.cuts.lock().unwrap().push_back(1_000_000);
    let target = dir.path().join("big.bin");

    cmd(&fake, dir.path())
        .args(["download", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .success();

    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert!(!dir.path().join("big.bin.part").exists());
    let gets = fake.seen("storage");
    assert_eq!(gets.len(), 2);
    let range = gets[1]
        .header("range")
        .expect("the second GET asks for the rest");
    let from: u64 = range
        .strip_prefix("bytes=")
        .unwrap()
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0 && from <= 1_000_000, "{range}");
}

#[test]
fn continue_resumes_the_part_a_failed_run_kept() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let bytes = data(1_500_000);
    let blob = fake.put_blob("big.bin", &bytes);
    let id = blob.id.to_string();
    let target = dir.path().join("big.bin");
    let part = dir.path().join("big.bin.part");

    // Without --continue, a download that fails for good removes its part file.
    fake.state.cuts.lock().unwrap().push_back(700_000);
    cmd(&fake, dir.path())
        .args(["--retries", "0", "download", &id, "-o"])
        .arg(&target)
        .assert()
        .code(3);
    assert!(!part.exists() && !target.exists());

    // With --continue it keeps what arrived...
    fake.state.cuts.lock().unwrap().push_back(700_000);
    cmd(&fake, dir.path())
        .args(["--retries", "0", "download", "-c", &id, "-o"])
        .arg(&target)
        .assert()
        .code(3);
    let kept = std::fs::read(&part).unwrap();
    assert!(
        !kept.is_empty() && bytes.starts_with(&kept),
        "a true prefix"
    );
    assert!(!target.exists());

    // ...and the next --continue asks only for the rest.
    cmd(&fake, dir.path())
        .args(["download", "-c", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert!(!part.exists());
    let last = fake.seen("storage").pop().unwrap();
    assert_eq!(
        last.header("range"),
        Some(format!("bytes={}-", kept.len()).as_str())
    );
}

#[test]
fn a_damaged_part_is_reported_as_local_kept_aside_and_the_download_starts_over() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let bytes = data(400_000);
    let blob = fake.put_blob("x.bin", &bytes);
    let target = dir.path().join("x.bin");
    let part = dir.path().join("x.bin.part");
    let bad = dir.path().join("x.bin.part.bad");
    let damaged = vec![0u8; 200_000];
    std::fs::write(&part, &damaged).unwrap();

    let out = cmd(&fake, dir.path())
        .args(["download", "-c", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("`") && stderr.contains("x.bin.part` did not match the blob"),
        "{stderr}"
    );
    assert!(
        stderr.contains("was damaged or belongs to another file"),
        "{stderr}"
    );
    assert!(stderr.contains("x.bin.part.bad"), "{stderr}");
    assert!(
        stderr.contains("downloaded the blob again from the start"),
        "{stderr}"
    );
    assert!(std::fs::read(&target).unwrap() == bytes, "a wrong target");
    // The user's bytes are still there, aside (with the rest that came after them).
    let kept = std::fs::read(&bad).unwrap();
    assert!(
        kept.starts_with(&damaged) && kept.len() == bytes.len(),
        "{}",
        kept.len()
    );
    assert!(!part.exists());
    // A resume from byte 200,000, then the whole from 0.
    let gets = fake.seen("storage");
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].header("range"), Some("bytes=200000-"));
    assert_eq!(gets[1].header("range"), None);
}

#[test]
fn a_slow_link_is_not_a_timeout_while_bytes_move() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("slow.bin");
    std::fs::write(&file, data(6_000_000)).unwrap();
    // About 6 s to take in the body (1 MB/s), never a pause of 2 s. reqwest's own
    // read timeout would give up after 2 s of sending.
    *fake.state.slow_post.lock().unwrap() = Some(std::time::Duration::from_millis(64));

    cmd(&fake, dir.path())
        .args(["--timeout", "2", "upload"])
        .arg(&file)
        .assert()
        .success();
    assert!(fake.blobs()[0].complete);
}

#[test]
fn a_stalled_upload_times_out() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("stuck.bin");
    std::fs::write(&file, data(20_000_000)).unwrap();
    // Storage takes 64 KiB every 3 s: once the socket buffers are full, far over
    // the 1 s of silence allowed.
    *fake.state.slow_post.lock().unwrap() = Some(std::time::Duration::from_secs(3));

    let started = std::time::Instant::now();
    let out = cmd(&fake, dir.path())
        .args(["--timeout", "1", "--retries", "0", "upload"])
        .arg(&file)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("sending to storage failed: no progress for 1s"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(fake.blobs().is_empty(), "the record was deleted");
}
