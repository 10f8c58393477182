//! `cubeblob serve` against hostile peers: bodies built to exhaust it, sockets left
//! idle, a full disk, forged `Host` headers. Nothing of it may stop the server or
//! lock other clients out.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

/// The body of a refused request is the contract's `{"errors":{"base":[MESSAGE]}}`;
/// the message.
async fn base_error(response: reqwest::Response, expected: StatusCode) -> String {
    let (status, body) = json_of(response).await;
    assert_eq!(status, expected, "{body}");
    body["errors"]["base"][0]
        .as_str()
        .unwrap_or_else(|| panic!("not the contract's error shape: {body}"))
        .to_string()
}

#[tokio::test]
async fn nested_and_oversized_bodies_get_a_4xx_and_the_server_lives_on() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;

    // The crash: a form key nesting `[x]` 20,000 times.
    let form = format!("user{}=1", "[x]".repeat(20_000));
    let response = http
        .post(format!("{url}/session"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("the server answers a deeply nested form");
    let message = base_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("nests deeper"), "{message}");

    // Deeply nested JSON, from an anonymous and from a logged-in caller.
    let token = login(&http, url, ALICE).await;
    let json = format!("{}1{}", "{\"blob\":".repeat(5_000), "}".repeat(5_000));
    for path in ["session", "blobs"] {
        let response = http
            .post(format!("{url}/{path}"))
            .header("Content-Type", "application/json")
            .header("CB-Token", &token)
            .body(json.clone())
            .send()
            .await
            .expect("the server answers a deeply nested JSON body");
        base_error(response, StatusCode::BAD_REQUEST).await;
    }
    let shallow_but_too_deep = format!("{}1{}", "{\"blob\":".repeat(20), "}".repeat(20));
    let response = http
        .post(format!("{url}/blobs"))
        .header("Content-Type", "application/json")
        .header("CB-Token", &token)
        .body(shallow_but_too_deep)
        .send()
        .await
        .unwrap();
    let message = base_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("nests deeper"), "{message}");

    // A body far larger than any API request: refused before it is read whole.
    let huge = format!("login={}", "a".repeat(100 * 1024));
    let response = http
        .post(format!("{url}/session"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    base_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Still serving: a normal login and a normal upload.
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "after.bin", b"still here", false).await;
    assert_eq!(blob["size"], Value::from(10));
}
