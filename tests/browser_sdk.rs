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
mod js_support;

use base64::Engine as _;
use common::*;
use reqwest::StatusCode;

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

#[tokio::test]
async fn the_vendor_sdk_works_in_a_browser_from_another_origin() {
    if !js_support::ready(true) {
        return;
    }
    let server = TestServer::start();
    let (result, stderr) = js_support::run("browser.mjs", &server.url).await;
    let steps = &result["steps"];
    js_support::assert_all_passed(steps, &STEPS, &stderr);
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
