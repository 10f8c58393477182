//! Credentials stay where they belong: no token or password in any output, `-v`
//! included, even through retries and a session renewal; no token in any request to
//! the storage host (a second listener whose every header the fault plan's log
//! records); and no plain-http API URL for a host other than loopback unless asked.

mod common;
mod faults_support;
mod transfer_util;

use std::collections::BTreeSet;

use common::{cubeblob, ALICE};
use faults_support::{alice_credentials, stderr_of, Faulty};
use serde_json::json;
use tempfile::TempDir;
use transfer_util::{json_lines, random_file};

#[test]
fn tokens_never_reach_storage_nor_any_output() {
    // Storage on its own port; a 503 and a lost session on the way, so that retries
    // and a renewal are logged too.
    let f = Faulty::start(
        json!([
            {"route": "s3_post", "first": 1, "status": 503},
            {"route": "complete", "first": 1, "status": 401, "end_session": true},
        ]),
        &["--s3-listen", "127.0.0.1:0"],
    );
    let config = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let file = random_file(dir.path(), "t.bin", 40_000, 1);
    let mut outputs = Vec::new();
    let mut run = |args: &[&str]| {
        let out = alice_credentials(&mut cubeblob(config.path(), f.url()))
            .arg("-v")
            .args(args)
            .assert()
            .success();
        outputs.push(out.get_output().stdout.clone());
        outputs.push(out.get_output().stderr.clone());
        out
    };
    let up = run(&["--json", "upload", "--public", file.to_str().unwrap()]);
    let blob = json_lines(&up.get_output().stdout)[0].clone();
    let (id, uid) = (blob["id"].to_string(), blob["uid"].as_str().unwrap());
    run(&["info", "--url", &id]);
    run(&["info", uid]);
    run(&["list", "--all"]);
    run(&[
        "download",
        &id,
        "-o",
        dir.path().join("c.bin").to_str().unwrap(),
    ]);
    run(&["download", uid, "-o", "-"]);
    run(&["rename", &id, "renamed.bin"]);
    run(&["whoami"]);
    run(&["rm", &id]);

    let requests = f.requests();
    let tokens: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r.header("cb-token").map(str::to_string))
        .collect();
    assert!(
        tokens.len() >= 2,
        "the first token and the renewed one: {tokens:?}"
    );
    // Each command makes its own session from the environment; the upload, a second.
    let created = f
        .to("session")
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(created, outputs.len() / 2 + 1);
    for output in &outputs {
        let text = String::from_utf8_lossy(output);
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "a token in the output: {text}"
            );
        }
        assert!(
            !text.contains(ALICE.1),
            "the password in the output: {text}"
        );
    }
    // Presigned signatures are credentials too: stderr (the `-v` log, the messages)
    // shows them redacted. (`info --url` prints one on stdout: that is its data.)
    for stderr in outputs.iter().skip(1).step_by(2) {
        let text = String::from_utf8_lossy(stderr);
        for (at, _) in text.match_indices("X-Amz-Signature=") {
            let value = &text[at + "X-Amz-Signature=".len()..];
            assert!(value.starts_with("%3Credacted%3E"), "{text}");
        }
    }

    let api_host = f.url().trim_start_matches("http://");
    let storage: Vec<_> = requests
        .iter()
        .filter(|r| r.route.starts_with("s3_"))
        .collect();
    assert_eq!(
        storage.len(),
        4,
        "two POSTs (one refused) and a GET per download: {storage:?}"
    );
    for r in &storage {
        let host = r.header("host").unwrap();
        assert_ne!(host, api_host, "storage is the other listener");
        assert!(r.header("cb-token").is_none(), "{r:?}");
        for token in &tokens {
            assert!(!r.uri.contains(token.as_str()), "{r:?}");
            assert!(
                r.headers.iter().all(|(_, v)| !v.contains(token.as_str())),
                "{r:?}"
            );
        }
    }
}

#[test]
fn plain_http_is_refused_for_any_host_but_loopback() {
    let config = TempDir::new().unwrap();
    for url in [
        "http://api.example.com",
        "http://10.255.255.1:9",
        "http://[fd00::1]:9",
    ] {
        // Exit 6, a local input error: no request was made (one would end in 3 or 5).
        let out = cubeblob(config.path(), url)
            .env("CUBEBLOB_TOKEN", "not-a-real-token")
            .args(["--timeout", "1", "--retries", "0", "list"])
            .assert()
            .code(6);
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains(&format!("refusing the plain http API URL `{url}`")),
            "{stderr}"
        );
        assert!(
            stderr.contains("hint: use https, or pass `--allow-insecure-http`"),
            "{stderr}"
        );

        // With the option the URL is used: whatever the network then says, it is
        // not the refusal.
        let out = cubeblob(config.path(), url)
            .env("CUBEBLOB_TOKEN", "not-a-real-token")
            .args(["--allow-insecure-http", "--timeout", "1", "--retries", "0"])
            .arg("list")
            .assert()
            .failure();
        assert_ne!(out.get_output().status.code(), Some(6));
        assert!(!stderr_of(&out).contains("refusing"));
    }
}
