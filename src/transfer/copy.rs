//! One blob copied from one account (application and user) to another: the upload's
//! own three steps on the target (create, S3 POST, complete; the record deleted on any
//! failure or Ctrl-C), with the form's file part fed by the download of the source
//! blob through a pipe (`transfer::pipe`): no temporary file, a few chunks in memory.
//! The bytes are checked end to end: their MD5, taken as they pass, must match the
//! source's ETag before the last bytes of the form go out, and the target's ETag after.

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::download::download_into;
use super::events::Events;
use super::pipe::{pipe, PipeReader};
use super::upload::{upload_checked, Content, UploadRequest};
use crate::api::{Blob, Client};
use crate::exit::InputError;

/// The blob a copy reads, and the client of its account.
#[derive(Clone)]
pub struct BlobSource {
    client: Client,
    blob: Blob,
}

impl std::fmt::Debug for BlobSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobSource")
            .field("api", &self.client.base_url().as_str())
            .field("id", &self.blob.id)
            .finish()
    }
}

impl BlobSource {
    /// A fresh download of the blob from its first byte, running on its own task
    /// until the pipe's reader has what it needs or goes away.
    pub(super) fn open(&self) -> PipeReader {
        let (writer, reader) = pipe();
        let (client, blob) = (self.client.clone(), self.blob.clone());
        let task = tokio::spawn(async move {
            let outcome = download_into(&client, &blob, writer.clone()).await;
            writer.end(outcome.context("reading the source blob")).await;
        });
        reader.fed_by(task.abort_handle())
    }

    pub(super) fn shown(&self) -> String {
        format!("blob {} of the source", self.blob.id)
    }
}

/// A copy made.
#[derive(Debug, Clone)]
pub struct Copied {
    /// The new record on the target, complete.
    pub blob: Blob,
    /// The MD5 of the content, lowercase hex.
    pub md5: String,
}

/// Copies `blob` (a complete record of `source`'s account) into `target`'s account
/// under the same name, content type and public flag.
pub async fn copy(
    source: &Client,
    blob: &Blob,
    target: &Client,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<Copied> {
    let size = match blob.size {
        Some(size) if blob.is_complete() => size,
        _ => {
            return Err(InputError::NotFound(format!(
                "blob {} has no content: its upload was never completed",
                blob.id
            ))
            .into())
        }
    };
    let content_type = blob.content_type.clone().unwrap_or_else(|| {
        mime_guess::from_path(&blob.name)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string()
    });
    let req = UploadRequest {
        content: Content::Blob(Box::new(BlobSource {
            client: source.clone(),
            blob: blob.clone(),
        })),
        size,
        name: blob.name.clone(),
        content_type,
        public: blob.public,
    };
    let (new, md5) = upload_checked(target, &req, events, cancel).await?;
    Ok(Copied { blob: new, md5 })
}
