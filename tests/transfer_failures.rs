//! What is left when things go wrong, against the real local server: an upload that
//! storage refuses and one cut short by SIGINT leave no blob record and no partial
//! file; and storage on its own port never sees the token.

mod common;
mod transfer_util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, cubeblob, interrupted, logged_in, TestServer, ALICE};
use serde_json::Value;
use tempfile::TempDir;
use transfer_util::{json_lines, names_in, random_file};

fn blobs_on_server(config: &Path, server: &TestServer) -> Vec<Value> {
    let out = cubeblob(config, &server.url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    json_lines(&out.get_output().stdout)
}

#[test]
fn an_upload_storage_refuses_leaves_no_record() {
    // The server's storage takes 1 MB, the client's check allows 100 MiB.
    let server = TestServer::start_with(&["--max-size", "1000000"]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "two-mb.bin", 2_000_000, 1);

    let out = cubeblob(config.path(), &server.url)
        .args(["upload"])
        .arg(&file)
        .assert()
        // Too large is a property of the file, whoever finds it: exit 6, as the
        // README says.
        .code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("two-mb.bin"), "{stderr}");
    assert!(stderr.contains("sending to storage failed"), "{stderr}");
    assert!(stderr.contains("EntityTooLarge"), "{stderr}");
    assert!(blobs_on_server(config.path(), &server).is_empty());
}

#[test]
fn sigint_mid_upload_leaves_no_record_and_exits_130() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "big.bin", 104_857_600, 2);

    let child = Command::new(bin())
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &server.url)
        .env_remove("CUBEBLOB_TOKEN")
        .args(["--progress", "none", "upload"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the record exists, so the interrupt lands mid-transfer.
    let deadline = Instant::now() + Duration::from_secs(20);
    while blobs_on_server(config.path(), &server).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the upload never created its record"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (out, stderr) = interrupted(child);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        blobs_on_server(config.path(), &server).is_empty(),
        "no record left"
    );
}

#[test]
fn sigint_mid_download_leaves_no_partial_file() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "big.bin", 104_857_600, 3);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let id = json_lines(&out.get_output().stdout)[0]["id"].to_string();
    let target = dir.path().join("down");
    std::fs::create_dir(&target).unwrap();

    let child = Command::new(bin())
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &server.url)
        .env_remove("CUBEBLOB_TOKEN")
        .args(["--progress", "none", "download", &id, "-o"])
        .arg(&target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The download writes to a file of its own beside the target, under a random name.
    let written = || {
        std::fs::read_dir(&target)
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum::<u64>()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while written() == 0 {
        assert!(Instant::now() < deadline, "the download never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    interrupted(child);
    assert!(names_in(&target).is_empty(), "{:?}", names_in(&target));
}

/// `cubeblob upload … | head -1`: the reader going away stops the result lines, not
/// the batch. Every upload and download still ends whole, none is dropped half-made.
#[test]
fn a_closed_stdout_leaves_no_record_or_part_file_half_made() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let files: Vec<_> = (0..6)
        .map(|i| random_file(dir.path(), &format!("f{i}.bin"), 2_000_000, 10 + i))
        .collect();
    let run_with_stdout_closed = |args: &[&str], paths: &[std::path::PathBuf]| {
        let mut child = Command::new(bin())
            .env("CUBEBLOB_CONFIG_DIR", config.path())
            .env("CUBEBLOB_API_URL", &server.url)
            .env_remove("CUBEBLOB_TOKEN")
            .args(["--progress", "none"])
            .args(args)
            .args(paths)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the first result line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    run_with_stdout_closed(&["upload", "-j", "2"], &files);
    let blobs = blobs_on_server(config.path(), &server);
    assert_eq!(blobs.len(), files.len(), "{blobs:?}");
    assert!(blobs.iter().all(|b| b["status"] == "complete"), "{blobs:?}");

    let target = dir.path().join("down");
    std::fs::create_dir(&target).unwrap();
    let ids: Vec<String> = blobs.iter().map(|b| b["id"].to_string()).collect();
    let mut args = vec!["download", "-j", "2", "-o", target.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    run_with_stdout_closed(&args, &[]);
    let mut names = names_in(&target);
    names.sort();
    let expected: Vec<String> = (0..6).map(|i| format!("f{i}.bin")).collect();
    assert_eq!(names, expected);
}

#[test]
fn storage_on_its_own_port_gets_no_token() {
    let server = TestServer::start_with(&["--s3-listen", "127.0.0.1:0"]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "a.bin", 50_000, 4);

    let up = cubeblob(config.path(), &server.url)
        .args(["-v", "--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let id = json_lines(&up.get_output().stdout)[0]["id"].to_string();
    let down = cubeblob(config.path(), &server.url)
        .args(["-v", "download", &id, "-o"])
        .arg(dir.path().join("b.bin"))
        .assert()
        .success();

    let log = String::from_utf8_lossy(&up.get_output().stderr).to_string()
        + &String::from_utf8_lossy(&down.get_output().stderr);
    let requests: Vec<&str> = log.lines().filter(|l| l.starts_with("> ")).collect();
    let (api, storage): (Vec<&str>, Vec<&str>) = requests
        .iter()
        .partition(|l| l.contains(&format!("{}/", server.url)));
    assert_eq!(
        storage.len(),
        2,
        "one POST and one GET on the storage port: {log}"
    );
    assert!(storage[0].starts_with("> POST ") && storage[1].starts_with("> GET "));
    for line in &storage {
        assert!(
            !line.contains("CB-Token") && !line.contains("token="),
            "{line}"
        );
    }
    assert!(
        api.iter().all(|l| l.contains("CB-Token: <redacted>")),
        "{log}"
    );
}
