//! CORS over real HTTP: preflights on every route of the API and of the S3 endpoint
//! (shared or on its own listener), and the CORS headers on every other answer, the
//! errors of handlers, of axum, of the body limits and of the fault plan included.

mod common;
mod faults_support;
#[path = "server_support/mod.rs"]
mod helpers;

use common::*;
use faults_support::Faulty;
use helpers::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::json;

const ORIGIN: &str = "http://127.0.0.1:9";

/// A browser's preflight for a request with the JS SDK's headers.
async fn preflight(url: &str, method: &str) -> Response {
    http()
        .request(Method::OPTIONS, url)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", method)
        .header(
            "Access-Control-Request-Headers",
            "cb-token,cb-sdk,content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` on {} {}", response.status(), response.url()))
        .to_str()
        .unwrap()
}

fn lower_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

fn assert_preflight_ok(response: &Response, method: &str) {
    assert_eq!(response.status(), StatusCode::OK, "{}", response.url());
    assert_eq!(header(response, "access-control-allow-origin"), "*");
    let methods = lower_list(header(response, "access-control-allow-methods"));
    assert!(
        methods.contains(&method.to_ascii_lowercase()),
        "{methods:?}"
    );
    let headers = lower_list(header(response, "access-control-allow-headers"));
    for wanted in ["cb-token", "cb-sdk", "content-type"] {
        assert!(headers.iter().any(|h| h == wanted), "{headers:?}");
    }
}

/// What every non-preflight answer carries, whatever its status.
fn assert_cors(response: &Response) {
    assert_eq!(header(response, "access-control-allow-origin"), "*");
    let exposed = lower_list(header(response, "access-control-expose-headers"));
    assert!(
        exposed.contains(&"cb-token-expirationdate".to_string()),
        "{exposed:?}"
    );
    assert!(exposed.contains(&"date".to_string()), "{exposed:?}");
}

#[tokio::test]
async fn preflights_are_answered_for_every_route_and_method() {
    let server = TestServer::start();
    let url = &server.url;
    let http = http();
    let token = login(&http, url, ALICE).await;
    let blob = create(&http, url, &token, "a.bin", false).await;
    let (upload_url, _) = form_of(&blob);
    let uid = blob["uid"].as_str().unwrap();
    let routes = [
        ("/session", ["POST", "GET", "DELETE"].as_slice()),
        ("/session.json", &["POST"]),
        ("/login.json", &["POST", "DELETE"]),
        ("/blobs", &["GET", "POST"]),
        ("/blobs.json", &["GET"]),
        ("/blobs/7", &["GET", "PUT", "DELETE"]),
        ("/blobs/7.json", &["PUT"]),
        ("/blobs/7/complete.json", &["PUT", "POST"]),
        ("/blobs/x/object.json", &["GET"]),
        ("/blobs/x/download", &["GET"]),
        ("/no/such/route", &["GET"]),
    ];
    for (path, methods) in routes {
        for method in methods {
            let response = preflight(&format!("{url}{path}"), method).await;
            assert_preflight_ok(&response, method);
        }
    }
    // The S3 endpoint on the API's listener: the form's URL and an object's.
    assert_preflight_ok(&preflight(&upload_url, "POST").await, "POST");
    let object = format!("{}/{uid}", upload_url.trim_end_matches('/'));
    assert_preflight_ok(&preflight(&object, "GET").await, "GET");
}

#[tokio::test]
async fn every_answer_carries_the_cors_headers_errors_included() {
    let server = TestServer::start();
    let url = &server.url;
    let http = http();

    // Success: a session, with its expiry header exposed.
    let response = http
        .post(format!("{url}/session"))
        .header("Origin", ORIGIN)
        .json(&json!({"application_id": 1, "auth_key": AUTH_KEY,
                      "user": {"login": ALICE.0, "password": ALICE.1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_cors(&response);
    let (_, body) = json_of(response).await;
    let token = body["session"]["token"].as_str().unwrap().to_string();

    // A handler's errors: 401, 404, 422; axum's: no route, wrong method.
    let answers = [
        http.get(format!("{url}/blobs")).send().await.unwrap(),
        http.get(format!("{url}/blobs/999"))
            .header("CB-Token", &token)
            .send()
            .await
            .unwrap(),
        http.post(format!("{url}/blobs"))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"name": ""}}))
            .send()
            .await
            .unwrap(),
        http.get(format!("{url}/nothing/here"))
            .send()
            .await
            .unwrap(),
        http.patch(format!("{url}/blobs")).send().await.unwrap(),
    ];
    let expected = [401, 404, 422, 404, 405];
    for (response, status) in answers.iter().zip(expected) {
        assert_eq!(response.status().as_u16(), status, "{}", response.url());
        assert_cors(response);
    }

    // The body limit's 413, before the handler reads anything.
    let response = http
        .post(format!("{url}/session"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("login={}", "a".repeat(100 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_cors(&response);

    // The S3 endpoint's XML errors and its download.
    let blob = upload(&http, url, &token, "a.bin", b"abc", false).await;
    let response = http
        .get(format!(
            "{url}/blobs/{}/download",
            blob["uid"].as_str().unwrap()
        ))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_cors(&response);
    let location = header(&response, "location").to_string();
    let response = http.get(&location).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_cors(&response);
    let tampered = location.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let response = http.get(&tampered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_cors(&response);
}

#[tokio::test]
async fn a_separate_s3_listener_has_cors_too_its_size_limit_included() {
    let server = TestServer::start_with(&["--s3-listen", "127.0.0.1:0", "--max-size", "10"]);
    let url = &server.url;
    let http = http();
    let token = login(&http, url, ALICE).await;
    let blob = create(&http, url, &token, "big.bin", false).await;
    let (upload_url, fields) = form_of(&blob);
    assert!(!upload_url.starts_with(url.as_str()), "{upload_url}");
    assert_preflight_ok(&preflight(&upload_url, "POST").await, "POST");

    let response = post_form(&http, &upload_url, &fields, &[7; 64], &[]).await;
    assert_cors(&response);
    let (status, code, _) = s3_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "EntityTooLarge")
    );

    let response = http
        .get(format!("{upload_url}/nothing"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert_cors(&response);
}

#[tokio::test]
async fn the_fault_plans_answers_carry_the_cors_headers() {
    let faulty = Faulty::start(
        json!([{"route": "list", "status": 503}, {"route": "create", "status": 429, "retry_after": 1}]),
        &[],
    );
    let http = http();
    let token = login(&http, faulty.url(), ALICE).await;
    let response = http
        .get(format!("{}/blobs", faulty.url()))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_cors(&response);
    let response = http
        .post(format!("{}/blobs", faulty.url()))
        .header("CB-Token", &token)
        .json(&json!({"blob": {"name": "a", "content_type": "text/plain", "public": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_cors(&response);
    // A preflight is the browser's, not the app's request: the plan never sees it.
    assert_preflight_ok(
        &preflight(&format!("{}/blobs", faulty.url()), "GET").await,
        "GET",
    );
    assert_eq!(faulty.to("list").len(), 1);
}
