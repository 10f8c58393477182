//! `cubeblob serve` over real HTTP: the details where the SDKs meet the real service,
//! each as it answers: `GET /blobs/{uid}.json` as JSON, form fields after the file
//! ignored, `authenticated-read` forms, `account_id`/`app_id` on records, public
//! objects readable unsigned, and downloads keeping the stored content type.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_uid_with_the_json_suffix_answers_the_record() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "info.txt", b"hello", false).await;
    let uid = blob["uid"].as_str().unwrap();

    // The JS SDK's getInfo(uid) and getFile(uid): JSON, with the bytes' URL as Location.
    let response = http
        .get(format!("{url}/blobs/{uid}.json"))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blob"]["uid"], uid);
    assert_eq!(body["blob"]["id"], blob["id"]);
    assert_eq!(body["blob"]["size"], 5);
    let bytes = http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"hello");

    // Without the suffix the uid still redirects (privateUrl, publicUrl).
    let got = download(&http, &format!("{url}/blobs/{uid}?token={token}")).await;
    assert_eq!(got, b"hello");

    // Private: not without the owner's token; another user is forbidden.
    let response = http
        .get(format!("{url}/blobs/{uid}.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let bob = login(&http, url, BOB).await;
    let response = http
        .get(format!("{url}/blobs/{uid}.json"))
        .header("CB-Token", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A public blob's record needs no token; an unfinished one has no Location.
    let public = upload(&http, url, &token, "pub.txt", b"open", true).await;
    let response = http
        .get(format!(
            "{url}/blobs/{}.json",
            public["uid"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pending = create(&http, url, &token, "pending.txt", false).await;
    let response = http
        .get(format!(
            "{url}/blobs/{}.json",
            pending["uid"].as_str().unwrap()
        ))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("location").is_none());
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blob"]["blob_status"], Value::Null);
}

#[tokio::test]
async fn fields_after_the_file_are_ignored() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let token = login(&http, url, ALICE).await;
    let blob = create(&http, url, &token, "late.bin", false).await;
    let (upload_url, fields) = form_of(&blob);
    let late = [("x-amz-meta-note", "late"), ("name", "late.bin")];
    let response = post_form(&http, &upload_url, &fields, b"late fields", &late).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert_eq!(
        element(&text, "ETag"),
        format!("\"{}\"", md5_hex(b"late fields"))
    );

    // A late field is not read into the policy: it changes nothing that was signed.
    let id = blob["id"].as_u64().unwrap();
    let response = http
        .put(format!("{url}/blobs/{id}/complete"))
        .header("CB-Token", &token)
        .json(&json!({"blob": {"size": 11}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let uid = blob["uid"].as_str().unwrap();
    let got = download(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;
    assert_eq!(got, b"late fields");

    // Late fields are bounded like those before the file.
    let blob = create(&http, url, &token, "huge.bin", false).await;
    let (upload_url, fields) = form_of(&blob);
    let big = "x".repeat(100 * 1024);
    let response = post_form(&http, &upload_url, &fields, b"abc", &[("note", &big)]).await;
    let (status, code, _) = s3_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MaxPostPreDataLengthExceeded")
    );
}

#[tokio::test]
async fn records_carry_the_account_and_app_and_private_forms_authenticated_read() {
    let server = TestServer::start_with(&["--app-id", "77"]);
    let (url, http) = (&server.url, http());
    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .json(&json!({"application_id": 77, "auth_key": AUTH_KEY,
                          "user": {"login": ALICE.0, "password": ALICE.1}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session"]["token"].as_str().unwrap().to_string();

    let private = create(&http, url, &token, "p.bin", false).await;
    let public = create(&http, url, &token, "q.bin", true).await;
    let acl = |blob: &Value| {
        let (_, fields) = form_of(blob);
        fields.into_iter().find(|(k, _)| k == "acl").unwrap().1
    };
    assert_eq!(acl(&private), "authenticated-read");
    assert_eq!(acl(&public), "public-read");

    let answers = [
        private.clone(),
        json_of(
            http.get(format!("{url}/blobs/{}", private["id"]))
                .header("CB-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await
        .1["blob"]
            .clone(),
        json_of(
            http.get(format!("{url}/blobs"))
                .header("CB-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await
        .1["items"][1]["blob"]
            .clone(),
    ];
    for blob in answers {
        assert_eq!(blob["app_id"], 77, "{blob}");
        assert_eq!(blob["account_id"], 1, "{blob}");
    }
}

#[tokio::test]
async fn public_objects_need_no_signature_private_ones_do() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let token = login(&http, url, ALICE).await;
    let public = upload(&http, url, &token, "open.txt", b"for all", true).await;
    let private = upload(&http, url, &token, "closed.txt", b"for me", false).await;
    // The bucket's URL, from a form (the records from `upload` carry none).
    let probe = create(&http, url, &token, "probe.txt", false).await;
    let (bucket_url, _) = form_of(&probe);
    let unsigned = |blob: &Value| format!("{bucket_url}/{}", blob["uid"].as_str().unwrap());

    let response = http.get(unsigned(&public)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&response.bytes().await.unwrap()[..], b"for all");
    let response = http.head(unsigned(&public)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = http.get(unsigned(&private)).send().await.unwrap();
    let (status, code, _) = s3_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    // A signature that is there is checked, public object or not.
    let response = http
        .get(format!(
            "{url}/blobs/{}/download",
            public["uid"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let tampered = location.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let response = http.get(&tampered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn downloads_keep_the_content_type_the_object_was_stored_with() {
    let server = TestServer::start();
    let (url, http) = (&server.url, http());
    let token = login(&http, url, ALICE).await;
    let blob = create_typed(&http, url, &token, "pic.png", "image/png", false).await;
    let (upload_url, fields) = form_of(&blob);
    let response = post_form(&http, &upload_url, &fields, b"\x89PNG fake", &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = blob["id"].as_u64().unwrap();
    let response = http
        .put(format!("{url}/blobs/{id}/complete"))
        .header("CB-Token", &token)
        .json(&json!({"blob": {"size": 9}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let (status, edited) = json_of(
        http.put(format!("{url}/blobs/{id}"))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"content_type": "text/plain"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["blob"]["content_type"], "text/plain");

    let uid = blob["uid"].as_str().unwrap();
    let response = http
        .get(format!("{url}/blobs/{uid}/download"))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let response = http.get(&location).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
}
