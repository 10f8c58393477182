//! Helpers for the `server_*` tests: a plain HTTP client, sessions, and the three
//! upload steps done by hand, as an SDK would. Included with `#[path]`.
#![allow(dead_code)]

use percent_encoding::percent_decode_str;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

/// A client that does not follow redirects, so tests see the 301s.
pub fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Status, and the body as JSON (`Value::Null` for an empty body).
pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("not JSON ({err}), status {status}: {text:?}"));
    (status, value)
}

/// `POST /session` for a user; the token.
pub async fn login(http: &Client, url: &str, user: (&str, &str)) -> String {
    let (status, body) = json_of(
        http.post(format!("{url}/session"))
            .json(&json!({
                "application_id": 1,
                "auth_key": "local-auth-key",
                "user": {"login": user.0, "password": user.1},
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["session"]["token"].as_str().unwrap().to_string()
}

/// `POST /blobs`; the `blob` object of the answer.
pub async fn create(http: &Client, url: &str, token: &str, name: &str, public: bool) -> Value {
    create_typed(http, url, token, name, "application/octet-stream", public).await
}

pub async fn create_typed(
    http: &Client,
    url: &str,
    token: &str,
    name: &str,
    content_type: &str,
    public: bool,
) -> Value {
    let (status, body) = json_of(
        http.post(format!("{url}/blobs"))
            .header("CB-Token", token)
            .json(&json!({"blob": {"content_type": content_type, "name": name, "public": public}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["blob"].clone()
}

/// The upload URL and the form fields of a created blob's `params`: each query pair
/// percent-decoded once, in order (`+` stays `+`).
pub fn form_of(blob: &Value) -> (String, Vec<(String, String)>) {
    let params = blob["blob_object_access"]["params"].as_str().unwrap();
    let (url, query) = params.split_once('?').unwrap();
    let decode = |s: &str| percent_decode_str(s).decode_utf8().unwrap().into_owned();
    let fields = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect();
    (url.to_string(), fields)
}

/// Replaces (or, when absent, appends) a form field.
pub fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(field) => field.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
}

/// Posts the form fields, then `file`, then any `after` fields.
pub async fn post_form(
    http: &Client,
    upload_url: &str,
    fields: &[(String, String)],
    content: &[u8],
    after: &[(&str, &str)],
) -> Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.clone(), v.clone());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(content.to_vec()).file_name("upload.bin"),
    );
    for (k, v) in after {
        form = form.text(k.to_string(), v.to_string());
    }
    http.post(upload_url).multipart(form).send().await.unwrap()
}

/// Status, S3 error code and message of an XML answer.
pub async fn s3_error(response: Response) -> (StatusCode, String, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    assert_eq!(content_type.as_deref(), Some("application/xml"), "{text}");
    (status, element(&text, "Code"), element(&text, "Message"))
}

/// The text of the first `<name>` element.
pub fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&close).unwrap() + start;
    xml[start..end].to_string()
}

/// Create, upload and complete; the blob's info afterwards.
pub async fn upload(
    http: &Client,
    url: &str,
    token: &str,
    name: &str,
    content: &[u8],
    public: bool,
) -> Value {
    let blob = create(http, url, token, name, public).await;
    let (upload_url, fields) = form_of(&blob);
    let response = post_form(http, &upload_url, &fields, content, &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = blob["id"].as_u64().unwrap();
    let response = http
        .put(format!("{url}/blobs/{id}/complete"))
        .header("CB-Token", token)
        .json(&json!({"blob": {"size": content.len()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, info) = json_of(
        http.get(format!("{url}/blobs/{id}"))
            .header("CB-Token", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    info["blob"].clone()
}

/// Where a download's 301 points (the presigned storage URL), not followed.
pub async fn redirect_location(http: &Client, api_url: &str) -> String {
    let response = http.get(api_url).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY,
        "{api_url}"
    );
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Follows a download's 301 by hand (no token to the storage host); the bytes.
pub async fn download(http: &Client, api_url: &str) -> Vec<u8> {
    let location = redirect_location(http, api_url).await;
    let response = http.get(&location).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

/// Deterministic test content of `len` bytes that differs per `seed`.
pub fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32 * 7) as u8)
        .collect()
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}
