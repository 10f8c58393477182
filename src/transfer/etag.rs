//! A blob's MD5 without downloading it: a ranged GET (`Range: bytes=0-0`) of its
//! presigned storage URL answers with one byte and the object's ETag, which is the MD5
//! of its content for single-part uploads (every upload the service makes). An empty
//! object has no byte to ask for (S3 answers 416): callers compare sizes first.

use reqwest::header::{ETAG, RANGE};

use super::storage::{etag_md5, header_text, log_answer, storage_error, transport_error};
use crate::api::{ApiError, Client};

const ASKING: &str = "reading the blob's checksum";

/// The MD5 of the content of blob `uid`; `None` when storage gives no ETag that is
/// an MD5 (multipart or encrypted objects).
pub async fn remote_md5(client: &Client, uid: &str) -> Result<Option<String>, ApiError> {
    let url = client.download_location(uid).await?;
    client.log_storage_request("GET", &url);
    let started = std::time::Instant::now();
    let sent = client
        .http()
        .get(url.clone())
        .header(RANGE, "bytes=0-0")
        .send()
        .await;
    log_answer(client, &sent, started);
    let resp = sent.map_err(|e| transport_error(ASKING, &url, client.timeout(), e))?;
    if !resp.status().is_success() {
        return Err(storage_error(ASKING, resp, client.timeout()).await);
    }
    // The body (one byte, or the whole object from a host that ignores ranges) is
    // dropped unread.
    Ok(header_text(&resp, ETAG).as_deref().and_then(etag_md5))
}
