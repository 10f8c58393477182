//! `upload` of folders and patterns: names from relative paths with a prefix,
//! `--exclude`, symbolic links followed, entries that cannot be read reported while
//! the others go on, and collisions refused before any request.

mod cli_support;
mod common;
mod faults_support;

use std::collections::BTreeMap;
use std::path::Path;

use common::{cubeblob, logged_in, ALICE};
use faults_support::{records, stderr_of, Faulty};
use serde_json::json;
use tempfile::TempDir;

/// A build folder with nested folders, spaces and non-ASCII names, an empty file, a
/// link to a file outside it, and two entries that cannot be read as files (tests run
/// as root, who reads mode-000 files, so: a link to nothing and a FIFO).
pub fn tree() -> TempDir {
    let dir = TempDir::new().unwrap();
    let dist = dir.path().join("dist");
    for (path, content) in [
        ("index.html", "<h1>hi</h1>"),
        ("js/app.js", "console.log(1)"),
        ("js/app.js.map", "{}"),
        ("js/vendor/lib.js", "lib"),
        ("img dir/ünïcödé ñame.txt", "accents"),
        ("empty.txt", ""),
    ] {
        let path = dist.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    std::fs::write(dir.path().join("outside.txt"), "linked").unwrap();
    std::os::unix::fs::symlink("../outside.txt", dist.join("link.txt")).unwrap();
    dir
}

fn unreadable(dist: &Path) {
    std::os::unix::fs::symlink("missing-target", dist.join("dangling.txt")).unwrap();
    let fifo = dist.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Name → size of alice's blobs.
fn names(config: &Path, url: &str) -> BTreeMap<String, u64> {
    records(config, url)
        .into_iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_folder_uploads_with_names_from_its_paths_and_the_unreadable_are_reported() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = tree();
    let dist = dir.path().join("dist");
    unreadable(&dist);

    let out = cubeblob(config.path(), f.url())
        .args(["upload", "-r"])
        .arg(&dist)
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("dangling.txt") && stderr.contains("link to nothing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipe") && stderr.contains("not a regular file"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 9 failed"), "{stderr}");
    let expected: BTreeMap<String, u64> = [
        ("index.html", 11),
        ("js/app.js", 14),
        ("js/app.js.map", 2),
        ("js/vendor/lib.js", 3),
        ("img dir/ünïcödé ñame.txt", 7),
        ("empty.txt", 0),
        ("link.txt", 6),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(names(config.path(), f.url()), expected);

    // The link was followed: the blob holds the target's bytes.
    let id = records(config.path(), f.url())
        .into_iter()
        .find(|r| r["name"] == "link.txt")
        .unwrap()["id"]
        .to_string();
    let out = cubeblob(config.path(), f.url())
        .args(["download", &id, "-o", "-"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, b"linked");
}

#[test]
fn a_prefix_excludes_and_patterns_shape_the_names() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = tree();

    cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "-r", "dist", "--prefix", "site/v1/"])
        .args([
            "--exclude",
            "*.map",
            "--exclude",
            "js/vendor",
            "--exclude",
            "img dir/*",
        ])
        .assert()
        .success();
    // A quoted pattern, expanded by the tool: names relative to the pattern's folder.
    cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "dist/**/*.js", "--prefix", "pat/"])
        .assert()
        .success();
    // A file given by itself keeps its file name, after the prefix.
    cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "dist/js/app.js", "--prefix", "one-"])
        .assert()
        .success();
    let names: Vec<String> = names(config.path(), f.url()).into_keys().collect();
    assert_eq!(
        names,
        [
            "one-app.js",
            "pat/js/app.js",
            "pat/js/vendor/lib.js",
            "site/v1/empty.txt",
            "site/v1/index.html",
            "site/v1/js/app.js",
            "site/v1/link.txt",
        ]
    );

    // A pattern that matches nothing, a folder without -r: refused, exit 6.
    for args in [vec!["upload", "dist/**/*.nope"], vec!["upload", "dist"]] {
        let out = cubeblob(config.path(), f.url())
            .current_dir(dir.path())
            .args(&args)
            .assert()
            .code(6);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("matches no file")
                || stderr.contains("hint: upload the files under it with `-r`"),
            "{stderr}"
        );
    }
}

#[test]
fn collisions_and_bad_names_are_refused_before_any_request() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = TempDir::new().unwrap();
    for path in ["a/x.png", "b/x.png", "c/ok.txt"] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    let before = f.requests().len();
    let out = cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "c/ok.txt", "a/x.png", "b/x.png"])
        .assert()
        .code(6);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("`x.png`") && stderr.contains("`a/x.png`") && stderr.contains("`b/x.png`"),
        "{stderr}"
    );
    // A folder and a file inside it, with a prefix: the same name twice.
    let out = cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "-r", "c", "c/ok.txt"])
        .assert()
        .code(6);
    assert!(stderr_of(&out).contains("`ok.txt`"), "{}", stderr_of(&out));
    assert_eq!(f.requests().len(), before, "{:?}", &f.requests()[before..]);

    // A path that makes a name over 100 characters: that file is refused, the
    // others go on.
    let long = dir
        .path()
        .join("c")
        .join("d".repeat(60))
        .join(format!("{}.txt", "e".repeat(40)));
    std::fs::create_dir_all(long.parent().unwrap()).unwrap();
    std::fs::write(&long, "long").unwrap();
    let out = cubeblob(config.path(), f.url())
        .current_dir(dir.path())
        .args(["upload", "-r", "c"])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("the service takes 1 to 100"),
        "{}",
        stderr_of(&out)
    );
    let names: Vec<String> = names(config.path(), f.url()).into_keys().collect();
    assert_eq!(names, ["ok.txt"]);
}

#[test]
fn the_manifest_says_where_each_file_went_even_after_a_failure() {
    use md5::{Digest, Md5};
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = tree();
    let dist = dir.path().join("dist");
    unreadable(&dist);
    let manifest = dir.path().join("out/manifest.json");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();

    let out = cubeblob(config.path(), f.url())
        .args(["upload", "--public", "-r", "--prefix", "app/", "--manifest"])
        .arg(&manifest)
        .arg(&dist)
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("holds the 7 of 9 files"), "{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(
        doc["api_url"].as_str().unwrap().trim_end_matches('/'),
        f.url()
    );
    assert_eq!(doc["complete"], false);
    assert!(doc["written_at"].as_str().unwrap().ends_with('Z'));
    let entries = doc["blobs"].as_object().unwrap();
    let on_server = records(config.path(), f.url());
    assert_eq!(entries.len(), 7);
    assert_eq!(on_server.len(), 7);
    for record in &on_server {
        let name = record["name"].as_str().unwrap();
        let entry = &entries[name];
        for key in ["id", "uid", "size", "content_type", "public", "public_url"] {
            assert_eq!(entry[key], record[key], "{name}: {key}");
        }
        let bytes = cubeblob(config.path(), f.url())
            .args(["download", &record["id"].to_string(), "-o", "-"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(entry["md5"], hex::encode(Md5::digest(&bytes)), "{name}");
        let file = entry["file"].as_str().unwrap();
        assert_eq!(std::fs::read(file).unwrap(), bytes, "{name}");
    }
    assert!(entries.contains_key("app/img dir/ünïcödé ñame.txt"));
    // No temporary file left beside it.
    assert_eq!(
        std::fs::read_dir(manifest.parent().unwrap())
            .unwrap()
            .count(),
        1
    );
}
