//! The three-step upload of one file (or, for a copy, of another blob's bytes): create
//! the blob record, POST the bytes to storage with the form it came with, declare it
//! complete. Anything short of the end deletes the record it made, so a failed or
//! interrupted upload leaves nothing behind.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, RETRY_AFTER};
use tokio_util::sync::CancellationToken;

use super::copy::BlobSource;
use super::events::{Events, FileEvents};
use super::form::UploadForm;
use super::multipart::MultipartForm;
use super::storage::{
    back_off, etag_md5, header_text, log_answer, read_capped, shown_url, storage_error,
    transport_error, Activity, Watched,
};
use crate::api::retry::parse_retry_after;
use crate::api::{xml_element, ApiError, Blob, Client};
use crate::exit::Interrupted;

/// The step name in messages about the S3 POST.
const SENDING: &str = "sending to storage";

/// How many times an upload form that expired before the bytes arrived is replaced by
/// a fresh record and form (the form lives an hour; twice covers a slow link).
pub(super) const FRESH_FORMS: u32 = 2;

/// The longest we wait, after a failure or Ctrl-C, for a record to be deleted or for a
/// create already sent to answer: cleanup must not hang an interrupted program.
pub(super) const CLEANUP_WAIT: Duration = Duration::from_secs(15);

/// One file to upload, checked beforehand (exists, regular, size within the limit).
#[derive(Debug, Clone)]
pub struct UploadRequest {
    /// Where the bytes come from.
    pub content: Content,
    /// Its size when checked; the upload fails if the content no longer has it.
    pub size: u64,
    pub name: String,
    pub content_type: String,
    pub public: bool,
}

/// Where an upload's bytes come from; every try at the S3 POST reads them afresh.
#[derive(Debug, Clone)]
pub enum Content {
    /// A regular file; stdin was spooled to a temporary one.
    File(PathBuf),
    /// Another blob's content, downloaded anew for each try (see `transfer::copy`).
    Blob(Box<BlobSource>),
}

impl Content {
    /// The local file, if that is where the bytes come from.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Content::File(path) => Some(path),
            Content::Blob(_) => None,
        }
    }

    /// How it is named in messages: `` `PATH` ``, or the source blob.
    fn shown(&self) -> String {
        match self {
            Content::File(path) => format!("`{}`", path.display()),
            Content::Blob(source) => source.shown(),
        }
    }
}

/// Uploads one file. The blob returned is the created record, completed with its size.
pub async fn upload(
    client: &Client,
    req: &UploadRequest,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<Blob> {
    Ok(upload_checked(client, req, events, cancel).await?.0)
}

/// `upload`, with the MD5 of the bytes sent (which storage's ETag matched), lowercase hex.
pub(super) async fn upload_checked(
    client: &Client,
    req: &UploadRequest,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<(Blob, String)> {
    if cancel.is_cancelled() {
        return Err(Interrupted.into());
    }
    let file_events: Arc<dyn FileEvents> = Arc::from(events.started(&req.name, Some(req.size)));
    let result = upload_with_fresh_forms(client, req, file_events.clone(), cancel).await;
    match &result {
        Ok(_) => file_events.finished(),
        Err(_) => file_events.failed(),
    }
    result
}

async fn upload_with_fresh_forms(
    client: &Client,
    req: &UploadRequest,
    events: Arc<dyn FileEvents>,
    cancel: &CancellationToken,
) -> anyhow::Result<(Blob, String)> {
    let mut fresh = 0;
    loop {
        let blob = create(client, req, cancel).await?;
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Interrupted.into()),
            r = send_and_complete(client, req, &blob, events.clone(), "create blob") => r,
        };
        let err = match outcome {
            Ok(md5) => return Ok((completed(blob, req.size), md5)),
            Err(err) => err,
        };
        let cleanup = remove_record(client, blob.id).await;
        if is_policy_expired(&err) && fresh < FRESH_FORMS && cleanup.is_ok() {
            fresh += 1;
            continue;
        }
        return Err(match cleanup {
            Ok(()) => err,
            Err(why) => err.context(format!(
                "the blob record {} it made could not be deleted ({why:#})",
                blob.id
            )),
        });
    }
}

/// `POST /blobs`, given up at Ctrl-C. A create already on the wire may still make a
/// record, so its answer is awaited a little and the record removed.
async fn create(
    client: &Client,
    req: &UploadRequest,
    cancel: &CancellationToken,
) -> anyhow::Result<Blob> {
    let create = client.create_blob(&req.name, &req.content_type, req.public);
    tokio::pin!(create);
    tokio::select! {
        biased;
        r = &mut create => Ok(r?),
        _ = cancel.cancelled() => {
            if let Ok(Ok(blob)) = tokio::time::timeout(CLEANUP_WAIT, create).await {
                let _ = remove_record(client, blob.id).await;
            }
            Err(Interrupted.into())
        }
    }
}

/// Steps 2 and 3, shared by upload and replace: the streamed, MD5-checked POST with
/// the form that `blob` came with (from `what`, for messages), then complete. The MD5
/// of what was sent, hex.
pub(super) async fn send_and_complete(
    client: &Client,
    req: &UploadRequest,
    blob: &Blob,
    events: Arc<dyn FileEvents>,
    what: &str,
) -> anyhow::Result<String> {
    let bad_answer = |detail: String| ApiError::Decode {
        what: what.into(),
        detail,
    };
    let params = blob
        .blob_object_access
        .as_ref()
        .and_then(|access| access.params.as_deref())
        .ok_or_else(|| bad_answer("the record has no upload form (`params`)".into()))?;
    let form = UploadForm::parse(params).map_err(bad_answer)?;
    let md5 = send_to_storage(client, &form, req, events).await?;
    client.complete_blob(blob.id, req.size).await?;
    Ok(md5)
}

/// The S3 POST, retried from a fresh read of the file (a fresh download of the source
/// blob) on connection errors, 5xx and 429: the same form for the same key is safe to
/// send again.
async fn send_to_storage(
    client: &Client,
    form: &UploadForm,
    req: &UploadRequest,
    events: Arc<dyn FileEvents>,
) -> anyhow::Result<String> {
    let multipart = MultipartForm::new(&form.fields, &req.name, &req.content_type, req.size);
    let limit = client.timeout();
    let mut attempt = 0;
    loop {
        events.rewound(0);
        let activity = Activity::new();
        let watched = Arc::new(Watched::new(events.clone(), activity.clone(), req.size));
        let (body, outcome) = match &req.content {
            Content::File(path) => {
                let (stream, outcome) = multipart
                    .body(path, watched)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                (reqwest::Body::wrap_stream(stream), outcome)
            }
            Content::Blob(source) => {
                let (stream, outcome) = multipart.piped_body(source.open(), watched);
                (reqwest::Body::wrap_stream(stream), outcome)
            }
        };
        client.log_storage_request("POST", &form.url);
        let started = std::time::Instant::now();
        let request = client
            .upload_http()
            .post(form.url.clone())
            .header(CONTENT_TYPE, multipart.content_type())
            // Set by hand: a streamed body has no size of its own, and without this
            // header hyper would send it chunked, which S3 refuses.
            .header(CONTENT_LENGTH, multipart.content_length())
            .body(body)
            .send();
        // The time limit is on silence, not on the whole upload: a slow link that
        // keeps moving never hits it.
        let sent = tokio::select! {
            r = request => Some(r),
            () = activity.stalled(limit) => None,
        };
        // What fed the body failed: sending it again would not help (a download has
        // made its own retries).
        if let Some(err) = outcome.lock().unwrap().source.take() {
            return Err(err);
        }
        if let Some(err) = outcome.lock().unwrap().error.take() {
            return Err(
                anyhow::Error::new(err).context(format!("reading {} failed", req.content.shown()))
            );
        }
        let (err, retry_after) = match sent {
            None => {
                client.log_line(&format!("< no progress for {}s", limit.as_secs()));
                let stalled = ApiError::Stalled {
                    what: SENDING.into(),
                    url: shown_url(&form.url),
                    after: limit,
                };
                (stalled, None)
            }
            Some(sent) => {
                log_answer(client, &sent, started);
                match sent {
                    Ok(resp) if resp.status().is_success() => {
                        let header_etag = header_text(&resp, ETAG);
                        let answer = read_capped(resp, limit).await;
                        let md5 = outcome.lock().unwrap().md5;
                        return Ok(check_etag(&answer, header_etag.as_deref(), md5)?);
                    }
                    Ok(resp) => {
                        let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
                        (storage_error(SENDING, resp, limit).await, retry_after)
                    }
                    Err(source) => (transport_error(SENDING, &form.url, limit, source), None),
                }
            }
        };
        back_off(client, &mut attempt, err, retry_after, "trying again").await?;
    }
}

/// Storage said yes: its ETag, when it is a plain MD5, must be the MD5 of what we sent,
/// which is returned (hex).
fn check_etag(
    answer: &str,
    header: Option<&str>,
    md5: Option<[u8; 16]>,
) -> Result<String, ApiError> {
    let mismatch = |detail: String| ApiError::Decode {
        what: SENDING.into(),
        detail,
    };
    let Some(md5) = md5 else {
        return Err(mismatch(
            "storage answered before the whole file was sent".into(),
        ));
    };
    let sent = hex::encode(md5);
    let etag = xml_element(answer, "ETag").or_else(|| header.map(str::to_string));
    match etag.as_deref().and_then(etag_md5) {
        Some(stored) if stored != sent => Err(mismatch(format!(
            "storage holds MD5 `{stored}` but the bytes sent have MD5 `{sent}`"
        ))),
        // No ETag, or one that is not an MD5 (encrypting S3-compatible stores):
        // nothing to compare; the 2xx is all there is.
        _ => Ok(sent),
    }
}

/// Deletes a record this upload made, giving up after `CLEANUP_WAIT`.
async fn remove_record(client: &Client, id: u64) -> anyhow::Result<()> {
    match tokio::time::timeout(CLEANUP_WAIT, client.delete_blob(id)).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("no answer within {}s", CLEANUP_WAIT.as_secs()),
    }
}

pub(super) fn is_policy_expired(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(cause.downcast_ref::<ApiError>(),
            Some(ApiError::Storage { error, .. }) if error.is_policy_expired())
    })
}

/// The record as it now stands; the signed form is dropped so it is never shown.
pub(super) fn completed(mut blob: Blob, size: u64) -> Blob {
    blob.size = Some(size);
    blob.blob_status = Some("complete".into());
    blob.blob_object_access = None;
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_must_match_what_was_sent() {
        let md5 = [
            0x9e, 0x10, 0x7d, 0x9d, 0x37, 0x2b, 0xb6, 0x82, 0x6b, 0xd8, 0x1d, 0x35, 0x42, 0xa4,
            0x19, 0xd6,
        ];
        let ok = "<PostResponse><ETag>\"9e107d9d372bb6826bd81d3542a419d6\"</ETag></PostResponse>";
        assert!(check_etag(ok, None, Some(md5)).is_ok());
        let xml_quoted = "<PostResponse><ETag>&quot;9e107d9d372bb6826bd81d3542a419d6&quot;</ETag></PostResponse>";
        assert!(check_etag(xml_quoted, None, Some(md5)).is_ok());
        let bad = "<PostResponse><ETag>\"00000000000000000000000000000000\"</ETag></PostResponse>";
        let err = check_etag(bad, None, Some(md5)).unwrap_err().to_string();
        assert!(
            err.contains("sending to storage") && err.contains("9e107d9d"),
            "{err}"
        );
        assert!(check_etag("", Some("\"00000000000000000000000000000000\""), Some(md5)).is_err());
        assert!(check_etag("", None, Some(md5)).is_ok());
        assert!(check_etag(ok, None, None).is_err());
    }

    #[test]
    fn only_an_expired_policy_calls_for_a_fresh_form() {
        let storage = |status, code: &str, message: &str| {
            anyhow::Error::new(ApiError::Storage {
                what: SENDING.into(),
                error: crate::api::StorageError {
                    status,
                    code: code.into(),
                    message: message.into(),
                },
            })
            .context("upload `a`")
        };
        assert!(is_policy_expired(&storage(
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy expired."
        )));
        assert!(!is_policy_expired(&storage(
            403,
            "SignatureDoesNotMatch",
            ""
        )));
        assert!(!is_policy_expired(&anyhow::Error::new(Interrupted)));
    }
}
