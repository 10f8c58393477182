//! `sync DIR`: a first run uploads everything; a rerun with no change sends no write
//! request (and, with the manifest, reads no file and asks storage nothing); edits,
//! additions and removals become exactly one replace (same id), one upload and one
//! delete; `--dry-run` writes nothing; duplicate names refuse; incomplete blobs are
//! re-made; an interrupted sync converges when rerun.

mod cli_support;
mod common;
mod faults_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use cli_support::{json_lines, Api};
use common::{bin, cubeblob, interrupted, logged_in, ALICE};
use cubeblob::output::sync::SyncLine;
use faults_support::{records, stderr_of, Faulty, Logged};
use serde_json::{json, Value};
use tempfile::TempDir;

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A site: nested folders, a space and non-ASCII in names, an empty file.
fn site() -> TempDir {
    let dir = TempDir::new().unwrap();
    for (rel, content) in [
        ("index.html", "<h1>v1</h1>"),
        ("js/app.js", "let v = 1;"),
        ("js/lib/util.js", "util"),
        ("img dir/çà ñ.txt", "accents"),
        ("empty.txt", ""),
    ] {
        write(dir.path(), rel, content);
    }
    dir
}

/// Requests that change something (the session aside).
fn writes(requests: &[Logged]) -> Vec<&Logged> {
    requests
        .iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD" && r.route != "session")
        .collect()
}

fn sync(config: &Path, url: &str, dir: &Path, extra: &[&str]) -> (Vec<SyncLine>, String) {
    let out = cubeblob(config, url)
        .args(["--json", "sync"])
        .arg(dir)
        .args(["--prefix", "site/"])
        .args(extra)
        .assert()
        .success();
    (json_lines(&out.get_output().stdout), stderr_of(&out))
}

fn actions(lines: &[SyncLine]) -> BTreeMap<String, String> {
    lines
        .iter()
        .map(|l| (l.name.clone(), l.action.clone()))
        .collect()
}

/// Name → (id, size, status) of alice's blobs.
fn state(config: &Path, url: &str) -> BTreeMap<String, (u64, u64, Value)> {
    records(config, url)
        .into_iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_string();
            (
                name,
                (
                    r["id"].as_u64().unwrap(),
                    r["size"].as_u64().unwrap_or(0),
                    r["status"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn a_first_sync_uploads_all_and_a_rerun_with_no_change_writes_nothing() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = site();
    let out_dir = TempDir::new().unwrap();
    let manifest = out_dir.path().join("manifest.json");

    let (lines, stderr) = sync(config.path(), f.url(), dir.path(), &[]);
    assert!(
        lines.iter().all(|l| l.action == "upload" && l.done),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 5);
    assert!(
        stderr.contains("5 uploaded, 0 replaced, 0 deleted, 0 unchanged"),
        "{stderr}"
    );
    let first = state(config.path(), f.url());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        [
            "site/empty.txt",
            "site/img dir/çà ñ.txt",
            "site/index.html",
            "site/js/app.js",
            "site/js/lib/util.js"
        ]
    );

    // No change, no manifest: the MD5s come from a ranged GET of each blob (not the
    // empty one), and nothing is written.
    let before = f.requests().len();
    let (lines, stderr) = sync(config.path(), f.url(), dir.path(), &[]);
    assert!(lines.iter().all(|l| l.action == "skip"), "{lines:?}");
    assert!(
        stderr.contains("0 uploaded, 0 replaced, 0 deleted, 5 unchanged"),
        "{stderr}"
    );
    let seen = &f.requests()[before..];
    assert!(writes(seen).is_empty(), "{:?}", writes(seen));
    let ranged: Vec<_> = seen.iter().filter(|r| r.route == "s3_get").collect();
    assert_eq!(ranged.len(), 4, "{seen:?}");
    assert!(ranged
        .iter()
        .all(|r| r.header("range") == Some("bytes=0-0")));
    assert_eq!(state(config.path(), f.url()), first);

    // With the manifest: the first run writes it, the next one trusts it: no
    // request to storage, and no file read. A file changed behind its back with
    // the same size and time proves the last point: the manifest says unchanged.
    sync(
        config.path(),
        f.url(),
        dir.path(),
        &["--manifest", manifest.to_str().unwrap()],
    );
    let index = dir.path().join("index.html");
    let mtime: SystemTime = std::fs::metadata(&index).unwrap().modified().unwrap();
    std::fs::write(&index, "<h1>v2</h1>").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&index)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let written = std::fs::read(&manifest).unwrap();
    let file_id = |path: &Path| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).unwrap().ino()
    };
    let written_as = file_id(&manifest);
    let before = f.requests().len();
    let (lines, _) = sync(
        config.path(),
        f.url(),
        dir.path(),
        &["--manifest", manifest.to_str().unwrap()],
    );
    assert!(lines.iter().all(|l| l.action == "skip"), "{lines:?}");
    // Nothing changed, so neither did the manifest: the same file, not one renamed
    // over it, with the same bytes (its `written_at` too).
    assert_eq!(file_id(&manifest), written_as);
    assert_eq!(std::fs::read(&manifest).unwrap(), written);
    let seen = &f.requests()[before..];
    assert!(writes(seen).is_empty(), "{:?}", writes(seen));
    assert!(
        seen.iter()
            .all(|r| r.route == "list" || r.route == "session"),
        "{seen:?}"
    );
    // Without it the content is compared, and the change found.
    let (lines, _) = sync(config.path(), f.url(), dir.path(), &[]);
    assert_eq!(actions(&lines)["site/index.html"], "replace");
    assert_eq!(
        lines.iter().find(|l| l.action == "replace").unwrap().reason,
        "content differs"
    );
}

#[test]
fn edits_additions_and_removals_make_one_replace_one_upload_and_one_delete() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = site();
    let out_dir = TempDir::new().unwrap();
    let manifest = out_dir.path().join("manifest.json");
    let m = manifest.to_str().unwrap();
    sync(config.path(), f.url(), dir.path(), &["--manifest", m]);
    let first = state(config.path(), f.url());
    // A blob outside the prefix is never touched, even with --delete.
    let api = Api::login(&f.server, ALICE);
    let outside = api.blob("elsewhere.txt", b"keep", false);

    write(dir.path(), "js/app.js", "let v = 2;"); // same size, new content
    write(dir.path(), "new/file.txt", "added");
    std::fs::remove_file(dir.path().join("js/lib/util.js")).unwrap();
    let before = f.requests().len();
    let (lines, stderr) = sync(
        config.path(),
        f.url(),
        dir.path(),
        &["--delete", "--manifest", m],
    );
    let got = actions(&lines);
    assert_eq!(got["site/js/app.js"], "replace");
    assert_eq!(got["site/new/file.txt"], "upload");
    assert_eq!(got["site/js/lib/util.js"], "delete");
    assert_eq!(got.values().filter(|a| *a == "skip").count(), 3, "{got:?}");
    assert!(
        stderr.contains("1 uploaded, 1 replaced, 1 deleted, 3 unchanged"),
        "{stderr}"
    );
    let seen = &f.requests()[before..];
    let routes: Vec<&str> = writes(seen).iter().map(|r| r.route.as_str()).collect();
    let count = |route| routes.iter().filter(|r| **r == route).count();
    assert_eq!(
        (count("create"), count("rename"), count("delete")),
        (1, 1, 1),
        "{routes:?}"
    );

    let now = state(config.path(), f.url());
    assert_eq!(
        now["site/js/app.js"].0, first["site/js/app.js"].0,
        "the same id"
    );
    assert!(!now.contains_key("site/js/lib/util.js"));
    assert!(now.contains_key("elsewhere.txt"));
    for name in ["site/index.html", "site/empty.txt", "site/img dir/çà ñ.txt"] {
        assert_eq!(now[name], first[name], "{name} untouched");
    }
    let out = cubeblob(config.path(), f.url())
        .args(["download", &now["site/js/app.js"].0.to_string(), "-o", "-"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, b"let v = 2;");

    // The manifest matches the server: every file, with the blob's id and uid.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(doc["complete"], true);
    let blobs = doc["blobs"].as_object().unwrap();
    assert_eq!(blobs.len(), 5);
    for record in records(config.path(), f.url()) {
        let name = record["name"].as_str().unwrap();
        if name == outside.name {
            assert!(!blobs.contains_key(name));
            continue;
        }
        assert_eq!(blobs[name]["id"], record["id"], "{name}");
        assert_eq!(blobs[name]["uid"], record["uid"], "{name}");
        assert_eq!(blobs[name]["size"], record["size"], "{name}");
    }
}

#[test]
fn a_dry_run_shows_the_plan_and_writes_nothing() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = site();
    sync(config.path(), f.url(), dir.path(), &[]);
    write(dir.path(), "index.html", "<h1>version 2</h1>");
    write(dir.path(), "added.txt", "x");
    std::fs::remove_file(dir.path().join("empty.txt")).unwrap();
    let before_state = state(config.path(), f.url());
    let before = f.requests().len();
    let (lines, stderr) = sync(
        config.path(),
        f.url(),
        dir.path(),
        &["--dry-run", "--delete"],
    );
    let got = actions(&lines);
    assert_eq!(got["site/index.html"], "replace");
    assert_eq!(got["site/added.txt"], "upload");
    assert_eq!(got["site/empty.txt"], "delete");
    assert_eq!(got["site/js/app.js"], "skip");
    assert!(lines.iter().all(|l| !l.done));
    assert!(
        stderr.contains("would upload 1, replace 1, delete 1"),
        "{stderr}"
    );
    let seen = &f.requests()[before..];
    assert!(writes(seen).is_empty(), "{:?}", writes(seen));
    assert_eq!(state(config.path(), f.url()), before_state);
}

#[test]
fn duplicate_names_refuse_and_incomplete_blobs_are_made_again() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let api = Api::login(&f.server, ALICE);
    let dir = site();
    let a = api.blob("site/index.html", b"one", false);
    let b = api.blob("site/index.html", b"two", false);
    let before = f.requests().len();
    let out = cubeblob(config.path(), f.url())
        .arg("sync")
        .arg(dir.path())
        .args(["--prefix", "site/"])
        .assert()
        .code(6);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("\n`site/index.html`: blobs {}, {}\n", a.id, b.id)),
        "{stderr}"
    );
    assert!(stderr.contains("hint: delete all but one"), "{stderr}");
    assert!(writes(&f.requests()[before..]).is_empty());

    // One of them gone, the other half-made: deleted, and the file uploaded afresh.
    cubeblob(config.path(), f.url())
        .args(["rm", &a.id.to_string(), &b.id.to_string()])
        .assert()
        .success();
    let half = api.incomplete_blob("site/index.html");
    let (lines, _) = sync(config.path(), f.url(), dir.path(), &[]);
    assert!(
        lines
            .iter()
            .any(|l| l.action == "delete" && l.id == Some(half.id)),
        "{lines:?}"
    );
    let now = state(config.path(), f.url());
    assert_eq!(now.len(), 5);
    assert_ne!(now["site/index.html"].0, half.id);
    assert_eq!(now["site/index.html"].2, "complete");
}

#[test]
fn delete_without_a_prefix_needs_yes_and_an_unreadable_file_keeps_its_blob() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let dir = site();
    let before = f.requests().len();
    let out = cubeblob(config.path(), f.url())
        .arg("sync")
        .arg(dir.path())
        .arg("--delete")
        .assert()
        .code(6);
    assert!(
        stderr_of(&out).contains("hint: add `--yes`"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(f.requests().len(), before);

    sync(config.path(), f.url(), dir.path(), &[]);
    // The file becomes a link to nothing: reported, its blob kept despite --delete.
    let target = dir.path().join("js/app.js");
    std::fs::remove_file(&target).unwrap();
    std::os::unix::fs::symlink("nowhere", &target).unwrap();
    let out = cubeblob(config.path(), f.url())
        .args(["--json", "sync"])
        .arg(dir.path())
        .args(["--prefix", "site/", "--delete"])
        .assert()
        .code(1);
    assert!(
        stderr_of(&out).contains("link to nothing"),
        "{}",
        stderr_of(&out)
    );
    assert!(state(config.path(), f.url()).contains_key("site/js/app.js"));
}

#[test]
fn an_interrupted_sync_converges_when_run_again() {
    // The first two storage POSTs go through, the others hang until the interrupt.
    let f = Faulty::start(
        json!([{"route": "s3_post", "skip": 2, "delay_ms": 30_000}]),
        &[],
    );
    let config = logged_in(&f.server, ALICE);
    let dir = site();
    let child = Command::new(bin())
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", f.url())
        .env_remove("CUBEBLOB_TOKEN")
        .args(["--progress", "none", "sync", "-j", "2", "--prefix", "site/"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    f.wait_for("s3_post", 4);
    interrupted(child);
    let partial = state(config.path(), f.url());
    assert!(partial.len() < 5, "{partial:?}");
    assert!(
        partial.values().all(|(_, _, s)| s == "complete"),
        "nothing half-made: {partial:?}"
    );

    let f = f.restart(json!([]));
    let (lines, _) = sync(config.path(), f.url(), dir.path(), &[]);
    assert_eq!(
        lines.iter().filter(|l| l.action == "skip").count(),
        partial.len(),
        "{lines:?}"
    );
    let done = state(config.path(), f.url());
    assert_eq!(done.len(), 5, "{done:?}");
    assert!(done.values().all(|(_, _, s)| s == "complete"));
    let (lines, _) = sync(config.path(), f.url(), dir.path(), &[]);
    assert!(lines.iter().all(|l| l.action == "skip"), "{lines:?}");
}
