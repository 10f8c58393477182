//! The client and the server on a real S3 store that nobody here wrote (SeaweedFS in
//! CI, from `.ci/seaweedfs.sh`): uploads, downloads, rename, edit, replace, delete,
//! bad input and expired or spoiled forms, with the store itself checking every form. Without
//! `CUBEBLOB_TEST_S3_ENDPOINT` these tests say they were skipped; with
//! `CUBEBLOB_REQUIRE_S3` (CI) they fail instead. The last test needs no store: it
//! proves the field order on our own endpoint, the one store that checks it.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;
mod transfer_util;

use std::path::Path;
use std::time::Duration;

use common::{cubeblob, logged_in, ExternalS3, TestServer, ALICE};
use reqwest::StatusCode;
use serde_json::{json, Value};
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

/// `cubeblob --json upload FILE`: the one result line.
fn upload(config: &Path, server: &TestServer, file: &Path) -> Value {
    let out = cubeblob(config, &server.url)
        .args(["--json", "upload"])
        .arg(file)
        .assert()
        .success();
    json_lines(&out.get_output().stdout).remove(0)
}

/// The presigned download URL the server hands out for a blob.
fn download_url(config: &Path, server: &TestServer, id: &Value) -> String {
    let out = cubeblob(config, &server.url)
        .args(["--json", "info", "--url", &id.to_string()])
        .assert()
        .success();
    json_lines(&out.get_output().stdout)[0]["url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Status and body of a plain GET, from a test that is not async.
fn get(url: &str) -> (StatusCode, Vec<u8>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let response = reqwest::get(url).await.unwrap();
        (response.status(), response.bytes().await.unwrap().to_vec())
    })
}

#[test]
fn round_trips_through_the_store_are_byte_exact() {
    let Some(s3) = ExternalS3::from_env("round_trips_through_the_store_are_byte_exact") else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
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
        let name = line["name"].as_str().unwrap();
        let file = dir.path().join(name);
        // The size the server kept is what the store reported.
        assert_eq!(
            line["size"].as_u64().unwrap(),
            std::fs::metadata(&file).unwrap().len(),
            "{name}"
        );
        assert_eq!(line["status"], "complete");

        // The download comes from the store, not from the server.
        let url = download_url(config.path(), &server, &line["id"]);
        let uid = line["uid"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/{uid}?", s3.bucket_url())),
            "{url}"
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
            "{name} differs after a round trip"
        );
    }
}

#[test]
fn a_renamed_public_blob_keeps_its_object() {
    let Some(s3) = ExternalS3::from_env("a_renamed_public_blob_keeps_its_object") else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "before.bin", 300_000, 5);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "upload", "--public"])
        .arg(&file)
        .assert()
        .success();
    let line = json_lines(&out.get_output().stdout).remove(0);
    let id = line["id"].to_string();

    cubeblob(config.path(), &server.url)
        .args(["rename", &id, "after.bin"])
        .assert()
        .success();
    let target = dir.path().join("down");
    std::fs::create_dir(&target).unwrap();
    cubeblob(config.path(), &server.url)
        .args(["download", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    assert!(same_bytes(&file, &target.join("after.bin")));

    // The public URL needs no token: a 301 to the store, whose answer is the bytes.
    let (status, bytes) = get(line["public_url"].as_str().unwrap());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, std::fs::read(&file).unwrap());
}

#[test]
fn rm_deletes_the_object_from_the_store() {
    let Some(s3) = ExternalS3::from_env("rm_deletes_the_object_from_the_store") else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "doomed.bin", 100_000, 6);
    let id = upload(config.path(), &server, &file)["id"].clone();
    let url = download_url(config.path(), &server, &id);
    let (status, bytes) = get(&url);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, std::fs::read(&file).unwrap());

    cubeblob(config.path(), &server.url)
        .args(["rm", &id.to_string()])
        .assert()
        .success();
    // The URL is still validly signed: only the object's absence can refuse it.
    let (status, body) = get(&url);
    let body = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(helpers::element(&body, "Code"), "NoSuchKey");
    assert!(blobs_on_server(config.path(), &server).is_empty());
}

#[test]
fn replace_and_edit_keep_the_id_and_leave_no_old_object_in_the_store() {
    let Some(s3) =
        ExternalS3::from_env("replace_and_edit_keep_the_id_and_leave_no_old_object_in_the_store")
    else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let first = random_file(dir.path(), "v1.bin", 200_000, 12);
    let line = upload(config.path(), &server, &first);
    let id = line["id"].clone();
    let mut old_uid = line["uid"].as_str().unwrap().to_string();

    for (file, seed) in [("v2.bin", 13), ("v3.bin", 14)] {
        let old_url = download_url(config.path(), &server, &id);
        let size = if seed == 13 { 700_000 } else { 20 };
        let file = random_file(dir.path(), file, size, seed);
        let out = cubeblob(config.path(), &server.url)
            .args(["--json", "replace", &id.to_string()])
            .arg(&file)
            .assert()
            .success();
        let replaced = json_lines(&out.get_output().stdout).remove(0);
        assert_eq!(replaced["id"], id);
        assert_eq!(replaced["size"], size);
        let uid = replaced["uid"].as_str().unwrap().to_string();
        assert_ne!(uid, old_uid);

        // The old object is gone from the bucket: its URL is still validly signed,
        // so only the object's absence can refuse it.
        let (status, body) = get(&old_url);
        let body = String::from_utf8_lossy(&body).to_string();
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(helpers::element(&body, "Code"), "NoSuchKey");
        // The new one is in the store under the new uid, byte-exact.
        let url = download_url(config.path(), &server, &id);
        assert!(
            url.starts_with(&format!("{}/{uid}?", s3.bucket_url())),
            "{url}"
        );
        let (status, bytes) = get(&url);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, std::fs::read(&file).unwrap());
        old_uid = uid;
    }

    // An edit changes the record and leaves the object where it is.
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "edit", &old_uid, "--name", "final.bin"])
        .args(["--content-type", "application/x-final"])
        .assert()
        .success();
    let edited = json_lines(&out.get_output().stdout).remove(0);
    assert_eq!(
        (&edited["id"], edited["uid"].as_str()),
        (&id, Some(old_uid.as_str()))
    );
    assert_eq!(edited["name"], "final.bin");
    assert_eq!(edited["content_type"], "application/x-final");
    let back = dir.path().join("back.bin");
    cubeblob(config.path(), &server.url)
        .args(["download", &id.to_string(), "-o"])
        .arg(&back)
        .assert()
        .success();
    assert!(same_bytes(&dir.path().join("v3.bin"), &back));
    assert_eq!(blobs_on_server(config.path(), &server).len(), 1);
}

#[test]
fn bad_input_is_refused_before_the_store_is_asked() {
    let Some(s3) = ExternalS3::from_env("bad_input_is_refused_before_the_store_is_asked") else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let big = random_file(dir.path(), "too-big.bin", 2000, 7);
    let long = random_file(dir.path(), &format!("{}.txt", "n".repeat(101)), 3, 8);

    for (file, code, expected) in [(&big, 6, "2000"), (&long, 6, "1 to 100")] {
        let out = cubeblob(config.path(), &server.url)
            .args(["-v", "upload", "--max-size", "1000"])
            .arg(file)
            .assert()
            .code(code);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("> "), "no request was logged: {stderr}");
    }
    assert!(blobs_on_server(config.path(), &server).is_empty());
}

#[test]
fn the_servers_limit_holds_though_the_store_takes_any_size() {
    let Some(s3) = ExternalS3::from_env("the_servers_limit_holds_though_the_store_takes_any_size")
    else {
        return;
    };
    // The contract's policy has no length condition, so the store takes the 2 MB; the
    // server learns the size at complete, refuses it, and the client rolls back.
    let server = TestServer::start_on(&s3, &["--max-size", "1000000"]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "two-mb.bin", 2_000_000, 9);

    let out = cubeblob(config.path(), &server.url)
        .args(["upload"])
        .arg(&file)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("two-mb.bin") && stderr.contains("too large"),
        "{stderr}"
    );
    assert!(blobs_on_server(config.path(), &server).is_empty());
}

#[tokio::test]
async fn an_expired_form_is_refused_by_the_store_itself() {
    let Some(s3) = ExternalS3::from_env("an_expired_form_is_refused_by_the_store_itself") else {
        return;
    };
    let server = TestServer::start_on(&s3, &["--form-ttl", "1"]);
    let http = helpers::http();
    let token = helpers::login(&http, &server.url, ALICE).await;
    let blob = helpers::create(&http, &server.url, &token, "late.bin", false).await;
    let (upload_url, fields) = helpers::form_of(&blob);
    assert_eq!(upload_url, s3.bucket_url(), "the form is for the store");
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let response = helpers::post_form(&http, &upload_url, &fields, b"too late", &[]).await;
    let (status, code, message) = helpers::s3_error(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code, "AccessDenied");
    assert!(message.contains("Policy expired"), "{message}");

    // Nothing reached the store, so there is nothing to complete.
    let id = blob["id"].as_u64().unwrap();
    let (status, body) = helpers::json_of(
        http.put(format!("{}/blobs/{id}/complete", server.url))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"size": 8}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("not been uploaded"), "{body}");
}

#[tokio::test]
async fn complete_keeps_the_size_the_store_reports() {
    let Some(s3) = ExternalS3::from_env("complete_keeps_the_size_the_store_reports") else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let http = helpers::http();
    let token = helpers::login(&http, &server.url, ALICE).await;
    let blob = helpers::create(&http, &server.url, &token, "sized.bin", false).await;
    let (upload_url, fields) = helpers::form_of(&blob);
    let content = helpers::content(3, 12_345);
    let response = helpers::post_form(&http, &upload_url, &fields, &content, &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let xml = response.text().await.unwrap();
    // SeaweedFS writes the quotes as `&#34;` (Go's encoding/xml), as the client reads.
    let etag = cubeblob::api::xml_element(&xml, "ETag").unwrap();
    assert_eq!(etag, format!("\"{}\"", helpers::md5_hex(&content)), "{xml}");

    // The declared size is wrong; the server asks the store.
    let id = blob["id"].as_u64().unwrap();
    let response = http
        .put(format!("{}/blobs/{id}/complete", server.url))
        .header("CB-Token", &token)
        .json(&json!({"blob": {"size": 999}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, info) = helpers::json_of(
        http.get(format!("{}/blobs/{id}", server.url))
            .header("CB-Token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["blob"]["size"], 12_345);
    assert_eq!(info["blob"]["blob_status"], "complete");
}

#[test]
fn spoiled_forms_surface_the_stores_refusal_and_leave_no_record() {
    let Some(s3) =
        ExternalS3::from_env("spoiled_forms_surface_the_stores_refusal_and_leave_no_record")
    else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "photo.jpg", 50_000, 10);
    for (how, refusal) in [
        ("content-type", "Policy Condition failed"),
        ("extra-field", "Extra input fields"),
        ("expired", "Policy expired"),
    ] {
        let server = TestServer::start_on(&s3, &["--s3-tamper", how]);
        let config = logged_in(&server, ALICE);
        let out = cubeblob(config.path(), &server.url)
            .args(["upload"])
            .arg(&file)
            .assert()
            .code(3);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        for expected in [
            "photo.jpg",
            "sending to storage failed: 403 AccessDenied",
            refusal,
        ] {
            assert!(stderr.contains(expected), "{how}: {expected:?} in {stderr}");
        }
        assert!(
            blobs_on_server(config.path(), &server).is_empty(),
            "{how}: no record left"
        );
    }
}

#[test]
fn the_server_will_not_start_on_a_store_it_cannot_use() {
    let dir = TempDir::new().unwrap();
    let serve = |store: &[&str]| {
        // Keys come from the options alone, not from the caller's AWS settings.
        let out = cubeblob(dir.path(), "http://127.0.0.1:9")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .args(store)
            .timeout(Duration::from_secs(60))
            .assert()
            .failure();
        let output = out.get_output();
        assert!(output.stdout.is_empty(), "no start line");
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    // Needs no store: nothing listens on port 9.
    let stderr = serve(&[
        "--s3-endpoint",
        "http://127.0.0.1:9",
        "--s3-bucket",
        "b",
        "--s3-access-key",
        "AK",
        "--s3-secret-key",
        "hush-hush",
    ]);
    assert!(stderr.contains("cannot reach the S3 store"), "{stderr}");
    assert!(!stderr.contains("hush-hush"), "{stderr}");
    let stderr = serve(&["--s3-endpoint", "http://127.0.0.1:9", "--s3-bucket", "b"]);
    assert!(stderr.contains("needs keys"), "{stderr}");

    let Some(s3) = ExternalS3::from_env("the_server_will_not_start_on_a_store_it_cannot_use")
    else {
        return;
    };
    let mut wrong_secret = s3.clone();
    wrong_secret.secret_key = "not-the-secret".into();
    let args = wrong_secret.serve_args();
    let stderr = serve(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stderr.contains("refused the access key"), "{stderr}");
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
    let mut no_bucket = s3.clone();
    no_bucket.bucket = "no-such-bucket-here".into();
    let args = no_bucket.serve_args();
    let stderr = serve(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr.contains("no bucket `no-such-bucket-here`"),
        "{stderr}"
    );
}

/// SeaweedFS accepts fields after the file and Amazon S3 ignores them, so neither
/// would notice a client that sent the form out of order. Our own endpoint refuses
/// them (and a file before the policy fails its signature check): the client's
/// uploads through it prove the fields come first and the file last.
#[tokio::test]
async fn the_file_goes_last_as_our_own_endpoint_demands() {
    let server = TestServer::start();
    let http = helpers::http();
    let token = helpers::login(&http, &server.url, ALICE).await;
    let blob = helpers::create(&http, &server.url, &token, "x.bin", false).await;
    let (upload_url, fields) = helpers::form_of(&blob);
    let late = [("x-amz-meta-late", "1")];
    let response = helpers::post_form(&http, &upload_url, &fields, b"abc", &late).await;
    let (status, code, _) = helpers::s3_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "InvalidArgument")
    );

    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "ordered.bin", 70_000, 11);
    let line = upload(config.path(), &server, &file);
    assert_eq!(line["size"], 70_000);
}

/// `sync --json DIR --prefix P`: the action of each line, by blob name.
fn sync_actions(config: &Path, server: &TestServer, dir: &Path) -> Vec<(String, String)> {
    let out = cubeblob(config, &server.url)
        .args(["--json", "sync", "--prefix", "site/"])
        .arg(dir)
        .assert()
        .success();
    let mut actions: Vec<(String, String)> = json_lines(&out.get_output().stdout)
        .iter()
        .map(|l| {
            let field = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (field("name"), field("action"))
        })
        .collect();
    actions.sort();
    actions
}

#[test]
fn sync_reads_the_stores_etags_so_unchanged_files_are_skipped() {
    let Some(s3) =
        ExternalS3::from_env("sync_reads_the_stores_etags_so_unchanged_files_are_skipped")
    else {
        return;
    };
    let server = TestServer::start_on(&s3, &[]);
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    random_file(dir.path(), "a.bin", 10_000, 1);
    random_file(dir.path(), "b.bin", 0, 2);
    let first = sync_actions(config.path(), &server, dir.path());
    let pairs = |a: &str, b: &str| {
        vec![
            ("site/a.bin".to_string(), a.to_string()),
            ("site/b.bin".to_string(), b.to_string()),
        ]
    };
    assert_eq!(first, pairs("upload", "upload"));

    // No manifest: only the store's ETag (a ranged GET) can tell the files are unchanged.
    assert_eq!(
        sync_actions(config.path(), &server, dir.path()),
        pairs("skip", "skip")
    );

    // The same size with other bytes: only the MD5 tells them apart.
    let before = blobs_on_server(config.path(), &server);
    random_file(dir.path(), "a.bin", 10_000, 3);
    assert_eq!(
        sync_actions(config.path(), &server, dir.path()),
        pairs("replace", "skip")
    );
    let after = blobs_on_server(config.path(), &server);
    let id_of = |blobs: &[Value]| {
        blobs
            .iter()
            .find(|b| b["name"] == "site/a.bin")
            .map(|b| b["id"].clone())
    };
    assert_eq!(id_of(&before), id_of(&after), "a replace keeps the id");
    let url = download_url(config.path(), &server, &id_of(&after).unwrap());
    let (status, bytes) = get(&url);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, std::fs::read(dir.path().join("a.bin")).unwrap());
}
