//! New content under the same id: `PUT /blobs/{id}` with `new=1` (the service drops
//! the old content and answers with a new uid and upload form), then the upload's own
//! steps 2 and 3. There is nothing to roll back to, so a replacement that fails for
//! good says that it left the blob empty and how to finish it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::events::{Events, FileEvents};
use super::upload::{
    completed, is_policy_expired, send_and_complete, Content, UploadRequest, FRESH_FORMS,
};
use crate::api::{ApiError, Blob, BlobChanges, Client};
use crate::exit::Interrupted;

/// One replacement, its input checked beforehand (see `transfer::source`).
#[derive(Debug, Clone)]
pub struct ReplaceRequest {
    pub id: u64,
    /// A regular file; stdin was spooled to a temporary one.
    pub path: PathBuf,
    pub size: u64,
    /// A new name; `None` keeps the blob's.
    pub name: Option<String>,
    /// A new content type; `None` keeps the blob's (not a guess from the file's name).
    pub content_type: Option<String>,
    /// The file as the user gave it, for the command that finishes the job.
    pub file_arg: String,
}

/// A replacement that did not finish after the service was asked for new content.
#[derive(Debug, thiserror::Error)]
#[error(
    "blob {id}{} {}: the service drops the old content when a replacement starts, and \
     the new content did not arrive\nhint: run `cubeblob replace {id} {file_arg}` again",
    .name.as_ref().map(|n| format!(" (`{n}`)")).unwrap_or_default(),
    if *.certain { "is left empty" } else { "may be left empty" }
)]
pub struct LeftEmpty {
    pub id: u64,
    pub name: Option<String>,
    pub file_arg: String,
    /// False when the request for new content got no answer: it may not have arrived.
    pub certain: bool,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl LeftEmpty {
    pub fn new(
        id: u64,
        name: Option<String>,
        file_arg: String,
        certain: bool,
        cause: anyhow::Error,
    ) -> LeftEmpty {
        LeftEmpty {
            id,
            name,
            file_arg,
            certain,
            source: cause.into(),
        }
    }
}

/// Replaces the content of blob `req.id`; the record returned has the new uid and size.
pub async fn replace(
    client: &Client,
    req: &ReplaceRequest,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<Blob> {
    if cancel.is_cancelled() {
        return Err(Interrupted.into());
    }
    let changes = BlobChanges {
        name: req.name.clone(),
        content_type: req.content_type.clone(),
        renew: true,
    };
    let mut file_events: Option<Arc<dyn FileEvents>> = None;
    let mut fresh = 0;
    // The blob's name as the service last gave it, for messages.
    let mut name = None;
    let outcome = loop {
        let renewed = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(anyhow::Error::new(Interrupted)),
            r = client.update_blob(req.id, &changes) => r.map_err(anyhow::Error::new),
        };
        let blob = match renewed {
            Ok(blob) => blob,
            // Refused on the first ask: nothing changed, the error says why.
            Err(err) if fresh == 0 && was_refused(&err) => return Err(err),
            // After an earlier ask the blob is empty for sure; an unanswered or
            // interrupted first ask may or may not have arrived.
            Err(err) => break Err((err, fresh > 0)),
        };
        name = Some(blob.name.clone());
        let upload = UploadRequest {
            content: Content::File(req.path.clone()),
            size: req.size,
            name: blob.name.clone(),
            // The form is signed for the record's type: the file part must carry it.
            content_type: blob
                .content_type
                .clone()
                .or_else(|| req.content_type.clone())
                .unwrap_or_else(|| "application/octet-stream".into()),
            public: blob.public,
        };
        let events = file_events
            .get_or_insert_with(|| Arc::from(events.started(&blob.name, Some(req.size))))
            .clone();
        let sent = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Interrupted.into()),
            r = send_and_complete(client, &upload, &blob, events, "replace blob") => r,
        };
        match sent {
            Ok(_) => break Ok(completed(blob, req.size)),
            // An expired form is replaced by asking for new content again.
            Err(err) if is_policy_expired(&err) && fresh < FRESH_FORMS => fresh += 1,
            Err(err) => break Err((err, true)),
        }
    };
    match (&outcome, &file_events) {
        (Ok(_), Some(events)) => events.finished(),
        (Err(_), Some(events)) => events.failed(),
        _ => {}
    }
    outcome.map_err(|(err, certain)| {
        LeftEmpty::new(req.id, name, req.file_arg.clone(), certain, err).into()
    })
}

/// The service answered the request for new content with an error: it did nothing.
fn was_refused(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|c| matches!(c.downcast_ref::<ApiError>(), Some(ApiError::Status { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_blob_and_the_command_that_finishes_it() {
        let err = LeftEmpty {
            id: 7,
            name: Some("cat.jpg".into()),
            file_arg: "new.jpg".into(),
            certain: true,
            source: "storage said no".into(),
        };
        let text = err.to_string();
        assert!(
            text.starts_with("blob 7 (`cat.jpg`) is left empty: "),
            "{text}"
        );
        assert!(
            text.ends_with("\nhint: run `cubeblob replace 7 new.jpg` again"),
            "{text}"
        );
        let unsure = LeftEmpty {
            name: None,
            certain: false,
            ..err
        };
        assert!(unsure.to_string().starts_with("blob 7 may be left empty"));
    }
}
