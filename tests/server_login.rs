//! `cubeblob serve` over real HTTP: `POST/DELETE /login` (the JS SDK's `auth.login`
//! and `auth.logout`), guest sessions, provider logins refused, and the `user_id` of
//! an application session.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use common::*;
use helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn create_session(http: &Client, url: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"application_id": APP_ID, "auth_key": AUTH_KEY});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json_of(
        http.post(format!("{url}/session.json"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn app_session(http: &Client, url: &str) -> String {
    let (status, body) = create_session(http, url, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["session"]["token"].as_str().unwrap().to_string()
}

async fn session_of(http: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    json_of(
        http.get(format!("{url}/session.json"))
            .header("CB-Token", token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn create_blob(http: &Client, url: &str, token: &str) -> StatusCode {
    http.post(format!("{url}/blobs.json"))
        .header("CB-Token", token)
        .json(&json!({"blob": {"name": "a.txt", "content_type": "text/plain", "public": false}}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_application_session_has_a_null_user_id() {
    let server = TestServer::start();
    let http = http();
    let (status, body) = create_session(&http, &server.url, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["session"]["user_id"], Value::Null, "{body}");
    assert!(body["session"].get("user").is_none(), "{body}");
    let token = body["session"]["token"].as_str().unwrap();
    let (_, shown) = session_of(&http, &server.url, token).await;
    assert_eq!(shown["session"]["user_id"], Value::Null, "{shown}");
}

#[tokio::test]
async fn login_upgrades_an_application_session_and_logout_reverts_it() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let token = app_session(&http, url).await;
    assert_eq!(create_blob(&http, url, &token).await, StatusCode::FORBIDDEN);

    // The JS SDK's auth.login: the login and password flat, on `/login.json`.
    let (status, body) = json_of(
        http.post(format!("{url}/login.json"))
            .header("CB-Token", &token)
            .json(&json!({"login": ALICE.0, "password": ALICE.1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["user"]["login"], ALICE.0);
    let alice_id = body["user"]["id"].clone();
    assert!(alice_id.as_u64().is_some(), "{body}");
    let (_, shown) = session_of(&http, url, &token).await;
    assert_eq!(shown["session"]["user_id"], alice_id);
    assert_eq!(create_blob(&http, url, &token).await, StatusCode::CREATED);

    // A wrong password leaves the session as it was.
    let (status, body) = json_of(
        http.post(format!("{url}/login"))
            .header("CB-Token", &token)
            .json(&json!({"email": BOB.0, "password": "wrong"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"errors": ["Invalid password"]}));
    let (_, shown) = session_of(&http, url, &token).await;
    assert_eq!(shown["session"]["user_id"], alice_id);

    // auth.logout: DELETE /login.json, empty 200; the token stays, as the application's.
    let response = http
        .delete(format!("{url}/login.json"))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
    let (status, shown) = session_of(&http, url, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["session"]["user_id"], Value::Null, "{shown}");
    assert_eq!(create_blob(&http, url, &token).await, StatusCode::FORBIDDEN);

    // Without a token there is no session to log in.
    let response = http
        .post(format!("{url}/login"))
        .json(&json!({"login": ALICE.0, "password": ALICE.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_guest_session_makes_a_user_of_its_own() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let guest = json!({"user": {"guest": "1", "full_name": "Guest Tester"}});
    let (status, body) = create_session(&http, url, guest.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let session = &body["session"];
    assert_eq!(session["user"]["is_guest"], true, "{body}");
    assert_eq!(session["user"]["full_name"], "Guest Tester");
    assert_eq!(session["user_id"], session["user"]["id"]);
    let token = session["token"].as_str().unwrap();
    assert_eq!(create_blob(&http, url, token).await, StatusCode::CREATED);

    // A second guest is another user, who does not see the first one's blobs.
    let (_, other) = create_session(&http, url, guest).await;
    assert_ne!(other["session"]["user_id"], session["user_id"]);
    let (_, list) = json_of(
        http.get(format!("{url}/blobs.json"))
            .header("CB-Token", other["session"]["token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total_entries"], 0);

    // Ordinary users are not guests.
    let (_, alice) = create_session(
        &http,
        url,
        json!({"user": {"login": ALICE.0, "password": ALICE.1}}),
    )
    .await;
    assert_eq!(alice["session"]["user"]["is_guest"], false);
}

#[tokio::test]
async fn a_guest_session_ends_with_its_day() {
    // A guest lasts a day: with tokens of two days, the token outlives the guest
    // unless the server ends it. The server's clock cannot be moved, so the check is
    // on the sliding expiry, which must stay within the guest's day.
    let server = TestServer::start_with(&["--token-ttl", "172800"]);
    let (url, http) = (&server.url, http());
    let (_, body) = create_session(&http, url, json!({"user": {"guest": 1}})).await;
    let token = body["session"]["token"].as_str().unwrap();
    let response = http
        .get(format!("{url}/session"))
        .header("CB-Token", token)
        .send()
        .await
        .unwrap();
    let header = response.headers()["cb-token-expirationdate"]
        .to_str()
        .unwrap()
        .to_string();
    let expires = chrono::NaiveDateTime::parse_from_str(&header, "%Y-%m-%d %H:%M:%S UTC").unwrap();
    let left = expires - chrono::Utc::now().naive_utc();
    assert!(
        left.num_seconds() <= 24 * 3600 && left.num_seconds() > 23 * 3600,
        "{left:?}"
    );
}

#[tokio::test]
async fn provider_logins_are_refused_by_name() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let cases = [
        (
            json!({"provider": "facebook", "keys": {"token": "fb-token"}}),
            "facebook",
        ),
        (
            json!({"provider": "twitter", "keys": {"token": "t", "secret": "s"}}),
            "twitter",
        ),
        (
            json!({"provider": "firebase_phone",
                   "firebase_phone": {"project_id": "p", "access_token": "a"}}),
            "firebase_phone",
        ),
        (
            json!({"firebase_email": {"project_id": "p", "access_token": "a"}}),
            "firebase_email",
        ),
    ];
    for (params, provider) in cases {
        let (status, body) = create_session(&http, url, params.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["errors"]["provider"][0].as_str().unwrap();
        assert!(
            message.contains(&format!("`{provider}`")) && message.contains("local server"),
            "{message}"
        );

        // The same through POST /login: refused, and the session stays the application's.
        let token = app_session(&http, url).await;
        let (status, body) = json_of(
            http.post(format!("{url}/login.json"))
                .header("CB-Token", &token)
                .json(&params)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, shown) = session_of(&http, url, &token).await;
        assert_eq!(shown["session"]["user_id"], Value::Null);
    }
}
