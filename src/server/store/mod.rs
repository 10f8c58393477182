//! Where file contents live: the data folder behind the server's own S3 endpoint
//! (`local`), or an external S3-compatible store (`external`). The blob handlers ask
//! this module for upload forms, download URLs, completion and deletion, and never
//! look at which store it is.

mod external;
mod local;
mod tamper;

use chrono::{DateTime, Utc};

use super::db::BlobRow;
use super::errors::ApiError;
use super::sigv4::{self, FormSpec};
use super::state::AppState;

pub use external::{ExternalS3, ExternalStore};
pub use tamper::Tamper;

/// The store a server keeps file contents in.
pub enum Store {
    /// Files under `objects/` in the data folder, uploaded and served by our own S3
    /// endpoint with our own keys.
    Local,
    /// An S3-compatible store (SeaweedFS, MinIO, Amazon S3): clients post to it and
    /// download from it directly; the server only signs and asks.
    External(Box<ExternalStore>),
}

/// What an upload form is for.
pub struct Upload<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub public: bool,
    pub now: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// The `params` of a create answer: the upload URL with the signed form fields as its
/// query, for the store this server uses (spoiled, when `--s3-tamper` asks for it).
pub fn upload_params(state: &AppState, upload: &Upload<'_>) -> String {
    let expires = match state.tamper {
        Some(tamper) => tamper.expiry(upload.now, upload.expires),
        None => upload.expires,
    };
    let (keys, bucket, region, upload_url) = match &state.store {
        Store::Local => (
            &state.keys,
            super::state::BUCKET,
            sigv4::REGION,
            state.upload_url(),
        ),
        Store::External(store) => (
            store.keys(),
            store.bucket(),
            store.region(),
            store.upload_url().to_string(),
        ),
    };
    let mut fields = sigv4::post_form(
        keys,
        &FormSpec {
            bucket,
            key: upload.key,
            content_type: upload.content_type,
            // The real service's private forms carry `authenticated-read` (captured).
            acl: if upload.public {
                "public-read"
            } else {
                "authenticated-read"
            },
            region,
            now: upload.now,
            expires,
        },
    );
    if let Some(tamper) = state.tamper {
        tamper.spoil(&mut fields);
    }
    sigv4::form_url(&upload_url, &fields)
}

/// A presigned GET of a blob's object, valid for `DOWNLOAD_URL_SECS`.
pub fn download_url(state: &AppState, blob: &BlobRow) -> String {
    match &state.store {
        Store::Local => local::download_url(state, blob),
        Store::External(store) => store.download_url(&blob.uid),
    }
}

/// Marks a blob complete with the size of the object the store holds; refused when
/// nothing was uploaded for it.
pub async fn complete(state: &AppState, blob: &BlobRow) -> Result<(), ApiError> {
    match &state.store {
        Store::Local => local::complete(state, blob).await,
        Store::External(store) => external::complete(state, store, blob).await,
    }
}

/// Deletes a blob's record and its object.
pub async fn delete(state: &AppState, blob: &BlobRow) -> Result<(), ApiError> {
    match &state.store {
        Store::Local => local::delete(state, blob).await,
        Store::External(store) => external::delete(state, store, blob).await,
    }
}

/// Starts new content for a blob (`PUT /blobs/{id}` with `new=1`): its old object is
/// removed and the record renewed as `renewal` says; the renewed record.
pub async fn renew(
    state: &AppState,
    blob: &BlobRow,
    renewal: Renewal,
) -> Result<BlobRow, ApiError> {
    match &state.store {
        Store::Local => local::renew(state, blob, renewal).await,
        Store::External(store) => external::renew(state, store, blob, renewal).await,
    }
}

pub use super::db::Renewal;

/// The refusal of a complete with nothing to complete.
fn not_uploaded() -> ApiError {
    ApiError::invalid("base", "the file has not been uploaded yet")
}
