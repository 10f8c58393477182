//! Upload then download against the real local server, byte for byte: the sizes at the
//! edges (0, 1, 5 MB, exactly 100 MiB), many files at once, stdin and stdout, and the
//! limit checked before anything is sent.

mod common;
mod transfer_util;

use std::path::Path;

use common::{cubeblob, logged_in, TestServer, ALICE};
use serde_json::Value;
use tempfile::TempDir;
use transfer_util::{json_lines, random_file, same_bytes};

const MAX: u64 = 104_857_600;

fn blobs_on_server(config: &Path, server: &TestServer) -> Vec<Value> {
    let out = cubeblob(config, &server.url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    json_lines(&out.get_output().stdout)
}

#[test]
fn round_trips_are_byte_exact_at_the_edges() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let files = [
        random_file(dir.path(), "zero.bin", 0, 1),
        random_file(dir.path(), "one.bin", 1, 2),
        random_file(dir.path(), "five-mb.bin", 5_000_000, 3),
        random_file(dir.path(), "hundred-mib.bin", MAX, 4),
    ];

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload", "-j", "4"])
        .args(&files)
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 4);
    for line in &lines {
        let file = dir
            .path()
            .join(line["file"].as_str().unwrap().rsplit('/').next().unwrap());
        assert_eq!(
            line["size"].as_u64().unwrap(),
            std::fs::metadata(&file).unwrap().len()
        );
        assert_eq!(line["name"], file.file_name().unwrap().to_str().unwrap());
        assert_eq!(line["content_type"], "application/octet-stream");
        assert_eq!(line["public"], false);
        assert_eq!(line["status"], "complete");
        assert!(
            line.get("public_url").is_none(),
            "private blobs have no public URL"
        );

        let back = dir.path().join("back.bin");
        let _ = std::fs::remove_file(&back);
        cubeblob(config.path(), &server.url)
            .args(["download", &line["id"].to_string(), "-o"])
            .arg(&back)
            .assert()
            .success();
        assert!(
            same_bytes(&file, &back),
            "{} differs after a round trip",
            file.display()
        );
    }
}

#[test]
fn one_byte_over_the_limit_is_refused_before_any_request() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let big = random_file(dir.path(), "too-big.bin", MAX + 1, 5);

    let out = cubeblob(config.path(), &server.url)
        .args(["-v", "upload"])
        .arg(&big)
        .assert()
        .code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("too-big.bin") && stderr.contains("104857601"),
        "{stderr}"
    );
    assert!(!stderr.contains("> "), "no request was logged: {stderr}");
    assert!(blobs_on_server(config.path(), &server).is_empty());
}

#[test]
fn a_batch_reports_bad_inputs_and_uploads_the_good_ones() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let good = random_file(dir.path(), "good.txt", 10, 6);
    let big = random_file(dir.path(), "big.bin", 2000, 7);
    let long_name = format!("{}.txt", "n".repeat(101));
    let long = random_file(dir.path(), &long_name, 3, 8);

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload", "--max-size", "1000"])
        .arg(&good)
        .arg(dir.path().join("missing.bin"))
        .arg(dir.path())
        .arg(&big)
        .arg(&long)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for expected in [
        "missing.bin",
        "is a folder",
        "big.bin",
        "1 to 100",
        "4 of 5 failed",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], "good.txt");
    assert_eq!(lines[0]["content_type"], "text/plain");
    let names: Vec<Value> = blobs_on_server(config.path(), &server)
        .into_iter()
        .map(|b| b["name"].clone())
        .collect();
    assert_eq!(names, ["good.txt"]);
}

#[test]
fn two_hundred_files_with_sixteen_jobs_all_arrive_exact() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let up = dir.path().join("up");
    std::fs::create_dir(&up).unwrap();
    let files: Vec<_> = (0..200u64)
        .map(|i| random_file(&up, &format!("f{i:03}.dat"), (i * 997) % 20_000, 100 + i))
        .collect();

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload", "-j", "16"])
        .args(&files)
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 200);
    assert_eq!(blobs_on_server(config.path(), &server).len(), 200);

    let ids: Vec<String> = lines.iter().map(|l| l["id"].to_string()).collect();
    let down = dir.path().join("down");
    cubeblob(config.path(), &server.url)
        .args([
            "download",
            "-j",
            "16",
            "-o",
            &format!("{}/", down.display()),
        ])
        .args(&ids)
        .assert()
        .success();
    for file in &files {
        let back = down.join(file.file_name().unwrap());
        assert!(same_bytes(file, &back), "{} differs", file.display());
    }
    assert_eq!(
        transfer_util::names_in(&down).len(),
        200,
        "no .part left behind"
    );
}

#[test]
fn stdin_goes_up_and_stdout_brings_it_back() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();

    cubeblob(config.path(), &server.url)
        .args(["upload", "-"])
        .write_stdin(bytes.clone())
        .assert()
        .code(6);

    let out = cubeblob(config.path(), &server.url)
        .args([
            "--json",
            "upload",
            "-",
            "--name",
            "from-stdin.tar.gz",
            "--public",
        ])
        .write_stdin(bytes.clone())
        .assert()
        .success();
    let line = &json_lines(&out.get_output().stdout)[0];
    assert_eq!(line["size"], 300_000);
    assert_eq!(line["file"], "-");
    assert_eq!(line["content_type"], "application/gzip");
    let uid = line["uid"].as_str().unwrap();
    assert_eq!(line["public_url"], format!("{}/blobs/{uid}", server.url));

    let out = cubeblob(config.path(), &server.url)
        .args(["download", uid, "-o", "-"])
        .assert()
        .success();
    assert!(
        out.get_output().stdout == bytes,
        "stdout holds exactly the bytes"
    );
}

#[test]
fn piped_output_is_tab_separated() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "page.html", 1234, 9);

    let out = cubeblob(config.path(), &server.url)
        .args(["upload", "--public"])
        .arg(&file)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let fields: Vec<&str> = stdout.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 8, "{stdout:?}");
    assert_eq!(&fields[2..6], ["page.html", "1234", "text/html", "true"]);
    assert_eq!(fields[7], format!("{}/blobs/{}", server.url, fields[1]));

    let target = TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .current_dir(target.path())
        .args(["download", fields[0]])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let fields: Vec<&str> = stdout.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 5, "{stdout:?}");
    assert_eq!(fields[3], "1234");
    assert!(same_bytes(&file, &target.path().join("page.html")));
}
