//! `edit` (name, content type, both; none is a usage error that sends nothing) and
//! uids wherever a command that changes a blob takes an id: `rm`, `rename`, `edit`
//! and `replace`.

mod cli_support;
mod common;
mod faults_support;

use cli_support::{json_lines, Api};
use common::{cubeblob, logged_in, TestServer, ALICE};
use cubeblob::output::BlobRecord;
use faults_support::{stderr_of, Faulty};
use serde_json::json;
use tempfile::TempDir;

fn download(config: &std::path::Path, url: &str, blob: &str) -> Vec<u8> {
    let out = cubeblob(config, url)
        .args(["download", blob, "-o", "-"])
        .assert()
        .success();
    out.get_output().stdout.clone()
}

#[test]
fn edit_changes_the_name_the_content_type_or_both() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let blob = api.blob("a.txt", b"unchanged", false);
    let id = blob.id.to_string();
    let edit = |args: &[&str]| -> BlobRecord {
        let out = cubeblob(config.path(), &server.url)
            .args(["--json", "edit", &id])
            .args(args)
            .assert()
            .success();
        json_lines::<BlobRecord>(&out.get_output().stdout).remove(0)
    };

    let named = edit(&["--name", "b.txt"]);
    assert_eq!(
        (named.name.as_str(), named.content_type.as_deref()),
        ("b.txt", Some("text/plain"))
    );
    let typed = edit(&["--content-type", "application/json"]);
    assert_eq!(
        (typed.name.as_str(), typed.content_type.as_deref()),
        ("b.txt", Some("application/json"))
    );
    let both = edit(&["--name", "c.csv", "--content-type", "text/csv"]);
    assert_eq!(
        (both.name.as_str(), both.content_type.as_deref()),
        ("c.csv", Some("text/csv"))
    );
    for record in [&named, &typed, &both] {
        assert_eq!(
            (record.id, record.uid.as_str()),
            (blob.id, blob.uid.as_str())
        );
        assert_eq!(record.size, Some(9));
    }
    let on_server = api.get(blob.id).unwrap();
    assert_eq!(
        (on_server.name.as_str(), on_server.uid.as_str()),
        ("c.csv", blob.uid.as_str())
    );
    assert_eq!(on_server.content_type.as_deref(), Some("text/csv"));
    assert_eq!(download(config.path(), &server.url, &id), b"unchanged");

    // Refused before any request: a bad name or content type.
    for (args, expected) in [
        (["--name", ""], "empty"),
        (["--content-type", "csv"], "not a content type"),
    ] {
        let out = cubeblob(config.path(), &server.url)
            .args(["edit", &id])
            .args(args)
            .assert()
            .code(6);
        assert!(stderr_of(&out).contains(expected), "{}", stderr_of(&out));
    }
    assert_eq!(api.get(blob.id).unwrap().name, "c.csv");
}

#[test]
fn an_edit_without_a_change_is_a_usage_error_that_sends_nothing() {
    let f = Faulty::start(json!([]), &[]);
    let config = logged_in(&f.server, ALICE);
    let api = Api::login(&f.server, ALICE);
    let blob = api.blob("a.txt", b"x", false);
    let before = f.requests().len();
    let out = cubeblob(config.path(), f.url())
        .args(["edit", &blob.id.to_string()])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("--name") && stderr.contains("--content-type"),
        "{stderr}"
    );
    assert!(out.get_output().stdout.is_empty());
    assert_eq!(
        f.requests().len(),
        before,
        "no request: {:?}",
        &f.requests()[before..]
    );
}

#[test]
fn uids_are_taken_by_rm_rename_edit_and_replace() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let a = api.blob("a.txt", b"a", false);
    let b = api.blob("b.txt", b"b", false);
    let run = |args: &[&str]| -> BlobRecord {
        let out = cubeblob(config.path(), &server.url)
            .arg("--json")
            .args(args)
            .assert()
            .success();
        json_lines::<BlobRecord>(&out.get_output().stdout).remove(0)
    };

    let renamed = run(&["rename", &a.uid, "renamed.txt"]);
    assert_eq!((renamed.id, renamed.name.as_str()), (a.id, "renamed.txt"));
    let edited = run(&[
        "edit",
        &a.uid.to_uppercase(),
        "--content-type",
        "text/markdown",
    ]);
    assert_eq!(
        (edited.id, edited.content_type.as_deref()),
        (a.id, Some("text/markdown"))
    );
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("new.txt");
    std::fs::write(&file, b"new content").unwrap();
    let replaced = run(&["replace", &a.uid, file.to_str().unwrap()]);
    assert_eq!((replaced.id, replaced.size), (a.id, Some(11)));
    assert_ne!(replaced.uid, a.uid);
    assert_eq!(
        download(config.path(), &server.url, &replaced.uid),
        b"new content"
    );

    // rm: a uid and an id in one batch; both gone.
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "rm", &replaced.uid, &b.id.to_string()])
        .assert()
        .success();
    let deleted: Vec<serde_json::Value> = json_lines(&out.get_output().stdout);
    assert_eq!(deleted[0], json!({"id": a.id, "deleted": true}));
    assert_eq!(deleted[1], json!({"id": b.id, "deleted": true}));
    assert_eq!(api.get(a.id).unwrap_err(), 404);
    assert_eq!(api.get(b.id).unwrap_err(), 404);

    // A uid that names nothing: not found, exit 5, for each of them.
    let gone = replaced.uid.as_str();
    for args in [
        vec!["rm", gone],
        vec!["rename", gone, "x"],
        vec!["edit", gone, "--name", "x"],
        vec!["replace", gone, file.to_str().unwrap()],
    ] {
        cubeblob(config.path(), &server.url)
            .args(&args)
            .assert()
            .code(5);
    }
}
