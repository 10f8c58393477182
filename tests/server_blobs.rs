//! `cubeblob serve` over real HTTP: the `/blobs` API, row by row of the contract,
//! with its error shapes and its owners.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use base64::Engine;
use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_blob_from_create_to_delete() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let auth = |r: reqwest::RequestBuilder| r.header("CB-Token", &token);

    // create: 201 and the record with its upload form.
    let (status, body) = json_of(
        auth(http.post(format!("{url}/blobs.json")))
            .json(&json!({"blob": {"content_type": "image/jpeg", "name": "cat.jpeg", "public": false}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let blob = &body["blob"];
    let id = blob["id"].as_u64().unwrap();
    let uid = blob["uid"].as_str().unwrap().to_string();
    assert_eq!(uid.len(), 34);
    assert!(uid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(blob["name"], "cat.jpeg");
    assert_eq!(blob["content_type"], "image/jpeg");
    assert_eq!(blob["size"], Value::Null);
    assert_eq!(blob["public"], false);
    assert_eq!(blob["blob_status"], Value::Null);
    let access = &blob["blob_object_access"];
    assert_eq!(access["id"], id);
    assert_eq!(access["blob_id"], id);
    assert_eq!(access["object_access_type"], "Write");
    let expires =
        chrono::DateTime::parse_from_rfc3339(access["expires"].as_str().unwrap()).unwrap();
    let ahead = expires
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!((3590..=3601).contains(&ahead), "{ahead}");

    // The form: the contract's fields in its order, a policy with exact conditions.
    let (upload_url, fields) = form_of(blob);
    assert_eq!(upload_url, format!("{url}/cubeblob-local"));
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "Expires",
            "acl",
            "key",
            "policy",
            "success_action_status",
            "x-amz-algorithm",
            "x-amz-credential",
            "x-amz-date",
            "x-amz-signature"
        ]
    );
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(field("key"), uid);
    assert_eq!(field("acl"), "authenticated-read");
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(field("policy"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["expiration"], access["expires"]);
    let conditions: Vec<(String, Value)> = policy["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let (k, v) = c.as_object().unwrap().iter().next().unwrap();
            (k.clone(), v.clone())
        })
        .collect();
    let condition_names: Vec<&str> = conditions.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        condition_names,
        [
            "bucket",
            "acl",
            "Content-Type",
            "success_action_status",
            "Expires",
            "key",
            "x-amz-credential",
            "x-amz-algorithm",
            "x-amz-date"
        ]
    );
    assert!(conditions.contains(&("Content-Type".into(), json!("image/jpeg"))));
    assert!(conditions.contains(&("key".into(), json!(uid))));

    // Not downloadable before it is complete.
    let response = http
        .get(format!("{url}/blobs/{uid}/download?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // upload: 201 and the PostResponse with the MD5 ETag.
    let content = content(1, 70_980);
    let response = post_form(&http, &upload_url, &fields, &content, &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let xml = response.text().await.unwrap();
    assert_eq!(element(&xml, "ETag"), format!("\"{}\"", md5_hex(&content)));
    assert_eq!(element(&xml, "Key"), uid);
    assert_eq!(element(&xml, "Bucket"), "cubeblob-local");
    assert_eq!(element(&xml, "Location"), format!("{upload_url}/{uid}"));

    // complete: 200, empty.
    let response = auth(http.put(format!("{url}/blobs/{id}/complete")))
        .json(&json!({"blob": {"size": content.len()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("CB-Token-ExpirationDate").is_some());
    assert_eq!(response.text().await.unwrap(), "");

    // info
    let (status, info) = json_of(
        auth(http.get(format!("{url}/blobs/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let info = &info["blob"];
    for key in ["id", "uid", "content_type", "name", "public", "created_at"] {
        assert_eq!(info[key], blob[key], "{key}");
    }
    assert_eq!(info["size"], 70_980);
    assert_eq!(info["blob_status"], "complete");

    // object, with and without the download URL (both spellings).
    let (status, object) = json_of(
        auth(http.get(format!("{url}/blobs/{uid}/object.json?download_url=1")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = &object["blob"]["blob_object_access"];
    let download_url = access["download_url"].as_str().unwrap();
    assert_eq!(access["dowload_url"], download_url);
    assert!(download_url.contains("X-Amz-Expires=604800"));
    let fetched = http.get(download_url).send().await.unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), content.as_slice());
    let (_, plain) = json_of(
        auth(http.get(format!("{url}/blobs/{uid}/object")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(plain["blob"]["id"], id);
    assert!(plain["blob"].get("blob_object_access").is_none());

    // rename, JSON and form.
    let (status, renamed) = json_of(
        auth(http.put(format!("{url}/blobs/{id}.json")))
            .json(&json!({"blob": {"name": "kitten.jpeg"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["blob"]["name"], "kitten.jpeg");
    assert_eq!(renamed["blob"]["size"], 70_980);
    let (status, renamed) = json_of(
        auth(http.put(format!("{url}/blobs/{id}")))
            .form(&[
                ("blob[name]", "tiger.png"),
                ("blob[content_type]", "image/png"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["blob"]["name"], "tiger.png");
    assert_eq!(renamed["blob"]["content_type"], "image/png");

    // delete: 200, empty; the record and the file are gone.
    let object_file = server.data.join("objects").join(&uid);
    assert!(object_file.exists());
    let response = auth(http.delete(format!("{url}/blobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
    assert!(!object_file.exists());
    let not_found = json!({"errors": {"base": ["Entity you are looking for was not found."]}});
    for request in [
        http.get(format!("{url}/blobs/{id}")),
        http.delete(format!("{url}/blobs/{id}")),
        http.get(format!("{url}/blobs/{uid}/object")),
        http.get(format!("{url}/blobs/{uid}/download")),
    ] {
        let (status, body) = json_of(auth(request).send().await.unwrap()).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found));
    }
    // The form still verifies, but there is no record to upload to any more.
    let response = post_form(&http, &upload_url, &fields, b"late", &[]).await;
    assert_eq!(s3_error(response).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn names_and_content_types_are_validated() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let create = |body: Value| {
        http.post(format!("{url}/blobs"))
            .header("CB-Token", &token)
            .json(&body)
            .send()
    };
    let long = "é".repeat(101);
    let cases = [
        (
            json!({"blob": {"name": long, "content_type": "text/plain"}}),
            json!({"errors": {"name": ["is too long (maximum is 100 characters)"]}}),
        ),
        (
            json!({"blob": {"name": "", "content_type": "text/plain"}}),
            json!({"errors": {"name": ["is too short (minimum is 1 character)"]}}),
        ),
        (
            json!({"blob": {"content_type": "text/plain"}}),
            json!({"errors": {"name": ["can't be blank"]}}),
        ),
        (
            json!({"blob": {"name": "a.txt"}}),
            json!({"errors": {"content_type": ["can't be blank"]}}),
        ),
        (
            json!({"blob": {"name": "a.txt", "content_type": "not a type"}}),
            json!({"errors": {"content_type": ["is invalid"]}}),
        ),
        (
            json!({"blob": {"name": "a.txt", "content_type": "text/plain", "public": "perhaps"}}),
            json!({"errors": {"public": ["is invalid"]}}),
        ),
        (json!({}), json!({"errors": {"name": ["can't be blank"]}})),
    ];
    for (body, expected) in cases {
        let (status, answer) = json_of(create(body.clone()).await.unwrap()).await;
        assert_eq!(
            (status, answer),
            (StatusCode::UNPROCESSABLE_ENTITY, expected),
            "{body}"
        );
    }
    // 100 characters (not bytes) is fine; a form body with flat keys too.
    let (status, _) = json_of(
        create(json!({"blob": {"name": "é".repeat(100), "content_type": "text/plain"}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = json_of(
        http.post(format!("{url}/blobs"))
            .header("CB-Token", &token)
            .form(&[
                ("blob[name]", "f.txt"),
                ("blob[content_type]", "text/plain"),
                ("blob[public]", "true"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["blob"]["public"], true);
    let id = body["blob"]["id"].as_u64().unwrap();

    let (status, answer) = json_of(
        http.put(format!("{url}/blobs/{id}"))
            .header("CB-Token", &token)
            .json(&json!({"blob": {"name": long}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["errors"]["name"][0],
        "is too long (maximum is 100 characters)"
    );
}

/// Creates and uploads `content`, leaving the blob incomplete; its id.
async fn uploaded(http: &reqwest::Client, url: &str, token: &str, content: &[u8]) -> u64 {
    let blob = create(http, url, token, "c.bin", false).await;
    let (upload_url, fields) = form_of(&blob);
    let response = post_form(http, &upload_url, &fields, content, &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    blob["id"].as_u64().unwrap()
}

enum Body {
    Json(Value),
    Form(&'static str),
    Empty,
}

#[tokio::test]
async fn every_complete_variant_is_accepted() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let content = content(2, 347);

    // What each SDK sends; the declared size is wrong in the last one.
    use reqwest::Method;
    let json_body = |value: Value| Body::Json(value);
    let variants = [
        (
            "cubeblob",
            Method::PUT,
            "complete",
            json_body(json!({"blob": {"size": 347}})),
        ),
        (
            "JS",
            Method::PUT,
            "complete.json",
            json_body(json!({"size": 347})),
        ),
        (
            "Flutter",
            Method::POST,
            "complete",
            json_body(json!({"blob": {"size": 347}})),
        ),
        (
            "Android",
            Method::POST,
            "complete.json",
            Body::Form("blob%5Bsize%5D=347"),
        ),
        (
            "docs",
            Method::PUT,
            "complete",
            json_body(json!({"blob": {"size": "347"}})),
        ),
        ("no size", Method::PUT, "complete", Body::Empty),
        (
            "wrong size",
            Method::PUT,
            "complete",
            json_body(json!({"blob": {"size": 9999}})),
        ),
    ];
    for (who, method, path, body) in variants {
        let id = uploaded(&http, url, &token, &content).await;
        let request = http
            .request(method, format!("{url}/blobs/{id}/{path}"))
            .header("CB-Token", &token);
        let request = match body {
            Body::Json(value) => request.json(&value),
            Body::Form(form) => request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form),
            Body::Empty => request,
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{who}");
        let (_, info) = json_of(
            http.get(format!("{url}/blobs/{id}"))
                .header("CB-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(info["blob"]["blob_status"], "complete", "{who}");
        assert_eq!(info["blob"]["size"], 347, "{who}: the stored size wins");
    }

    // Before anything was uploaded, or with a size that is not a number: 422.
    let blob = create(&http, url, &token, "empty.bin", false).await;
    let id = blob["id"].as_u64().unwrap();
    for body in [
        json!({"blob": {"size": 3}}),
        json!({"blob": {"size": "three"}}),
    ] {
        let (status, answer) = json_of(
            http.put(format!("{url}/blobs/{id}/complete"))
                .header("CB-Token", &token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(answer["errors"].is_object(), "{answer}");
    }
}

#[tokio::test]
async fn lists_page_through_the_callers_blobs_in_order() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let alice = login(&http, url, ALICE).await;
    let bob = login(&http, url, BOB).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let token = if i == 5 { &bob } else { &alice };
        let blob = create(&http, url, token, &format!("f{i}"), false).await;
        if i != 5 {
            ids.push(blob["id"].as_u64().unwrap());
        }
    }
    let list = |query: &str| {
        let request = http
            .get(format!("{url}/blobs{query}"))
            .header("CB-Token", &alice)
            .send();
        async move { json_of(request.await.unwrap()).await }
    };

    let mut seen = Vec::new();
    for page in 1..=3 {
        let (status, body) = list(&format!(".json?page={page}&per_page=5")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["current_page"], page);
        assert_eq!(body["per_page"], 5);
        assert_eq!(body["total_entries"], 11);
        for item in body["items"].as_array().unwrap() {
            seen.push(item["blob"]["id"].as_u64().unwrap());
        }
    }
    assert_eq!(
        seen, ids,
        "every blob of Alice's once, by id, and none of Bob's"
    );

    let (_, default) = list("").await;
    assert_eq!(default["per_page"], 10);
    assert_eq!(default["items"].as_array().unwrap().len(), 10);
    let (_, past) = list("?page=9").await;
    assert_eq!(past["items"], json!([]));
    let (status, _) = list("?per_page=100").await;
    assert_eq!(status, StatusCode::OK);
    for query in [
        "?per_page=101",
        "?per_page=0",
        "?page=0",
        "?page=abc",
        "?per_page=-1",
    ] {
        let (status, body) = list(query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(body["errors"].is_object(), "{query}: {body}");
    }
}

#[tokio::test]
async fn users_cannot_touch_each_others_private_blobs() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let alice = login(&http, url, ALICE).await;
    let bob = login(&http, url, BOB).await;
    let secret = upload(&http, url, &alice, "secret.txt", b"alice's secret", false).await;
    let shared = upload(&http, url, &alice, "shared.txt", b"alice's shared", true).await;
    let (id, uid) = (
        secret["id"].as_u64().unwrap(),
        secret["uid"].as_str().unwrap(),
    );
    let (pid, puid) = (
        shared["id"].as_u64().unwrap(),
        shared["uid"].as_str().unwrap(),
    );

    let as_bob = |r: reqwest::RequestBuilder| r.header("CB-Token", &bob);
    let forbidden = [
        as_bob(http.get(format!("{url}/blobs/{id}"))),
        as_bob(http.get(format!("{url}/blobs/{uid}/object?download_url=1"))),
        as_bob(http.get(format!("{url}/blobs/{uid}/download"))),
        as_bob(http.get(format!("{url}/blobs/{uid}"))),
        http.get(format!("{url}/blobs/{uid}?token={bob}")),
        as_bob(http.put(format!("{url}/blobs/{id}"))).json(&json!({"blob": {"name": "mine"}})),
        as_bob(http.put(format!("{url}/blobs/{id}/complete"))).json(&json!({"size": 1})),
        as_bob(http.delete(format!("{url}/blobs/{id}"))),
        // Public blobs are readable, not writable.
        as_bob(http.put(format!("{url}/blobs/{pid}"))).json(&json!({"blob": {"name": "mine"}})),
        as_bob(http.delete(format!("{url}/blobs/{pid}"))),
    ];
    for request in forbidden {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url());
        let (status, body) = json_of(http.execute(request).await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(body["errors"]["base"][0].is_string(), "{what}: {body}");
    }

    let (status, info) = json_of(
        as_bob(http.get(format!("{url}/blobs/{pid}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, info["blob"]["name"].clone()),
        (StatusCode::OK, json!("shared.txt"))
    );
    assert_eq!(
        download(&http, &format!("{url}/blobs/{puid}/download?token={bob}")).await,
        b"alice's shared"
    );

    // On the S3 side: Bob's own download URL pointed at Alice's key is refused, and
    // so is Bob's upload form with Alice's key in it.
    let mine = upload(&http, url, &bob, "bob.txt", b"bob", false).await;
    let (_, object) = json_of(
        as_bob(http.get(format!(
            "{url}/blobs/{}/object?download_url=1",
            mine["uid"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let bobs_url = object["blob"]["blob_object_access"]["download_url"]
        .as_str()
        .unwrap();
    let response = http
        .get(bobs_url.replace(mine["uid"].as_str().unwrap(), uid))
        .send()
        .await
        .unwrap();
    assert_eq!(s3_error(response).await.1, "SignatureDoesNotMatch");
    let form = create(&http, url, &bob, "sneaky.txt", false).await;
    let (upload_url, mut fields) = form_of(&form);
    set_field(&mut fields, "key", uid);
    let (status, code, message) =
        s3_error(post_form(&http, &upload_url, &fields, b"overwritten", &[]).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );
    assert!(
        message.contains("Policy Condition failed: [\"eq\", \"$key\""),
        "{message}"
    );

    // Nothing of Alice's changed.
    assert_eq!(
        download(&http, &format!("{url}/blobs/{uid}/download?token={alice}")).await,
        b"alice's secret"
    );
    let (_, info) = json_of(
        http.get(format!("{url}/blobs/{id}"))
            .header("CB-Token", &alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["blob"]["name"], "secret.txt");
}

#[tokio::test]
async fn downloads_redirect_with_a_token_or_for_public_blobs() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let private = upload(&http, url, &token, "p.bin", &content(3, 5000), false).await;
    let public = upload(&http, url, &token, "q.bin", &content(4, 6000), true).await;
    let (puid, quid) = (
        private["uid"].as_str().unwrap(),
        public["uid"].as_str().unwrap(),
    );

    // Public: no token needed, on both paths, with or without `.json`.
    for path in [
        format!("{quid}/download"),
        quid.to_string(),
        format!("{quid}/download.json"),
    ] {
        assert_eq!(
            download(&http, &format!("{url}/blobs/{path}")).await,
            content(4, 6000),
            "{path}"
        );
    }
    // Private: the owner's token as a header or as `?token=`; the Location is the
    // presigned S3 URL, and it carries no token.
    let response = http
        .get(format!("{url}/blobs/{puid}"))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!(
        "{url}/cubeblob-local/{puid}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    )));
    assert!(!location.contains(&token));
    assert_eq!(
        download(&http, &format!("{url}/blobs/{puid}/download?token={token}")).await,
        content(3, 5000)
    );
    let (status, body) = json_of(
        http.get(format!("{url}/blobs/{puid}/download"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"errors": ["Token is required"]})
        )
    );
    let (status, body) = json_of(
        http.get(format!("{url}/blobs/{puid}?token=expired0000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"errors": {"base": ["Required session does not exist"]}})
        )
    );
}

#[tokio::test]
async fn bad_ids_are_not_found() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let requests = [
        http.get(format!("{url}/blobs/99999999999999999999")),
        http.get(format!(
            "{url}/blobs/123456789012345678901234567890123456789"
        )),
        http.get(format!("{url}/blobs/-1")),
        http.get(format!("{url}/blobs/0")),
        http.get(format!("{url}/blobs/abc")),
        http.get(format!("{url}/blobs/%FF%FE")),
        http.get(format!("{url}/blobs/1e5/object")),
        http.get(format!("{url}/blobs/{}/download", "f".repeat(200))),
        http.put(format!("{url}/blobs/abc"))
            .json(&json!({"blob": {"name": "x"}})),
        http.put(format!("{url}/blobs/18446744073709551616/complete"))
            .json(&json!({"size": 1})),
        http.delete(format!("{url}/blobs/1.5")),
        http.delete(format!("{url}/blobs/7")),
    ];
    for request in requests {
        let request = request.header("CB-Token", &token).build().unwrap();
        let what = format!("{} {}", request.method(), request.url());
        let (status, body) = json_of(http.execute(request).await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
        assert_eq!(
            body,
            json!({"errors": {"base": ["Entity you are looking for was not found."]}}),
            "{what}"
        );
    }
}
