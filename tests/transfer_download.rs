//! Downloads against the real local server: names from the server never leave the
//! target folder, existing files are kept unless `--force`, and `--continue` resumes
//! from a `.part` file.

mod cli_support;
mod common;
mod transfer_util;

use std::path::Path;

use common::{cubeblob, logged_in, TestServer, ALICE};
use tempfile::TempDir;
use transfer_util::{json_lines, names_in, random_file, same_bytes};

/// Uploads `file` as `name`; returns the blob id.
fn upload_as(config: &Path, server: &TestServer, file: &Path, name: &str) -> String {
    let out = cubeblob(config, &server.url)
        .args(["--json", "upload", "--name", name])
        .arg(file)
        .assert()
        .success();
    json_lines(&out.get_output().stdout)[0]["id"].to_string()
}

#[test]
fn hostile_names_land_inside_the_target_folder() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "payload", 64, 1);
    let hundred = format!("{}.txt", "x".repeat(96));
    let names = [
        "../../evil",
        "/etc/passwd",
        "a/b",
        "..",
        "\u{1b}[31mred\u{1b}[0m.txt",
        hundred.as_str(),
    ];
    // The CLI refuses control characters in a name it gives; a blob named so by
    // another client gets its name through the API.
    let api = cli_support::Api::login(&server, ALICE);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ids: Vec<String> = names
        .iter()
        .map(|n| {
            if !n.chars().any(char::is_control) {
                return upload_as(config.path(), &server, &file, n);
            }
            let id = upload_as(config.path(), &server, &file, "plain");
            rt.block_on(api.client.rename_blob(id.parse().unwrap(), n))
                .unwrap();
            id
        })
        .collect();

    // The target sits two levels down, so `../../evil` would land in `dir` itself.
    let target = dir.path().join("a").join("target");
    std::fs::create_dir_all(&target).unwrap();
    let out = cubeblob(config.path(), &server.url)
        .current_dir(&target)
        .args(["--json", "download"])
        .args(&ids)
        .assert()
        .success();

    let saved = names_in(&target);
    assert_eq!(saved.len(), names.len(), "{saved:?}");
    for name in &saved {
        assert!(!name.starts_with('.'), "{name:?}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(same_bytes(&file, &target.join(name)), "{name:?}");
    }
    assert!(
        saved.contains(&hundred),
        "a 100-character name is kept as it is"
    );
    assert_eq!(
        names_in(dir.path()),
        ["a", "payload"],
        "nothing escaped upwards"
    );
    assert_eq!(names_in(&dir.path().join("a")), ["target"]);
    assert!(!Path::new("/etc/passwd.part").exists());
    for line in json_lines(&out.get_output().stdout) {
        let path = Path::new(line["path"].as_str().unwrap());
        assert_eq!(path.components().count(), 2, "`./name`: {path:?}");
    }
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "data.bin", 5000, 2);
    let id = upload_as(config.path(), &server, &file, "data.bin");
    let target = dir.path().join("existing.bin");
    std::fs::write(&target, b"keep me").unwrap();

    let out = cubeblob(config.path(), &server.url)
        .args(["download", &id, "-o"])
        .arg(&target)
        .assert()
        .code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");

    // The default name in the current folder is protected the same way.
    let out = cubeblob(config.path(), &server.url)
        .current_dir(dir.path())
        .args(["download", &id])
        .assert()
        .code(6);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("data.bin"));

    cubeblob(config.path(), &server.url)
        .args(["download", "--force", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    assert!(same_bytes(&file, &target));
    assert_eq!(
        names_in(dir.path()),
        ["data.bin", "existing.bin"],
        "no .part left"
    );
}

#[test]
fn continue_resumes_from_the_part_file() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "big.bin", 3_000_001, 3);
    let id = upload_as(config.path(), &server, &file, "big.bin");
    let target = dir.path().join("copy.bin");
    let part = dir.path().join("copy.bin.part");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();

    cubeblob(config.path(), &server.url)
        .args(["download", "-c", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    assert!(same_bytes(&file, &target));
    assert!(!part.exists());
}

#[test]
fn a_missing_blob_is_reported_and_the_others_still_come() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "one.bin", 100, 4);
    let id = upload_as(config.path(), &server, &file, "one.bin");
    let out_dir = dir.path().join("out");

    let out = cubeblob(config.path(), &server.url)
        // A folder for several blobs ends with `/` (or exists).
        .args(["download", "-o", &format!("{}/", out_dir.display())])
        .args([id.as_str(), "999999"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("999999"), "{stderr}");
    assert_eq!(names_in(&out_dir), ["one.bin"]);

    // Alone, a missing blob gets its own exit code.
    cubeblob(config.path(), &server.url)
        .args(["download", "999999", "-o"])
        .arg(dir.path().join("x"))
        .assert()
        .code(5);
}

/// The requests `-v` logs (`> METHOD URL`), in order, for one download.
fn requests_of_download(
    config: &Path,
    server: &TestServer,
    blob: &str,
    target: &Path,
) -> Vec<String> {
    let out = cubeblob(config, &server.url)
        .args(["-v", "--json", "download", "--force", blob, "-o"])
        .arg(target)
        .assert()
        .success();
    let saved = json_lines(&out.get_output().stdout);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["md5_verified"], true, "size and MD5 still checked");
    // The record prints as before: the URL that came with it is not part of it.
    assert!(saved[0].get("url").is_none(), "{}", saved[0]);
    String::from_utf8_lossy(&out.get_output().stderr)
        .lines()
        .filter_map(|line| line.strip_prefix("> "))
        .map(|line| line.split(" (").next().unwrap().to_string())
        .collect()
}

#[test]
fn a_uid_download_takes_two_requests_an_id_three() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "n.bin", 20_000, 9);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload"])
        .arg(&file)
        .assert()
        .success();
    let record = &json_lines(&out.get_output().stdout)[0];
    let (id, uid) = (record["id"].to_string(), record["uid"].as_str().unwrap());
    let storage = format!("GET {}/cubeblob-local/{uid}?", server.url);

    // The record and the presigned GET come in one answer; no redirect is asked for.
    let target = dir.path().join("by-uid.bin");
    let sent = requests_of_download(config.path(), &server, uid, &target);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(
        sent[0],
        format!("GET {}/blobs/{uid}/object?download_url=1", server.url)
    );
    assert!(sent[1].starts_with(&storage), "{sent:#?}");
    assert!(same_bytes(&file, &target));

    // An id's record has no URL: the record, the redirect, the bytes.
    let target = dir.path().join("by-id.bin");
    let sent = requests_of_download(config.path(), &server, &id, &target);
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert_eq!(sent[0], format!("GET {}/blobs/{id}", server.url));
    assert_eq!(sent[1], format!("GET {}/blobs/{uid}/download", server.url));
    assert!(sent[2].starts_with(&storage), "{sent:#?}");
    assert!(same_bytes(&file, &target));
}
