//! `info`, `list`, `rename` and `rm` against a real `cubeblob serve`: the piped
//! (TSV) and `--json` forms, the exit codes, and what changed on the server.

mod cli_support;
mod common;

use cli_support::{json_lines, lines, Api};
use common::{cubeblob, logged_in, TestServer, ALICE, BOB};
use cubeblob::output::BlobRecord;
use tempfile::TempDir;

/// Split TSV lines.
fn rows(stdout: &[u8]) -> Vec<Vec<String>> {
    lines(stdout)
        .iter()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn info_by_id_and_uid_in_tsv_and_json() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let a = api.blob("a.txt", b"hello", false);
    let b = api.blob("b.txt", b"hi there", true);

    let out = cubeblob(config.path(), &server.url)
        .args(["info", &a.id.to_string(), &b.uid])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows = rows(&out.stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0][..6],
        [
            a.id.to_string(),
            a.uid.clone(),
            "a.txt".into(),
            "5".into(),
            "text/plain".into(),
            "false".into()
        ]
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(&rows[0][6]).is_ok(),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[1][0], b.id.to_string());
    assert_eq!(rows[1][5], "true");

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "info", &a.id.to_string(), &b.id.to_string()])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    assert_eq!(records[0].name, "a.txt");
    assert_eq!(records[0].size, Some(5));
    assert_eq!(records[0].status.as_deref(), Some("complete"));
    assert_eq!(records[0].public_url, None);
    assert!(records[1]
        .public_url
        .as_deref()
        .unwrap()
        .ends_with(&format!("/blobs/{}", b.uid)));
}

#[test]
fn info_url_adds_a_working_download_url() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let a = Api::login(&server, ALICE).blob("a.txt", b"hello", false);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "info", "--url", &a.id.to_string()])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    let url = records[0].url.clone().expect("a download URL");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async { reqwest::get(&url).await.unwrap().bytes().await.unwrap() });
    assert_eq!(&body[..], b"hello");

    let out = cubeblob(config.path(), &server.url)
        .args(["info", "--url", &a.uid])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(rows(&out.stdout)[0].len(), 8, "TSV gains a url column");

    // An upload that never completed has no content: not found, for info as for
    // download.
    let unfinished = Api::login(&server, ALICE).incomplete_blob("half.txt");
    let dir = TempDir::new().unwrap();
    for args in [
        vec!["info", "--url"],
        vec!["download", "-o", dir.path().to_str().unwrap()],
    ] {
        let out = cubeblob(config.path(), &server.url)
            .args(&args)
            .arg(unfinished.id.to_string())
            .assert()
            .code(5);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains("never completed"), "{args:?}: {stderr}");
    }
}

#[test]
fn info_exit_codes_follow_the_batch_rule() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let mine = Api::login(&server, ALICE).blob("a.txt", b"hello", false);
    let bobs = Api::login(&server, BOB).blob("secret.txt", b"bob's", false);
    let info = |ids: &[String]| {
        cubeblob(config.path(), &server.url)
            .arg("info")
            .args(ids)
            .output()
            .unwrap()
    };
    // One missing blob: that blob's error and exit 5.
    let out = info(&["999999".into()]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("cubeblob: error: get blob 999999 failed: 404"),
        "{stderr}"
    );
    // Another user's private blob: forbidden, exit 4.
    let out = info(&[bobs.id.to_string()]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // All failed alike: that code, after a summary.
    let out = info(&["999998".into(), "999999".into()]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 2 failed"));
    // Some failed: the rest is printed, exit 1.
    let out = info(&[mine.id.to_string(), "999999".into(), bobs.id.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rows(&out.stdout).len(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 3 failed"));
    // A malformed id: exit 6, and no request (nothing listens on port 9).
    cubeblob(config.path(), "http://127.0.0.1:9")
        .args(["info", "12", "../etc"])
        .assert()
        .code(6);
}

#[test]
fn list_pages_in_tsv_and_json() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let ids = api.many(5, "f");
    Api::login(&server, BOB).blob("bobs.txt", b"x", false);

    let out = cubeblob(config.path(), &server.url)
        .arg("list")
        .assert()
        .success()
        .get_output()
        .clone();
    let listed: Vec<u64> = rows(&out.stdout)
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ids, "alice sees her own blobs only");
    assert!(rows(&out.stdout).iter().all(|r| r.len() == 7));

    let out = cubeblob(config.path(), &server.url)
        .args(["list", "--json", "--per-page", "2", "--page", "2"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    assert_eq!(records.len(), 2);
    assert_eq!(
        records.iter().map(|r| r.id).collect::<Vec<_>>(),
        listed[2..4]
    );

    let out = cubeblob(config.path(), &server.url)
        .args(["list", "--all", "--per-page", "2"])
        .assert()
        .success()
        .get_output()
        .clone();
    let all: Vec<u64> = rows(&out.stdout)
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert_eq!(all, listed);
}

#[test]
fn list_checks_per_page_before_any_request() {
    let config = TempDir::new().unwrap();
    for bad in ["0", "101"] {
        let out = cubeblob(config.path(), "http://127.0.0.1:9")
            .env("CUBEBLOB_TOKEN", "0123456789")
            .args(["-v", "list", "--per-page", bad])
            .assert()
            .code(6)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("`--per-page` must be 1 to 100"), "{stderr}");
        assert!(!stderr.contains("> GET"), "no request: {stderr}");
    }
}

#[test]
fn rename_prints_the_new_record_and_checks_the_name_first() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let a = api.blob("a.txt", b"hello", false);
    let id = a.id.to_string();

    let out = cubeblob(config.path(), &server.url)
        .args(["rename", &id, "b.txt"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(rows(&out.stdout)[0][2], "b.txt");
    assert_eq!(api.get(a.id).unwrap().name, "b.txt");

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "rename", &id, "ünïcødé.txt"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    assert_eq!(records[0].name, "ünïcødé.txt");
    assert_eq!(records[0].id, a.id);

    for bad in [String::new(), "x".repeat(101)] {
        cubeblob(config.path(), "http://127.0.0.1:9")
            .args(["rename", &id, &bad])
            .assert()
            .code(6);
    }
    assert_eq!(api.get(a.id).unwrap().name, "ünïcødé.txt");
    cubeblob(config.path(), &server.url)
        .args(["rename", "999999", "x"])
        .assert()
        .code(5);
}

#[test]
fn rm_deletes_goes_on_past_failures_and_dry_run_deletes_nothing() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let ids = api.many(3, "rm");
    let id = |i: usize| ids[i].to_string();

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "rm", "--dry-run", &id(0), &id(1)])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    assert_eq!(records.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..2]);
    assert!(api.get(ids[0]).is_ok() && api.get(ids[1]).is_ok());

    let out = cubeblob(config.path(), &server.url)
        .args(["rm", &id(0), "999999", &id(1)])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(lines(&out.stdout), [id(0), id(1)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 3 failed"));
    assert_eq!(api.get(ids[0]).unwrap_err(), 404);
    assert_eq!(api.get(ids[1]).unwrap_err(), 404);

    #[derive(serde::Deserialize)]
    struct Deleted {
        id: u64,
        deleted: bool,
    }
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "rm", &id(2)])
        .assert()
        .success()
        .get_output()
        .clone();
    let deleted: Vec<Deleted> = json_lines(&out.stdout);
    assert!(deleted[0].id == ids[2] && deleted[0].deleted);
    cubeblob(config.path(), &server.url)
        .args(["rm", &id(2)])
        .assert()
        .code(5);
}

#[test]
fn rm_of_another_users_blob_is_forbidden() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let bobs = Api::login(&server, BOB).blob("b.txt", b"b", false);
    cubeblob(config.path(), &server.url)
        .args(["rm", &bobs.id.to_string()])
        .assert()
        .code(4);
    assert!(Api::login(&server, BOB).get(bobs.id).is_ok());
}
