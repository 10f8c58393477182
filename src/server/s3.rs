//! The local S3 endpoint: POST Object (the browser-style signed form) streamed to a
//! temporary file with its MD5 and size checked on the way, and presigned GET/HEAD
//! with byte ranges. Errors are S3's XML.

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::db::{self, BlobRow};
use super::errors::{xml_escape, xml_response, S3Error};
use super::object_body;
use super::range::{self, Span};
use super::sigv4;
use super::state::{now, AppState, SharedState, BUCKET};
use super::temp::TempFile;

/// S3 limits the fields before the file to 20 KB; ours are far smaller.
const MAX_PRE_DATA: usize = 64 * 1024;
const MAX_FIELDS: usize = 64;
/// After a refusal, how much more of the body we read and discard so that the
/// client, still sending, gets to read our answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;
const WRITE_BUFFER: usize = 256 * 1024;

/// `POST /{bucket}`: the upload form.
pub async fn post_object(
    State(state): State<SharedState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut multipart) = multipart else {
        return S3Error::malformed_post(
            "The body of your POST request is not well-formed multipart/form-data.",
        )
        .into_response();
    };
    match receive(&state, &mut multipart).await {
        Ok(response) => response,
        Err(err) => {
            drain(&mut multipart, DRAIN_LIMIT).await;
            err.into_response()
        }
    }
}

async fn receive(state: &AppState, multipart: &mut Multipart) -> Result<Response, S3Error> {
    let mut pre = PreData::new(MAX_PRE_DATA);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return Err(S3Error::invalid_argument(
                    "POST requires exactly one file upload per request.",
                ))
            }
            Err(_) => return Err(cut_off()),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name.eq_ignore_ascii_case("file") {
            let form = sigv4::check_post_form(&state.keys, BUCKET, &pre.fields, now())?;
            let blob = find_blob(state, &form.key).await?;
            let (min, max) = match form.length_range {
                Some((min, max)) => (min, max.min(state.max_size)),
                None => (0, state.max_size),
            };
            let landed = receive_file(state, &mut field, min, max).await?;
            drop(field);
            skip_fields_after_the_file(multipart).await?;
            let location = format!("{}{}", state.s3_base, state.object_path(&blob.uid));
            // The policy holds the Content-Type to the signed one: the object keeps it.
            let content_type = pre
                .fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone());
            return store(
                state,
                blob,
                landed,
                content_type.as_deref(),
                &location,
                form.success_action_status.as_deref(),
            )
            .await;
        }
        pre.read(name, &mut field).await?;
    }
}

/// The fields before the file, and how many of the allowed bytes they used.
pub(crate) struct PreData {
    pub fields: Vec<(String, String)>,
    pub bytes: usize,
    limit: usize,
}

impl PreData {
    pub(crate) fn new(limit: usize) -> PreData {
        PreData {
            fields: Vec::new(),
            bytes: 0,
            limit,
        }
    }

    /// Reads one field's value; names and values together stay within the limit.
    pub(crate) async fn read(
        &mut self,
        name: String,
        field: &mut Field<'_>,
    ) -> Result<(), S3Error> {
        if self.fields.len() >= MAX_FIELDS {
            return Err(pre_data_too_large());
        }
        // The name counts too: multer bounds neither, and 64 long names are no small form.
        self.bytes += name.len();
        if self.bytes > self.limit {
            return Err(pre_data_too_large());
        }
        let value = read_value(field, self.limit - self.bytes).await?;
        self.bytes += value.len();
        self.fields.push((name, value));
        Ok(())
    }
}

/// Amazon S3 ignores fields after the file (the QuickBlox JS SDK sends one), and so
/// do we: they are read and dropped, within the bound of the fields before it. Only
/// the fields before the file are checked against the policy, so a signed field sent
/// late still fails that check.
async fn skip_fields_after_the_file(multipart: &mut Multipart) -> Result<(), S3Error> {
    let mut read = 0u64;
    loop {
        match multipart.next_field().await {
            Ok(None) => return Ok(()),
            Ok(Some(mut field)) => {
                read += drain_field(&mut field, MAX_PRE_DATA as u64 + 1).await;
                if read > MAX_PRE_DATA as u64 {
                    return Err(pre_data_too_large());
                }
            }
            Err(_) => return Err(cut_off()),
        }
    }
}

fn cut_off() -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "IncompleteBody",
        "The request body ended before the multipart form was complete.",
    )
}

fn pre_data_too_large() -> S3Error {
    // S3's own words, spelling included.
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "MaxPostPreDataLengthExceeded",
        "Your POST request fields preceeding the upload file was too large.",
    )
}

async fn read_value(field: &mut Field<'_>, room: usize) -> Result<String, S3Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| cut_off())? {
        if bytes.len() + chunk.len() > room {
            return Err(pre_data_too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| S3Error::invalid_argument("Form fields must be UTF-8."))
}

/// The blob record an upload is for: no record, no upload.
async fn find_blob(state: &AppState, key: &str) -> Result<BlobRow, S3Error> {
    state.db.blob_by_uid(key).await?.ok_or_else(|| {
        S3Error::access_denied(format!("Access Denied: no blob has the key `{key}`"))
    })
}

struct Landed {
    temp: TempFile,
    size: u64,
    md5: String,
}

/// Streams the file part to a temporary file, with its MD5, refusing it past `max`.
async fn receive_file(
    state: &AppState,
    field: &mut Field<'_>,
    min: u64,
    max: u64,
) -> Result<Landed, S3Error> {
    let data = state.data.clone();
    let (temp, file) = tokio::task::spawn_blocking(move || data.create_temp())
        .await
        .map_err(|err| S3Error::from(anyhow::Error::from(err)))?
        .map_err(|err| S3Error::from(err.context("cannot create an upload file")))?;
    let file = tokio::fs::File::from_std(file);
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut md5 = Md5::new();
    let mut size: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(|_| cut_off())? {
        size += chunk.len() as u64;
        if size > max {
            // Read on to learn the proposed size, and so the client hears us.
            let rest = drain_field(field, DRAIN_LIMIT).await;
            return Err(too_large(size + rest, max));
        }
        md5.update(&chunk);
        writer.write_all(&chunk).await.map_err(write_error)?;
    }
    writer.flush().await.map_err(write_error)?;
    writer.into_inner().sync_data().await.map_err(write_error)?;
    if size < min {
        return Err(S3Error::new(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
        )
        .with("ProposedSize", size.to_string())
        .with("MinSizeAllowed", min.to_string()));
    }
    Ok(Landed {
        temp,
        size,
        md5: hex::encode(md5.finalize()),
    })
}

fn write_error(err: std::io::Error) -> S3Error {
    S3Error::from(anyhow::Error::from(err).context("cannot write an upload file"))
}

fn too_large(proposed: u64, max: u64) -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
    .with("ProposedSize", proposed.to_string())
    .with("MaxSizeAllowed", max.to_string())
}

/// Reads and drops the rest of a field, up to `limit` bytes; how many it read.
async fn drain_field(field: &mut Field<'_>, limit: u64) -> u64 {
    let mut read = 0u64;
    while read < limit {
        match field.chunk().await {
            Ok(Some(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
    read
}

/// Reads and drops the rest of the form, up to `limit` bytes.
async fn drain(multipart: &mut Multipart, limit: u64) {
    let mut read = 0u64;
    while read < limit {
        match multipart.next_field().await {
            Ok(Some(mut field)) => read += drain_field(&mut field, limit - read).await,
            _ => return,
        }
    }
}

/// Moves a landed upload into place and records it, under the database lock so
/// that a delete of the blob or another upload to it cannot interleave.
async fn store(
    state: &AppState,
    blob: BlobRow,
    landed: Landed,
    content_type: Option<&str>,
    location: &str,
    success_status: Option<&str>,
) -> Result<Response, S3Error> {
    let target = state
        .data
        .object_path(&blob.uid)
        .ok_or_else(|| S3Error::from(anyhow::anyhow!("a stored uid is not hex: {}", blob.uid)))?;
    let Landed { temp, size, md5 } = landed;
    let uid = blob.uid.clone();
    let etag = md5.clone();
    let content_type = content_type.map(str::to_string);
    let at = now().timestamp();
    let object = db::Landed {
        size,
        md5,
        content_type,
    };
    // Deleted meanwhile: the step does not run, and `temp` goes with it.
    let persist: db::FileStep = Box::new(move || Ok(temp.persist(&target)?));
    let stored = state
        .db
        .record_object(&uid, object, at, Some(persist))
        .await?;
    if !stored {
        return Err(S3Error::no_such_key());
    }
    let mut response = match success_status {
        Some("200") => StatusCode::OK.into_response(),
        Some("201") => xml_response(
            StatusCode::CREATED,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location>\
                 <Bucket>{BUCKET}</Bucket><Key>{}</Key><ETag>\"{etag}\"</ETag></PostResponse>",
                xml_escape(location),
                xml_escape(&blob.uid)
            ),
        ),
        _ => StatusCode::NO_CONTENT.into_response(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET|HEAD /{bucket}/{key}` with a presigned query.
pub async fn get_object(
    State(state): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    key: Result<Path<String>, PathRejection>,
) -> Response {
    match serve_object(&state, &method, &uri, &headers, key).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn serve_object(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    key: Result<Path<String>, PathRejection>,
) -> Result<Response, S3Error> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let verify = |signed_method: &str| {
        sigv4::verify_presigned(
            &state.keys,
            signed_method,
            uri.path(),
            uri.query().unwrap_or(""),
            header,
            now(),
        )
    };
    // As on S3, a `public-read` object needs no signature; a request that carries
    // one has it checked all the same.
    let signed = uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, _)| k.eq_ignore_ascii_case("x-amz-signature"))
    });
    if signed {
        let verified = verify(method.as_str());
        // A URL presigned for GET may also answer HEAD: clients probe sizes that way.
        if verified.is_err() && method == Method::HEAD {
            verify("GET")?;
        } else {
            verified?;
        }
    }

    let Path(key) = key.map_err(|_| S3Error::no_such_key())?;
    let blob = state.db.blob_by_uid(&key).await?;
    if !signed && !blob.as_ref().is_some_and(|b| b.public) {
        // Unsigned, and private or absent alike: the signature check's own refusal.
        return Err(verify(method.as_str())
            .err()
            .unwrap_or_else(|| S3Error::access_denied("Access Denied")));
    }
    let blob = blob
        .filter(|b| b.object_size.is_some())
        .ok_or_else(S3Error::no_such_key)?;
    let path = state
        .data
        .object_path(&blob.uid)
        .ok_or_else(S3Error::no_such_key)?;
    let opened = match tokio::task::spawn_blocking(move || object_body::open(&path)).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(S3Error::no_such_key())
        }
        Ok(Err(err)) => {
            return Err(anyhow::Error::from(err)
                .context("cannot open an object")
                .into())
        }
        Err(err) => return Err(S3Error::from(anyhow::Error::from(err))),
    };
    let len = opened.len;

    let (status, start, count) = match range::parse(header("range").as_deref(), len) {
        Span::Whole => (StatusCode::OK, 0, len),
        Span::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Span::Unsatisfiable => {
            let mut response = S3Error::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            )
            .with("RangeRequested", header("range").unwrap_or_default())
            .with("ActualObjectSize", len.to_string())
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let body = opened.body(start, count);
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    // The type the object was stored with, as S3 keeps it; a record edited since
    // does not change it. Objects stored before it was recorded: the record's.
    let stored_type = blob
        .object_content_type
        .as_deref()
        .unwrap_or(&blob.content_type);
    let content_type = HeaderValue::from_str(stored_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(md5) = &blob.object_md5 {
        if let Ok(value) = HeaderValue::from_str(&format!("\"{md5}\"")) {
            out.insert(header::ETAG, value);
        }
    }
    let modified = chrono::DateTime::from_timestamp(blob.updated_at, 0).unwrap_or_default();
    if let Ok(value) =
        HeaderValue::from_str(&modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        out.insert(header::LAST_MODIFIED, value);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {start}-{}/{len}", start + count - 1);
        if let Ok(value) = HeaderValue::from_str(&range) {
            out.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// 405 on an S3 path, in S3's words.
pub async fn method_not_allowed() -> Response {
    S3Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
    .into_response()
}

/// 404 for any other path on a separate S3 listener.
pub async fn no_such_bucket() -> Response {
    S3Error::new(
        StatusCode::NOT_FOUND,
        "NoSuchBucket",
        "The specified bucket does not exist",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::FromRequest;

    async fn first_field_of(body: String) -> Result<(), S3Error> {
        let request = axum::http::Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(Body::from(body))
            .unwrap();
        let mut form = Multipart::from_request(request, &()).await.unwrap();
        let mut field = form.next_field().await.unwrap().unwrap();
        let name = field.name().unwrap().to_string();
        PreData::new(MAX_PRE_DATA).read(name, &mut field).await
    }

    #[tokio::test]
    async fn a_field_name_counts_against_the_pre_data_limit() {
        // Caught by the `multipart` fuzz entry's bound: an empty value under a long
        // name was let through whatever the name's length.
        let part = |name: &str| {
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n\r\n--b--\r\n")
        };
        assert!(first_field_of(part("key")).await.is_ok());
        let err = first_field_of(part(&"n".repeat(MAX_PRE_DATA + 1)))
            .await
            .unwrap_err();
        assert_eq!(err.code, "MaxPostPreDataLengthExceeded");
    }
}
