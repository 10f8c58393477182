//! `cubeblob serve` over real HTTP: sessions, tokens, the start line, and the error
//! shapes every route shares.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn expiration_of(response: &reqwest::Response) -> NaiveDateTime {
    let header = response
        .headers()
        .get("CB-Token-ExpirationDate")
        .expect("a CB-Token-ExpirationDate header")
        .to_str()
        .unwrap();
    NaiveDateTime::parse_from_str(header, "%Y-%m-%d %H:%M:%S UTC")
        .unwrap_or_else(|err| panic!("{header:?}: {err}"))
}

#[tokio::test]
async fn user_sessions_from_json_and_form_bodies() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;

    let response = http
        .post(format!("{url}/session"))
        .json(&json!({"application_id": 1, "auth_key": AUTH_KEY,
                      "user": {"login": "alice", "password": "alice-password"}}))
        .send()
        .await
        .unwrap();
    let expires = expiration_of(&response);
    let lifetime = expires - Utc::now().naive_utc();
    assert!(
        (7190..=7201).contains(&lifetime.num_seconds()),
        "{lifetime:?}"
    );
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED);
    let session = &body["session"];
    let token = session["token"].as_str().unwrap();
    assert_eq!(token.len(), 40);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(session["application_id"], 1);
    assert!(session["id"].as_u64().unwrap() > 0);
    assert!(session["ts"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(session["user"]["login"], "alice");
    assert_eq!(session["user_id"], session["user"]["id"]);
    assert!(session["created_at"].as_str().unwrap().ends_with('Z'));

    // Android's form body, on the `.json` path, with `email` for the login.
    let (status, form_body) = json_of(
        http.post(format!("{url}/session.json"))
            .form(&[
                ("application_id", "1"),
                ("auth_key", AUTH_KEY),
                ("user[email]", "bob"),
                ("user[password]", "bob-password"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{form_body}");
    assert_eq!(form_body["session"]["user"]["login"], "bob");

    // GET /session shows the same session and slides its expiry.
    let response = http
        .get(format!("{url}/session.json"))
        .header("CB-Token", token)
        .send()
        .await
        .unwrap();
    expiration_of(&response);
    let (status, shown) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["session"]["token"], token);
    assert_eq!(shown["session"]["user"]["login"], "alice");

    // DELETE /session: 200, empty; the token is gone.
    let response = http
        .delete(format!("{url}/session"))
        .header("CB-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().is_empty());
    let (status, body) = json_of(
        http.get(format!("{url}/session"))
            .header("CB-Token", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"errors": {"base": ["Required session does not exist"]}})
    );
}

#[tokio::test]
async fn login_and_token_errors_have_the_contract_shapes() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let post = |body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            json_of(
                http.post(format!("{url}/session"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let user = |login: &str, password: &str| {
        json!({"application_id": 1, "auth_key": AUTH_KEY,
               "user": {"login": login, "password": password}})
    };

    let invalid = (
        StatusCode::UNAUTHORIZED,
        json!({"errors": ["Invalid password"]}),
    );
    assert_eq!(post(user("alice", "wrong")).await, invalid);
    assert_eq!(post(user("nobody", "alice-password")).await, invalid);
    // Bob's password does not open Alice's account.
    assert_eq!(post(user("alice", "bob-password")).await, invalid);

    let (status, body) = post(json!({"application_id": 1, "auth_key": "wrong"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["errors"]["base"][0].is_string(), "{body}");
    let (status, _) = post(json!({"application_id": 2, "auth_key": AUTH_KEY})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(json!({"auth_key": AUTH_KEY})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"]["application_id"][0], "can't be blank");
    let (status, body) =
        post(json!({"application_id": 1, "auth_key": AUTH_KEY, "user": "alice"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .header("Content-Type", "application/json")
            .body(r#"{"application_id": 1, "auth_key": "#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["base"][0].as_str().unwrap().contains("JSON"));

    let (status, body) = json_of(http.get(format!("{url}/session")).send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"errors": ["Token is required"]})
        )
    );
    for path in ["/session", "/blobs", "/blobs/1", "/blobs.json"] {
        let response = http
            .get(format!("{url}{path}"))
            .header("CB-Token", "0123456789abcdef0123456789abcdef01234567")
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("CB-Token-ExpirationDate").is_none());
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            body,
            json!({"errors": {"base": ["Required session does not exist"]}}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn application_sessions_read_but_do_not_write() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let alice = login(&http, url, ALICE).await;
    let public = upload(&http, url, &alice, "pub.txt", b"public", true).await;
    let private = upload(&http, url, &alice, "priv.txt", b"private", false).await;

    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .json(&json!({"application_id": 1, "auth_key": AUTH_KEY}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["session"]["user_id"],
        Value::Null,
        "null, as captured answers have it"
    );
    assert!(body["session"].get("user").is_none());
    let app = body["session"]["token"].as_str().unwrap().to_string();

    // Reading: allowed.
    let (status, list) = json_of(
        http.get(format!("{url}/blobs"))
            .header("CB-Token", &app)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
    let (status, info) = json_of(
        http.get(format!("{url}/blobs/{}", public["id"]))
            .header("CB-Token", &app)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["blob"]["name"], "pub.txt");

    // Writing, or reading what is private: forbidden.
    let need_user = json!({"errors": {"base": ["Forbidden. Need user."]}});
    let id = private["id"].as_u64().unwrap();
    let attempts = [
        http.post(format!("{url}/blobs"))
            .json(&json!({"blob": {"name": "x", "content_type": "text/plain"}})),
        http.put(format!("{url}/blobs/{id}"))
            .json(&json!({"blob": {"name": "renamed"}})),
        http.put(format!("{url}/blobs/{id}/complete"))
            .json(&json!({"blob": {"size": 7}})),
        http.delete(format!("{url}/blobs/{id}")),
        http.get(format!("{url}/blobs/{id}")),
    ];
    for request in attempts {
        let (status, body) = json_of(request.header("CB-Token", &app).send().await.unwrap()).await;
        assert_eq!((status, &body), (StatusCode::FORBIDDEN, &need_user));
    }
}

#[tokio::test]
async fn legacy_signatures_are_checked() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let signed = |timestamp: i64, password: &str| {
        let mut params: Vec<(String, String)> = [
            ("application_id", "1".to_string()),
            ("auth_key", AUTH_KEY.to_string()),
            ("nonce", "33432".to_string()),
            ("timestamp", timestamp.to_string()),
            ("user[login]", "alice".to_string()),
            ("user[password]", password.to_string()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
        let signature = cubeblob::crypto::legacy_session_signature(AUTH_SECRET, &params);
        params.push(("signature".to_string(), signature));
        params
    };
    let now = Utc::now().timestamp();

    // A form body, as the old SDKs send it.
    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .form(&signed(now, "alice-password"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["session"]["nonce"], 33432);

    // The same, nested in JSON: flattened to `user[login]` for signing.
    let params = signed(now, "alice-password");
    let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let nested = json!({
        "application_id": 1, "auth_key": AUTH_KEY, "nonce": 33432, "timestamp": now,
        "user": {"login": "alice", "password": "alice-password"}, "signature": get("signature"),
    });
    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .json(&nested)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A signature over other values, or a stale timestamp, is refused.
    let mut tampered = signed(now, "alice-password");
    tampered.last_mut().unwrap().1 = signed(now, "other").last().unwrap().1.clone();
    for (params, what) in [
        (tampered, "wrong signature"),
        (signed(now - 2 * 3600, "alice-password"), "stale"),
    ] {
        let (status, body) = json_of(
            http.post(format!("{url}/session"))
                .form(&params)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert!(body["errors"]["base"][0].is_string(), "{what}: {body}");
    }
}

#[tokio::test]
async fn tokens_expire_unless_used() {
    let server = TestServer::start_with(&["--token-ttl", "2"]);
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let list = || {
        http.get(format!("{url}/blobs"))
            .header("CB-Token", &token)
            .send()
    };

    // Each call extends the token by the TTL: 2.6 s after login it still works.
    let mut last = None;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let response = list().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let expires = expiration_of(&response);
        let ahead = expires - Utc::now().naive_utc();
        assert!(ahead.num_seconds() <= 2, "{ahead:?}");
        if let Some(previous) = last {
            assert!(expires > previous, "the expiry slides");
        }
        last = Some(expires);
    }

    // Unused for longer than the TTL: gone, with the body the SDKs re-login on.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (status, body) = json_of(list().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"errors": {"base": ["Required session does not exist"]}})
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let cases = [
        (http.get(format!("{url}/nothing")), StatusCode::NOT_FOUND),
        (
            http.get(format!("{url}/blobs/1/nothing")),
            StatusCode::NOT_FOUND,
        ),
        (
            http.patch(format!("{url}/blobs")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            http.delete(format!("{url}/blobs.json")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            http.put(format!("{url}/session")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            http.post(format!("{url}/blobs"))
                .header("Content-Type", "application/json")
                .body(vec![b' '; 3 * 1024 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (request, expected) in cases {
        let (status, body) =
            json_of(request.header("CB-Token", &token).send().await.unwrap()).await;
        assert_eq!(status, expected, "{body}");
        assert!(body["errors"]["base"][0].is_string(), "{body}");
    }
}

/// Starts `cubeblob serve` by hand (no `--user`); its start line.
fn start_line(data: &std::path::Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

#[tokio::test]
async fn the_start_line_and_the_demo_user() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let (mut child, line) = start_line(&data, &["--user", "carol:pw1", "--user", "dave:pw2"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let fields: Vec<&str> = line
        .split_whitespace()
        .map(|f| f.split('=').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["url", "s3_url", "app_id", "auth_key", "login"],
        "{line}"
    );
    assert_eq!(start_line_field(&line, "login").as_deref(), Some("carol"));
    assert_eq!(start_line_field(&line, "app_id").as_deref(), Some("1"));

    // Without users: a demo user, with the same password on every start.
    let (mut child, first) = start_line(&data, &["--json"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["login"], "demo");
    let password = first["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 16);

    let (mut child, second) = start_line(&data, &[]);
    assert_eq!(
        start_line_field(&second, "password"),
        Some(password.clone())
    );
    let url = start_line_field(&second, "url").unwrap();
    let http = http();
    login(&http, &url, ("demo", &password)).await;
    // The configured users of the first start are still there.
    login(&http, &url, ("carol", "pw1")).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Passwords are stored hashed: neither appears in the database (or its WAL).
    for name in ["cubeblob.db", "cubeblob.db-wal"] {
        let db = std::fs::read(data.join(name)).unwrap_or_default();
        let db = String::from_utf8_lossy(&db);
        assert!(!db.contains("pw1") && !db.contains(&password), "{name}");
    }
}
