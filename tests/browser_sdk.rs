//! The vendor's JS SDK (`connectycube` 6.1.2, its browser bundle) in headless
//! Chromium, from a page on another origin than `cubeblob serve`: session, upload of
//! a `File` made in the page, info, list, a download URL and a `fetch` of it, the
//! private URL in an `<img>`, and delete (tests/js/index.html, driven by
//! tests/js/browser.mjs with Playwright). Then the bytes on the server are checked.
//!
//! Needs Debian's Chromium (`/usr/bin/chromium`, or `CUBEBLOB_CHROMIUM`), Node.js and
//! `npm ci` in tests/js; `.ci/run` installs them. Without them the test is
//! skipped with a message, unless `CUBEBLOB_REQUIRE_BROWSER=1` makes that a failure.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

const STEPS: [&str; 8] = [
    "session",
    "createAndUpload",
    "getInfo",
    "list",
    "getFileObject",
    "fetch",
    "privateUrl img",
    "delete",
];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// What is missing to run the browser test, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var("CUBEBLOB_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at `{chromium}` (apt-get install chromium)"
        ));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("no `node` on PATH".into());
    }
    for package in ["connectycube", "playwright-core"] {
        if !browser_dir().join("node_modules").join(package).is_dir() {
            return Some(format!(
                "no `{package}` in tests/js/node_modules (run `npm ci` there)"
            ));
        }
    }
    None
}

#[tokio::test]
async fn the_vendor_sdk_works_in_a_browser_from_another_origin() {
    if let Some(what) = missing() {
        let required = std::env::var("CUBEBLOB_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(!required, "CUBEBLOB_REQUIRE_BROWSER=1 but {what}");
        eprintln!("skipped: {what}; set CUBEBLOB_REQUIRE_BROWSER=1 to make this a failure");
        return;
    }
    let server = TestServer::start();
    let url = server.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("browser.mjs")
            .current_dir(browser_dir())
            .env("CB_API", &url)
            .env("CB_LOGIN", ALICE.0)
            .env("CB_PASSWORD", ALICE.1)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser.mjs failed:\n{stderr}");
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|err| panic!("{err}: {stdout}\n{stderr}"));

    // Each step, in order, passed in the page.
    let steps = result["steps"].as_array().unwrap();
    for (i, name) in STEPS.iter().enumerate() {
        let step = steps
            .get(i)
            .unwrap_or_else(|| panic!("step `{name}` never ran: {result:#}\n{stderr}"));
        assert_eq!(step["name"], *name);
        assert_eq!(
            step["ok"], true,
            "step `{name}`: {}\n{stderr}",
            step["detail"]
        );
    }
    let origin = result["page_origin"].as_str().unwrap();
    assert_ne!(origin, server.url, "the page must be on another origin");
    assert!(
        steps[5]["detail"]["content_type"] == "image/png",
        "{result:#}"
    );

    // The bytes the page made are what the server holds; the deleted blob is gone.
    let uploaded = base64::engine::general_purpose::STANDARD
        .decode(result["uploaded_b64"].as_str().unwrap())
        .unwrap();
    let http = helpers::http();
    let token = helpers::login(&http, &server.url, ALICE).await;
    let kept = result["kept"]["uid"].as_str().unwrap();
    let stored = helpers::download(
        &http,
        &format!("{}/blobs/{kept}/download?token={token}", server.url),
    )
    .await;
    assert_eq!(stored, uploaded);
    let gone = &result["deleted"]["id"];
    let response = http
        .get(format!("{}/blobs/{gone}", server.url))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
