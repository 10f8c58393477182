//! `PUT /blobs/{id}` over real HTTP: edits of the record and, with `new=1`, new
//! content under the same id, in every body form the contract accepts (JSON nested
//! and flat, form-urlencoded), with the validation of create and its owners.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use common::*;
use helpers::*;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

/// A body in one of the forms an SDK sends.
#[derive(Clone, Copy, Debug)]
enum Form {
    Nested,
    Flat,
    Urlencoded,
}

const FORMS: [Form; 3] = [Form::Nested, Form::Flat, Form::Urlencoded];

fn with_body(request: RequestBuilder, form: Form, fields: &[(&str, &str)]) -> RequestBuilder {
    let map: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    match form {
        Form::Nested => request.json(&json!({ "blob": map })),
        Form::Flat => request.json(&Value::Object(map)),
        Form::Urlencoded => {
            let pairs: Vec<(String, &str)> = fields
                .iter()
                .map(|(k, v)| (format!("blob[{k}]"), *v))
                .collect();
            request.form(&pairs)
        }
    }
}

async fn put(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    id: &Value,
    form: Form,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let request = http
        .put(format!("{url}/blobs/{id}"))
        .header("CB-Token", token);
    json_of(with_body(request, form, fields).send().await.unwrap()).await
}

#[tokio::test]
async fn edits_change_the_record_in_every_body_form() {
    let server = TestServer::start();
    let (http, url) = (http(), &server.url);
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "a.txt", b"same bytes", false).await;
    let (id, uid) = (&blob["id"], blob["uid"].as_str().unwrap());
    for (i, form) in FORMS.into_iter().enumerate() {
        let name = format!("name-{i}.txt");
        let content_type = format!("text/x-{i}");
        let (status, body) = put(&http, url, &token, id, form, &[("name", &name)]).await;
        assert_eq!(
            (status, &body["blob"]["name"]),
            (StatusCode::OK, &json!(name))
        );
        let fields = [("content_type", content_type.as_str()), ("colour", "red")];
        let (status, body) = put(&http, url, &token, id, form, &fields).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{form:?}: unknown fields are ignored"
        );
        let edited = &body["blob"];
        assert_eq!(edited["content_type"], content_type.as_str(), "{form:?}");
        assert_eq!(edited["name"], name.as_str(), "{form:?}: the name stays");
        assert_eq!(edited["uid"], uid, "{form:?}: an edit keeps the uid");
        assert_eq!(edited["blob_status"], "complete");
        assert!(edited.get("blob_object_access").is_none(), "{form:?}");
        // `public` is fixed at create.
        let (status, body) = put(&http, url, &token, id, form, &[("public", "true")]).await;
        assert_eq!(
            (status, &body["blob"]["public"]),
            (StatusCode::OK, &json!(false))
        );
    }
    // An empty edit is valid and changes nothing.
    let (status, body) = json_of(
        http.put(format!("{url}/blobs/{id}"))
            .header("CB-Token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["blob"]["name"]),
        (StatusCode::OK, &json!("name-2.txt"))
    );
    assert_eq!(
        download(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await,
        b"same bytes"
    );
}

#[tokio::test]
async fn new_content_keeps_the_id_and_takes_a_new_uid_in_every_body_form() {
    let server = TestServer::start();
    let (http, url) = (http(), &server.url);
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "a.bin", &content(1, 5000), true).await;
    let id = blob["id"].clone();
    let mut old_uid = blob["uid"].as_str().unwrap().to_string();
    for (i, form) in FORMS.into_iter().enumerate() {
        let (_, object) = json_of(
            http.get(format!("{url}/blobs/{old_uid}/object?download_url=1"))
                .header("CB-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let old_url = object["blob"]["blob_object_access"]["download_url"]
            .as_str()
            .unwrap()
            .to_string();
        let old_file = server.data.join("objects").join(&old_uid);
        assert!(old_file.exists());

        let new = if i == 1 { "true" } else { "1" };
        let name = format!("v{i}.png");
        let fields = [("new", new), ("name", &name), ("content_type", "image/png")];
        let (status, body) = put(&http, url, &token, &id, form, &fields).await;
        assert_eq!(status, StatusCode::OK, "{form:?}: {body}");
        let renewed = &body["blob"];
        assert_eq!(renewed["id"], id, "{form:?}");
        let uid = renewed["uid"].as_str().unwrap().to_string();
        assert_ne!(uid, old_uid, "{form:?}");
        assert_eq!(renewed["blob_status"], Value::Null, "{form:?}");
        assert_eq!(
            (&renewed["name"], &renewed["content_type"]),
            (&json!(name), &json!("image/png"))
        );
        assert_eq!(renewed["public"], true, "{form:?}: public stays as created");
        let access = &renewed["blob_object_access"];
        assert_eq!(access["object_access_type"], "Write", "{form:?}");
        assert_eq!(access["blob_id"], id);

        // The old content is gone, and the old uid and its URLs name nothing.
        assert!(!old_file.exists(), "{form:?}: the old object is removed");
        let response = http.get(&old_url).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{form:?}: the old presigned URL"
        );
        for path in [
            format!("/blobs/{old_uid}/download"),
            format!("/blobs/{old_uid}"),
        ] {
            let response = http.get(format!("{url}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{form:?}: {path}");
        }
        // Not complete yet: no download of the new uid either.
        let response = http.get(format!("{url}/blobs/{uid}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        // The form is signed for the record as it now is, like create's.
        let (upload_url, fields) = form_of(renewed);
        let key = fields.iter().find(|(k, _)| k == "key").unwrap();
        assert_eq!(key.1, uid);
        let ct = fields.iter().find(|(k, _)| k == "Content-Type").unwrap();
        assert_eq!(ct.1, "image/png");
        let bytes = content(10 + i as u8, 100 + 3000 * i);
        let response = post_form(&http, &upload_url, &fields, &bytes, &[]).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let response = http
            .put(format!("{url}/blobs/{id}/complete"))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"size": bytes.len()}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (_, info) = json_of(
            http.get(format!("{url}/blobs/{id}"))
                .header("CB-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(info["blob"]["size"], bytes.len(), "{form:?}");
        assert_eq!(info["blob"]["blob_status"], "complete");
        assert_eq!(download(&http, &format!("{url}/blobs/{uid}")).await, bytes);
        old_uid = uid;
    }
}

#[tokio::test]
async fn new_content_is_validated_as_create_and_only_for_the_owner() {
    let server = TestServer::start();
    let (http, url) = (http(), &server.url);
    let alice = login(&http, url, ALICE).await;
    let bob = login(&http, url, BOB).await;
    let blob = upload(&http, url, &alice, "mine.bin", b"alice's", true).await;
    let (id, uid) = (&blob["id"], blob["uid"].as_str().unwrap());
    let long = "n".repeat(101);
    for (fields, field) in [
        (vec![("new", "1"), ("name", "")], "name"),
        (vec![("new", "1"), ("name", long.as_str())], "name"),
        (vec![("new", "1"), ("content_type", "png")], "content_type"),
        (vec![("new", "perhaps")], "new"),
    ] {
        for form in FORMS {
            let (status, body) = put(&http, url, &alice, id, form, &fields).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{form:?} {fields:?}: {body}"
            );
            assert!(body["errors"][field].is_array(), "{body}");
        }
    }
    // Bob may read the public blob, not replace it.
    let (status, _) = put(&http, url, &bob, id, Form::Nested, &[("new", "1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // `new=0` is a plain edit.
    let (status, body) = put(&http, url, &alice, id, Form::Urlencoded, &[("new", "0")]).await;
    assert_eq!(
        (status, &body["blob"]["uid"]),
        (StatusCode::OK, &json!(uid))
    );
    // Nothing of the refused requests changed the blob.
    assert_eq!(
        download(&http, &format!("{url}/blobs/{uid}")).await,
        b"alice's"
    );
}
