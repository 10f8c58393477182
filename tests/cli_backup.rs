//! `download --all -o DIR`: a backup of 300 blobs with duplicate names and folders,
//! killed part way and rerun: every blob lands exactly once, bytes exact, names as
//! paths with ` (ID)` for a repeat, a manifest mapping each file to its blob.

mod cli_support;
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cli_support::{lines, Api};
use common::{cubeblob, logged_in, TestServer, ALICE};
use cubeblob::manifest::Manifest;

const BLOBS: usize = 300;

/// Every file under `dir`, relative with `/`, and its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                found.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    found
}

#[test]
fn a_backup_killed_and_rerun_holds_every_blob_exactly_once() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    // Each name three times; contents all different; one unfinished record.
    let mut made = Vec::new();
    for i in 0..BLOBS {
        let name = match i % 3 {
            0 => format!("docs/f{}.txt", i / 3),
            _ => format!("docs/f{}.txt", i / 3 - i / 3 % 2),
        };
        let content = format!("blob {i} {}", "x".repeat(i % 50)).into_bytes();
        let blob = api.blob(&name, &content, i % 5 == 0);
        made.push((blob, content));
    }
    api.incomplete_blob("docs/never.txt");
    let work = tempfile::TempDir::new().unwrap();
    let dir = work.path().join("backup");
    let manifest_path = work.path().join("backup.json");

    // First run, killed once some blobs are saved (one line per saved blob).
    let mut child = std::process::Command::new(common::bin())
        .args(["download", "--all", "-j", "2", "-o"])
        .arg(&dir)
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &server.url)
        .env_remove("CUBEBLOB_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = files(&dir);
    assert!(
        !partial.is_empty() && partial.len() < BLOBS + 2,
        "{}",
        partial.len()
    );
    // Damage what an interrupted run can leave: a file of the right size with other
    // bytes, and a missing one.
    let (some, bytes) = partial.iter().find(|(k, _)| !k.ends_with(".part")).unwrap();
    std::fs::write(dir.join(some), vec![b'?'; bytes.len()]).unwrap();

    // Rerun to the end, with a manifest.
    let out = cubeblob(config.path(), &server.url)
        .args(["download", "--all", "-j", "4", "-o"])
        .arg(&dir)
        .arg("--manifest")
        .arg(&manifest_path)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 blob never completed, skipped"),
        "{stderr}"
    );

    let saved = files(&dir);
    assert_eq!(
        saved.len(),
        BLOBS,
        "every blob once, no .part left: {:?}",
        saved
            .keys()
            .filter(|k| k.ends_with(".part"))
            .collect::<Vec<_>>()
    );
    let manifest = Manifest::read(&manifest_path).unwrap().unwrap();
    assert!(manifest.complete);
    assert_eq!(manifest.blobs.len(), BLOBS);
    let by_id: BTreeMap<u64, &Vec<u8>> = made.iter().map(|(b, c)| (b.id, c)).collect();
    let mut ids: Vec<u64> = Vec::new();
    for (file, entry) in &manifest.blobs {
        assert_eq!(
            &saved[file], by_id[&entry.id],
            "{file} holds blob {}",
            entry.id
        );
        ids.push(entry.id);
    }
    ids.sort_unstable();
    assert_eq!(ids, by_id.keys().copied().collect::<Vec<_>>());
    // The first of a name keeps it; a repeat has its id before the extension.
    let (first_of, second_of) = (&made[0].0, &made[1].0);
    assert_eq!(first_of.name, second_of.name);
    assert_eq!(manifest.blobs[&first_of.name].id, first_of.id);
    let dup = format!("docs/f0 ({}).txt", second_of.id);
    assert_eq!(manifest.blobs[&dup].id, second_of.id);

    // A third run finds everything there (MD5s from the manifest): nothing downloaded.
    let out = cubeblob(config.path(), &server.url)
        .args(["download", "--all", "-o"])
        .arg(&dir)
        .arg("--manifest")
        .arg(&manifest_path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(lines(&out.stdout), Vec::<String>::new());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "Backed up 0 blobs (0 B) to `{}`; {BLOBS} blobs already there",
        dir.display()
    )));
    assert_eq!(files(&dir), saved);
}

#[test]
fn a_filtered_backup_takes_only_the_matches_and_stays_inside_the_folder() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    api.blob("../../escape.txt", b"up", false);
    api.blob("/abs/a.txt", b"abs", false);
    api.blob("img/skip.bin", b"no", false);
    let work = tempfile::TempDir::new().unwrap();
    let dir: PathBuf = work.path().join("b");
    cubeblob(config.path(), &server.url)
        .args(["download", "--all", "--name", "**/*.txt", "-o"])
        .arg(&dir)
        .assert()
        .success();
    let got: Vec<String> = files(&dir).into_keys().collect();
    assert_eq!(got, ["_/_/escape.txt", "abs/a.txt"]);
    assert!(!work.path().join("escape.txt").exists());
    // Filters without --all, and --all without -o: refused.
    cubeblob(config.path(), &server.url)
        .args(["download", "1", "--public"])
        .assert()
        .code(6);
    cubeblob(config.path(), &server.url)
        .args(["download", "--all"])
        .assert()
        .code(2);
}
