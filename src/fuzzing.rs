//! One entry per parser of untrusted input, for the `cargo fuzz` targets in `fuzz/`
//! and for `tests/fuzz_corpus.rs`, which feeds them the committed corpus and random
//! inputs on stable Rust. Each takes raw bytes, must never panic, and asserts the
//! invariants that are cheap to check; a failed assertion is a finding.

use std::collections::HashSet;

use axum::extract::{FromRequest, Multipart};
use axum::http::{header, HeaderMap, HeaderValue, Request};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::api::error::{
    error_messages, xml_element, StorageError, MAX_MESSAGES, MAX_MESSAGE_CHARS,
};
use crate::api::models::{BlobEnvelope, BlobPage, SessionEnvelope};
use crate::output::filename::{sanitize, UniqueNames, MAX_NAME_BYTES};
use crate::output::sanitize::escape_for_terminal;
use crate::server::range::Span;
use crate::server::s3::PreData;
use crate::server::sigv4::{self, S3Keys};
use crate::server::{body, range};
use crate::transfer::form::UploadForm;

/// The targets, by name: what `fuzz/fuzz_targets/NAME.rs` runs and what the corpus
/// folder `fuzz/corpus/NAME/` seeds.
/// An entry: raw bytes in, a panic on a finding.
pub type Entry = fn(&[u8]);

pub const TARGETS: &[(&str, Entry)] = &[
    ("body", body),
    ("multipart", multipart),
    ("post_policy", post_policy),
    ("presigned_get", presigned_get),
    ("s3_xml", s3_xml),
    ("range", range),
    ("upload_form", upload_form),
    ("api_answer", api_answer),
    ("names", names),
];

fn headers(content_type: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, value);
    }
    h
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An API request body (server): the first byte picks the content type, the rest is
/// the body. What reads back is a map that survives being flattened and sent again.
pub fn body(data: &[u8]) {
    let Some((&selector, raw)) = data.split_first() else {
        return;
    };
    let content_type = ["application/json", FORM, "", "text/plain"][usize::from(selector % 4)];
    let Ok(map) = body::parse(&headers(content_type), raw) else {
        return;
    };
    let flat = body::flatten(&map);
    let trimmed = raw.trim_ascii();
    let was_form = content_type == FORM
        || (!content_type.contains("json") && !matches!(trimmed.first(), Some(b'{' | b'[')));
    if was_form {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&flat)
            .finish();
        let again = body::parse(&headers(FORM), encoded.as_bytes())
            .unwrap_or_else(|e| panic!("a re-encoded form is refused: {e:?}"));
        assert_eq!(again, map, "a form changes when flattened and sent again");
    } else {
        // Floats need not survive serde_json's parser exactly: compare the shape.
        let text = serde_json::to_vec(&map).expect("a map serialises");
        let again = body::parse(&headers("application/json"), &text)
            .unwrap_or_else(|e| panic!("a re-serialised JSON body is refused: {e:?}"));
        assert_eq!(body::flatten(&again).len(), flat.len());
    }
}

/// What the fuzzer may put before the file: small, so that its short inputs reach it.
const FUZZ_PRE_DATA: usize = 512;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
}

/// The S3 POST body (server), read field by field as `s3::post_object` reads it. The
/// boundary is the input's first line without its `--`, so real bodies are seeds as
/// they are.
pub fn multipart(data: &[u8]) {
    let first_line = data
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(b"");
    let Some(boundary) = first_line.strip_prefix(b"--") else {
        return;
    };
    let Ok(boundary) = std::str::from_utf8(boundary) else {
        return;
    };
    let Ok(content_type) =
        HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
    else {
        return;
    };
    let request = Request::builder()
        .method("POST")
        .header(header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(data.to_vec()))
        .expect("a request");
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let Ok(mut form) = Multipart::from_request(request, &()).await else {
                return;
            };
            let mut pre = PreData::new(FUZZ_PRE_DATA);
            loop {
                let Ok(Some(mut field)) = form.next_field().await else {
                    return;
                };
                let name = field.name().unwrap_or_default().to_string();
                if name.eq_ignore_ascii_case("file") {
                    let mut size = 0usize;
                    while let Ok(Some(chunk)) = field.chunk().await {
                        size += chunk.len();
                    }
                    assert!(size <= data.len(), "a file part longer than the body");
                    return;
                }
                if pre.read(name, &mut field).await.is_err() {
                    return;
                }
                assert!(
                    pre.bytes <= FUZZ_PRE_DATA,
                    "fields before the file hold {} bytes, over the {FUZZ_PRE_DATA} allowed",
                    pre.bytes
                );
            }
        })
    });
}

fn fuzz_keys() -> S3Keys {
    S3Keys {
        access_key: "AKIAFUZZ".into(),
        secret: "fuzz-secret".into(),
    }
}

const CREDENTIAL: &str = "AKIAFUZZ/20240501/us-east-1/s3/aws4_request";

fn fuzz_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .expect("a date")
        .into()
}

/// `name=value` lines, the way the fuzz inputs carry form fields.
fn lines_as_fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The POST policy and its conditions (server). The input is the policy document,
/// then a NUL, then the form fields as `name=value` lines. The document is encoded
/// and signed with the fuzz keys, so the checks past the signature are reached; a
/// first byte of `!` sends the input as it is, unsigned.
pub fn post_policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (raw, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, &*text),
    };
    let (document, fields_text) = text.split_once('\0').unwrap_or((text, ""));
    let mut fields = lines_as_fields(fields_text);
    if !raw {
        let policy = base64::engine::general_purpose::STANDARD.encode(document);
        let date = "20240501";
        let signature = sigv4::sign(&fuzz_keys(), date, sigv4::REGION, &policy);
        fields.extend([
            ("policy".to_string(), policy),
            ("x-amz-signature".to_string(), signature),
            ("x-amz-algorithm".to_string(), sigv4::ALGORITHM.to_string()),
            ("x-amz-credential".to_string(), CREDENTIAL.to_string()),
        ]);
    }
    if let Ok(checked) = sigv4::check_post_form(&fuzz_keys(), "cubeblob", &fields, fuzz_now()) {
        assert!(!checked.key.is_empty());
        assert!(
            fields
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("key") && *v == checked.key),
            "the checked key is not a field of the form"
        );
    }
}

/// A presigned GET (server): the input is `PATH?QUERY`, then a NUL and the `Host`.
pub fn presigned_get(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (target, host) = text.split_once('\0').unwrap_or((&text, "127.0.0.1"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let header = |name: &str| (name == "host").then(|| host.to_string());
    // Nothing the fuzzer writes can carry a valid signature: it must be refused.
    let verdict = sigv4::verify_presigned(&fuzz_keys(), "GET", path, query, header, fuzz_now());
    assert!(verdict.is_err(), "an unsigned URL was accepted");
}

/// An S3 answer body (client): errors and `PostResponse`s, and the ETag in them.
pub fn s3_xml(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    let status = data.first().map_or(400, |&b| 400 + u16::from(b % 200));
    let error = StorageError::parse(status, &body);
    assert!(error.code.len() <= body.len() && error.message.len() <= body.len());
    for tag in ["ETag", "Location", "Key", "Code", "Message"] {
        if let Some(text) = xml_element(&body, tag) {
            // Decoding entities only ever shortens the text.
            assert!(text.len() <= body.len());
            if let Some(md5) = crate::transfer::storage::etag_md5(&text) {
                assert!(
                    md5.len() == 32 && md5.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                );
            }
        }
    }
    // Round trip: the text, escaped as the server writes it, reads back as itself.
    let escaped = body
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let back = xml_element(&format!("<Message>{escaped}</Message>"), "Message");
    assert_eq!(back.as_deref(), Some(body.trim()));
}

/// `Range` (server) and `Content-Range` (client): the first 8 bytes are the object's
/// length, the rest the header.
pub fn range(data: &[u8]) {
    let mut len_bytes = [0u8; 8];
    let split = data.len().min(8);
    len_bytes[..split].copy_from_slice(&data[..split]);
    let Ok(header) = std::str::from_utf8(&data[split..]) else {
        return;
    };
    let raw_len = u64::from_le_bytes(len_bytes);
    for len in [raw_len, raw_len % 4096] {
        if let Span::Part { start, end } = range::parse(Some(header), len) {
            assert!(
                start <= end && end < len,
                "{header:?} on {len} bytes: {start}-{end}"
            );
            let again = range::parse(Some(&format!("bytes={start}-{end}")), len);
            assert_eq!(again, Span::Part { start, end });
            let content_range = format!("bytes {start}-{end}/{len}");
            assert_eq!(
                crate::transfer::download::range_start(&content_range),
                Some(start)
            );
        }
    }
    let _ = crate::transfer::download::range_start(header);
}

/// The `params` URL of an upload form (client). What it reads, written back as a
/// URL, reads back the same.
pub fn upload_form(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(form) = UploadForm::parse(text) else {
        return;
    };
    assert!(!form.fields.is_empty());
    assert!(form.url.query().is_none() && form.url.fragment().is_none());
    assert!(matches!(form.url.scheme(), "http" | "https"));
    let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let query: Vec<String> = form
        .fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let rebuilt = format!("{}?{}", form.url, query.join("&"));
    let again = UploadForm::parse(&rebuilt)
        .unwrap_or_else(|e| panic!("the rebuilt form URL `{rebuilt}` is refused: {e}"));
    assert_eq!(again, form);
}

/// An API answer body (client): its `errors`, and the records a 2xx carries.
pub fn api_answer(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    let messages = error_messages(&body);
    assert_eq!(messages.is_empty(), body.trim().is_empty());
    // What the user is shown stays small whatever the server sent.
    assert!(
        messages.len() <= MAX_MESSAGES,
        "{} messages",
        messages.len()
    );
    for message in &messages {
        let chars = message.chars().count();
        assert!(
            chars <= MAX_MESSAGE_CHARS + 1,
            "a message of {chars} characters"
        );
    }
    let _ = serde_json::from_slice::<BlobEnvelope>(data);
    let _ = serde_json::from_slice::<BlobPage>(data);
    let _ = serde_json::from_slice::<SessionEnvelope>(data);
}

/// A blob name from the server (client), as a file name and as terminal text. The
/// input is the name, then a NUL and the fallback.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (name, fallback) = text.split_once('\0').unwrap_or((&text, "blob-1"));
    let file = sanitize(name, fallback);
    assert_one_safe_file(&file, name);
    let mut unique = UniqueNames::new();
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let claimed = unique.claim(&file);
        assert!(
            claimed.len() <= MAX_NAME_BYTES,
            "{name:?}: a claimed name of {} bytes",
            claimed.len()
        );
        assert!(
            seen.insert(claimed.to_lowercase()),
            "{name:?}: {claimed:?} twice"
        );
    }
    let shown = escape_for_terminal(name);
    assert!(
        !shown.chars().any(|c| c.is_control() || is_bidi(c)),
        "{name:?} shown as {shown:?}"
    );
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_one_safe_file(file: &str, name: &str) {
    assert!(!file.is_empty(), "{name:?}");
    assert!(
        file.len() <= MAX_NAME_BYTES,
        "{name:?} -> {} bytes",
        file.len()
    );
    assert!(!file.contains(['/', '\\']), "{name:?} -> {file:?}");
    assert!(
        !file.chars().any(|c| c.is_control() || is_bidi(c)),
        "{name:?} -> {file:?}"
    );
    assert!(!file.starts_with('.'), "{name:?} -> {file:?}");
    let mut parts = std::path::Path::new(file).components();
    assert!(
        matches!(parts.next(), Some(std::path::Component::Normal(_))) && parts.next().is_none(),
        "{name:?} -> {file:?}"
    );
}
