//! The retry rows of the fault table, against the real server with a fault plan:
//! a 503 burst on every route, 500 on every try of the S3 POST, 429 with
//! `Retry-After`, answers slower than `--timeout`, and no server at all.

mod common;
mod faults_support;
mod transfer_util;

use std::time::{Duration, Instant};

use common::{cubeblob, logged_in, TestServer, ALICE};
use faults_support::{records, stderr_of, stdout_of, Faulty};
use serde_json::json;
use tempfile::TempDir;
use transfer_util::{json_lines, names_in, random_file, same_bytes};

/// Row: 503 on create, S3 POST, complete, info, list page, redirect, S3 GET and
/// delete (first 2 tries) → success after retries, exit 0.
#[test]
fn a_503_burst_on_every_route_is_ridden_out() {
    let routes = [
        "create", "s3_post", "complete", "info", "list", "download", "s3_get", "delete",
    ];
    let rules: Vec<_> = routes
        .iter()
        .map(|route| json!({"route": route, "first": 2, "status": 503}))
        .collect();
    let f = Faulty::start(json!(rules), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "a.bin", 300_000, 1);
    let run = |args: &[&str]| {
        cubeblob(config.path(), f.url())
            .args(["--retries", "2"])
            .args(args)
            .assert()
            .success()
    };

    let up = run(&["--json", "upload", file.to_str().unwrap()]);
    let blob = json_lines(&up.get_output().stdout)[0].clone();
    let (id, uid) = (blob["id"].to_string(), blob["uid"].as_str().unwrap());
    assert_eq!(blob["size"], 300_000);
    assert_eq!(f.stored(uid), std::fs::read(&file).unwrap());

    let info = run(&["--json", "info", &id]);
    assert_eq!(json_lines(&info.get_output().stdout)[0]["uid"], uid);
    let listed = run(&["--json", "list"]);
    assert_eq!(json_lines(&listed.get_output().stdout).len(), 1);
    let copy = dir.path().join("copy.bin");
    run(&["download", &id, "-o", copy.to_str().unwrap()]);
    assert!(same_bytes(&file, &copy));
    assert_eq!(names_in(dir.path()), ["a.bin", "copy.bin"], "no .part left");
    run(&["rm", &id]);

    for route in routes {
        let seen = f.to(route);
        assert_eq!(f.faulted(route), 2, "{route}: {seen:?}");
        assert!(seen.len() >= 3, "{route} was answered after its 503s");
    }
    assert!(records(config.path(), f.url()).is_empty());
    assert!(f.half_received().is_empty());
}

/// Row: 500 on every try of the S3 POST → exit 3 after `--retries`, the blob record
/// deleted.
#[test]
fn a_500_on_every_s3_post_gives_up_and_deletes_the_record() {
    let f = Faulty::start(json!([{"route": "s3_post", "status": 500}]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "doomed.bin", 100_000, 2);

    let out = cubeblob(config.path(), f.url())
        .args(["--retries", "2", "upload"])
        .arg(&file)
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("upload `"), "{stderr}");
    assert!(stderr.contains("doomed.bin"), "{stderr}");
    assert!(
        stderr.contains("sending to storage failed: 500 InternalError"),
        "{stderr}"
    );
    assert!(stdout_of(&out).is_empty());
    assert_eq!(f.to("s3_post").len(), 3, "one try and two retries");
    let created = f.to("create");
    let deleted = f.to("delete");
    assert_eq!((created.len(), deleted.len()), (1, 1));
    assert_eq!(deleted[0].uri, "/blobs/1");
    assert!(records(config.path(), f.url()).is_empty(), "no orphan");
    assert!(f.half_received().is_empty());
}

/// Row: 429 with `Retry-After: 2` → the client waits about that long, then succeeds;
/// on the API (list) and on storage (the S3 POST).
#[test]
fn a_429_is_retried_after_the_time_the_server_asked_for() {
    let f = Faulty::start(
        json!([
            {"route": "s3_post", "first": 1, "status": 429, "retry_after": 2},
            {"route": "list", "first": 1, "status": 429, "retry_after": 2},
        ]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "later.bin", 50_000, 3);

    let started = Instant::now();
    let up = cubeblob(config.path(), f.url())
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let uid = json_lines(&up.get_output().stdout)[0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(f.stored(&uid), std::fs::read(&file).unwrap());

    let listed = cubeblob(config.path(), f.url())
        .args(["--json", "list"])
        .assert()
        .success();
    assert_eq!(json_lines(&listed.get_output().stdout)[0]["uid"], uid);

    // The server's own clock: the retry came about 2 s after the refusal, not after
    // the client's first backoff (a quarter of a second).
    for route in ["s3_post", "list"] {
        let seen = f.to(route);
        assert_eq!(seen.len(), 2, "{route}: {seen:?}");
        assert_eq!(
            seen[0].fault.as_deref(),
            Some("status 429 (Retry-After: 2)")
        );
        let gap = seen[1].at_ms - seen[0].at_ms;
        assert!(
            (1500..10_000).contains(&gap),
            "{route}: retried after {gap} ms"
        );
    }
}

/// Row: an answer slower than `--timeout` → exit 3 with a message naming the timeout;
/// on the API (list) and on storage (the download's GET), no file left behind.
#[test]
fn an_answer_slower_than_the_timeout_is_given_up_on() {
    let f = Faulty::start(
        json!([
            {"route": "list", "delay_ms": 4000},
            {"route": "s3_get", "delay_ms": 4000},
        ]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "slow.bin", 10_000, 4);
    let up = cubeblob(config.path(), f.url())
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let id = json_lines(&up.get_output().stdout)[0]["id"].to_string();

    let out = cubeblob(config.path(), f.url())
        .args(["--timeout", "1", "--retries", "1", "list"])
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("within the 1s timeout"), "{stderr}");
    assert!(stderr.contains("hint: raise the limit with `--timeout SECS`"));
    assert!(stdout_of(&out).is_empty());
    assert_eq!(f.to("list").len(), 2, "one try and one retry");

    let target = dir.path().join("down");
    std::fs::create_dir(&target).unwrap();
    let out = cubeblob(config.path(), f.url())
        .args(["--timeout", "1", "--retries", "1", "download", &id, "-o"])
        .arg(&target)
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("downloading from storage failed") && stderr.contains("1s timeout"),
        "{stderr}"
    );
    assert!(!stderr.contains("X-Amz-Signature"), "{stderr}");
    assert!(names_in(&target).is_empty(), "{:?}", names_in(&target));
}

/// Row: server not running → exit 3 quickly, with a message naming the URL.
#[test]
fn no_server_is_reported_quickly_with_its_url() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let url = server.url.clone();
    server.stop();
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "x.bin", 10, 5);

    for args in [vec!["list"], vec!["upload", file.to_str().unwrap()]] {
        // The default retries: a refused connection must not wait out every backoff,
        // so the request log shows one try and one retry, not 1 + 5. (Counted rather
        // than timed: the machines are shared and noisy.)
        let out = cubeblob(config.path(), &url)
            .arg("-v")
            .args(&args)
            .assert()
            .code(3);
        let stderr = stderr_of(&out);
        let tries = stderr.lines().filter(|l| l.starts_with("> ")).count();
        assert_eq!(tries, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot connect to `{url}/blobs")),
            "{stderr}"
        );
        assert!(stderr.contains("is running"), "{stderr}");
    }
}
