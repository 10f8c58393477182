//! A fake ConnectyCube API and a fake S3 host, each on its own loopback port, for the
//! transfer tests that need to see every header the client sends or to make storage
//! misbehave on cue (5xx, an expired policy, a connection cut halfway).
#![allow(dead_code)]

pub mod hostile;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::Router;
use md5::{Digest, Md5};

/// The `policy` the fake signs into its forms: a literal `+` and an encoded one, so a
/// client that decodes `+` as a space (or decodes twice) is caught.
pub const POLICY_WIRE: &str = "eyJ%2Bx%3D%3D+y";
pub const POLICY: &str = "eyJ+x==+y";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `api` or `storage`.
    pub host: &'static str,
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    /// The form field names of a storage POST, in order.
    pub fields: Vec<String>,
    pub body_len: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct FakeBlob {
    pub id: u64,
    pub uid: String,
    pub name: String,
    pub content_type: String,
    pub public: bool,
    pub data: Option<Vec<u8>>,
    pub complete: bool,
}

/// What the next storage POST answers instead of storing the file.
#[derive(Debug, Clone)]
pub enum PostFault {
    Status(u16, String),
    PolicyExpired,
}

#[derive(Default)]
pub struct FakeState {
    pub seen: Mutex<Vec<Seen>>,
    pub blobs: Mutex<BTreeMap<u64, FakeBlob>>,
    pub post_faults: Mutex<VecDeque<PostFault>>,
    /// Cut the next storage GETs after this many body bytes (one entry per GET).
    pub cuts: Mutex<VecDeque<usize>>,
    /// Read storage POST bodies slowly: this long a pause per 64 KiB.
    pub slow_post: Mutex<Option<std::time::Duration>>,
    /// How the hostile routes (`hostile.rs`) misbehave.
    pub hostile: Mutex<hostile::Plan>,
    /// Body bytes the hostile routes handed to the connection.
    pub served: AtomicU64,
    next_id: AtomicU64,
    storage_url: Mutex<String>,
}

/// The two fake hosts, served from a thread of their own until the test ends.
pub struct FakeCube {
    pub api_url: String,
    pub storage_url: String,
    pub state: Arc<FakeState>,
}

impl FakeCube {
    pub fn start() -> FakeCube {
        let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let storage = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        api.set_nonblocking(true).unwrap();
        storage.set_nonblocking(true).unwrap();
        let api_url = format!("http://{}", api.local_addr().unwrap());
        let storage_url = format!("http://{}", storage.local_addr().unwrap());
        let state = Arc::new(FakeState::default());
        state.next_id.store(100, Ordering::SeqCst);
        *state.storage_url.lock().unwrap() = storage_url.clone();
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let api = tokio::net::TcpListener::from_std(api).unwrap();
                let storage = tokio::net::TcpListener::from_std(storage).unwrap();
                let api_app = Router::new()
                    .route("/blobs", post(create).get(hostile::list))
                    .route("/blobs/{key}", get(blob).delete(delete))
                    .route("/blobs/{key}/complete", put(complete))
                    .route("/blobs/{key}/download", get(redirect))
                    .with_state(shared.clone());
                let storage_app = Router::new()
                    .route("/bucket", post(storage_post))
                    .route("/bucket/{key}", any(storage_get))
                    .layer(axum::extract::DefaultBodyLimit::disable())
                    .with_state(shared);
                let a = axum::serve(api, api_app);
                let s = axum::serve(storage, storage_app);
                let _ = tokio::join!(a, s);
            });
        });
        FakeCube {
            api_url,
            storage_url,
            state,
        }
    }

    pub fn seen(&self, host: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.host == host)
            .cloned()
            .collect()
    }

    pub fn blobs(&self) -> Vec<FakeBlob> {
        self.state.blobs.lock().unwrap().values().cloned().collect()
    }

    /// A completed blob holding `data`, as if uploaded earlier.
    pub fn put_blob(&self, name: &str, data: &[u8]) -> FakeBlob {
        let id = self.state.next_id.fetch_add(1, Ordering::SeqCst);
        let blob = FakeBlob {
            id,
            uid: format!("{:032x}", id * 7919),
            name: name.into(),
            content_type: "application/octet-stream".into(),
            public: false,
            data: Some(data.to_vec()),
            complete: true,
        };
        self.state.blobs.lock().unwrap().insert(id, blob.clone());
        blob
    }
}

fn record(
    state: &FakeState,
    host: &'static str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    fields: Vec<String>,
    body_len: usize,
) {
    state.seen.lock().unwrap().push(Seen {
        host,
        method: method.to_string(),
        uri: uri.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_string()))
            .collect(),
        fields,
        body_len,
    });
}

fn blob_json(b: &FakeBlob, params: Option<String>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": b.id, "uid": b.uid, "name": b.name, "content_type": b.content_type,
        "public": b.public,
        "size": b.data.as_ref().filter(|_| b.complete).map(|d| d.len()),
        "blob_status": if b.complete { Some("complete") } else { None },
        "created_at": "2024-05-10T12:00:00Z", "updated_at": "2024-05-10T12:00:00Z",
    });
    if let Some(params) = params {
        v["blob_object_access"] = serde_json::json!({"id": b.id, "blob_id": b.id,
            "object_access_type": "Write", "params": params});
    }
    serde_json::json!({ "blob": v })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        r#"{"errors":{"base":["Entity you are looking for was not found."]}}"#,
    )
        .into_response()
}

async fn create(
    State(s): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&s, "api", &method, &uri, &headers, vec![], body.len());
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = s.next_id.fetch_add(1, Ordering::SeqCst);
    let b = FakeBlob {
        id,
        uid: format!("{:032x}", id * 7919),
        name: v["blob"]["name"].as_str().unwrap_or("").into(),
        content_type: v["blob"]["content_type"].as_str().unwrap_or("").into(),
        public: v["blob"]["public"].as_bool().unwrap_or(false),
        data: None,
        complete: false,
    };
    let params = format!(
        "{}/bucket?Content-Type={}&key={}&policy={POLICY_WIRE}&success_action_status=201&x-amz-signature=sig",
        s.storage_url.lock().unwrap(),
        percent_encoding::utf8_percent_encode(&b.content_type, percent_encoding::NON_ALPHANUMERIC),
        b.uid
    );
    let json = blob_json(&b, Some(params));
    s.blobs.lock().unwrap().insert(id, b);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

fn find(s: &FakeState, key: &str) -> Option<FakeBlob> {
    let key = key.trim_end_matches(".json");
    s.blobs
        .lock()
        .unwrap()
        .values()
        .find(|b| b.id.to_string() == key || b.uid == key)
        .cloned()
}

async fn blob(
    State(s): State<Arc<FakeState>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&s, "api", &method, &uri, &headers, vec![], 0);
    if let Some(resp) = hostile::info(&s, &key) {
        return resp;
    }
    match find(&s, &key) {
        Some(b) => axum::Json(blob_json(&b, None)).into_response(),
        None => not_found(),
    }
}

async fn delete(
    State(s): State<Arc<FakeState>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&s, "api", &method, &uri, &headers, vec![], 0);
    match find(&s, &key) {
        Some(b) => {
            s.blobs.lock().unwrap().remove(&b.id);
            StatusCode::OK.into_response()
        }
        None => not_found(),
    }
}

async fn complete(
    State(s): State<Arc<FakeState>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&s, "api", &method, &uri, &headers, vec![], body.len());
    let Some(b) = find(&s, &key) else {
        return not_found();
    };
    let mut blobs = s.blobs.lock().unwrap();
    let b = blobs.get_mut(&b.id).unwrap();
    if b.data.is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"errors":["no file"]}"#,
        )
            .into_response();
    }
    b.complete = true;
    StatusCode::OK.into_response()
}

async fn redirect(
    State(s): State<Arc<FakeState>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&s, "api", &method, &uri, &headers, vec![], 0);
    match find(&s, &key).filter(|b| b.complete) {
        Some(_) if s.hostile.lock().unwrap().redirect_to.is_some() => {
            let location = s.hostile.lock().unwrap().redirect_to.clone().unwrap();
            (StatusCode::MOVED_PERMANENTLY, [("location", location)]).into_response()
        }
        Some(b) => {
            let location = format!(
                "{}/bucket/{}?X-Amz-Signature=sig",
                s.storage_url.lock().unwrap(),
                b.uid
            );
            (StatusCode::MOVED_PERMANENTLY, [("location", location)]).into_response()
        }
        None => not_found(),
    }
}

fn s3_error(status: u16, code: &str, message: &str) -> Response {
    let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>");
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/xml")],
        xml,
    )
        .into_response()
}

/// The parts of a multipart body: (name, data), in order.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap_or("")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = find_bytes(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find_bytes(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end =
            find_bytes(content, format!("\r\n{delimiter}").as_bytes()).unwrap_or(content.len());
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
            .unwrap_or("")
            .to_string();
        out.push((name, content[..end].to_vec()));
        rest = &content[end..];
    }
    out
}

/// Where `needle` starts in `hay`; quick enough on megabytes in a debug build.
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(at) = hay[from..].iter().position(|&b| b == first) {
        let start = from + at;
        if hay[start..].starts_with(needle) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// The whole request body, read slowly when the test asks for it (a slow link).
async fn read_body(s: &FakeState, body: Body) -> Vec<u8> {
    use futures_util::StreamExt;
    let pause = *s.slow_post.lock().unwrap();
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.extend_from_slice(&chunk);
        if let Some(pause) = pause {
            let pieces = chunk.len().div_ceil(64 * 1024) as u32;
            tokio::time::sleep(pause * pieces).await;
        }
    }
    out
}

async fn storage_post(
    State(s): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_body(&s, body).await;
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let parts = parts(&ct, &body);
    record(
        &s,
        "storage",
        &method,
        &uri,
        &headers,
        parts.iter().map(|(n, _)| n.clone()).collect(),
        body.len(),
    );
    if let Some(fault) = s.post_faults.lock().unwrap().pop_front() {
        return match fault {
            PostFault::Status(status, code) => s3_error(status, &code, "injected by the test"),
            PostFault::PolicyExpired => s3_error(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy expired.",
            ),
        };
    }
    let field = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| String::from_utf8_lossy(d).to_string())
    };
    if field("policy").as_deref() != Some(POLICY) {
        return s3_error(
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed",
        );
    }
    if parts.last().map(|(n, _)| n.as_str()) != Some("file") {
        return s3_error(400, "InvalidArgument", "the file must be the last field");
    }
    let key = field("key").unwrap_or_default();
    let data = parts.last().unwrap().1.clone();
    let etag = hex::encode(Md5::digest(&data));
    let mut blobs = s.blobs.lock().unwrap();
    let Some(b) = blobs.values_mut().find(|b| b.uid == key) else {
        return s3_error(403, "AccessDenied", "no such key");
    };
    b.data = Some(data);
    let xml = format!("<PostResponse><Location>x</Location><Bucket>bucket</Bucket><Key>{key}</Key><ETag>\"{etag}\"</ETag></PostResponse>");
    (
        StatusCode::CREATED,
        [("content-type", "application/xml")],
        xml,
    )
        .into_response()
}

async fn storage_get(
    State(s): State<Arc<FakeState>>,
    Path(key): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&s, "storage", &method, &uri, &headers, vec![], 0);
    let Some(data) = find(&s, &key).and_then(|b| b.data) else {
        return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    if let Some(resp) = hostile::storage_get(&s, &data, &headers).await {
        return resp;
    }
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
    let start = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
    let (status, body, range) = match start {
        Some(start) if start < data.len() => (
            StatusCode::PARTIAL_CONTENT,
            data[start..].to_vec(),
            Some(format!("bytes {start}-{}/{}", data.len() - 1, data.len())),
        ),
        Some(_) => {
            return s3_error(
                416,
                "InvalidRange",
                "The requested range is not satisfiable",
            )
        }
        None => (StatusCode::OK, data.clone(), None),
    };
    let len = body.len();
    let cut = s.cuts.lock().unwrap().pop_front();
    let stream_body = match cut {
        // Send the first bytes, then break the connection mid-body.
        Some(cut) if cut < len => {
            let head = Bytes::from(body[..cut].to_vec());
            let stream = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(head),
                Err(std::io::Error::other("cut by the test")),
            ]);
            Body::from_stream(stream)
        }
        _ => Body::from(body),
    };
    let mut resp = Response::builder()
        .status(status)
        .header("content-length", len)
        .header("etag", etag)
        .header("content-type", "application/octet-stream");
    if let Some(range) = range {
        resp = resp.header("content-range", range);
    }
    resp.body(stream_body).unwrap()
}
