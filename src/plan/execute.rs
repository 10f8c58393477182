//! Carrying out a plan: each action goes to its engine (`transfer::upload`,
//! `transfer::replace`, the client's delete), a few at a time, one step after the
//! other; every result is handed back as it lands. Nothing here decides: a failed
//! action is reported and the others go on.

use futures_util::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use super::sync::{Action, Kind, Plan};
use crate::api::{Blob, Client};
use crate::exit::Interrupted;
use crate::transfer::source::md5_of;
use crate::transfer::{replace, upload, Content, Events, ReplaceRequest, UploadRequest};

#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// Actions at once.
    pub jobs: usize,
    /// New blobs are public.
    pub public: bool,
    /// Take the MD5 of each file sent, for the manifest.
    pub want_md5: bool,
}

/// What a done action left: the blob as it now is (none after a delete) and the MD5
/// of its content when known.
#[derive(Debug)]
pub struct Done {
    pub blob: Option<Blob>,
    pub md5: Option<String>,
}

/// Runs every action of `plan`, calling `report` with each result.
pub async fn execute(
    client: &Client,
    plan: Plan,
    opts: ExecOptions,
    events: &dyn Events,
    cancel: &CancellationToken,
    mut report: impl FnMut(Action, anyhow::Result<Done>),
) {
    for step in plan.steps {
        let mut results = stream::iter(step)
            .map(|action| async move {
                let result = run(client, &action, opts, events, cancel).await;
                (action, result)
            })
            .buffer_unordered(opts.jobs.max(1));
        while let Some((action, result)) = results.next().await {
            report(action, result);
        }
    }
}

async fn run(
    client: &Client,
    action: &Action,
    opts: ExecOptions,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<Done> {
    if action.kind == Kind::Skip {
        return Ok(Done {
            blob: action.blob.clone(),
            md5: action.md5.clone(),
        });
    }
    if cancel.is_cancelled() {
        return Err(Interrupted.into());
    }
    let blob = match (action.kind, &action.file, &action.blob) {
        (Kind::Delete, _, Some(blob)) => {
            client.delete_blob(blob.id).await?;
            return Ok(Done {
                blob: None,
                md5: None,
            });
        }
        (Kind::Upload, Some(file), _) => {
            let req = UploadRequest {
                content: Content::File(file.path.clone()),
                size: file.size,
                name: action.name.clone(),
                content_type: mime_guess::from_path(&action.name)
                    .first_raw()
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                public: opts.public,
            };
            upload(client, &req, events, cancel).await?
        }
        (Kind::Replace, Some(file), Some(blob)) => {
            let req = ReplaceRequest {
                id: blob.id,
                path: file.path.clone(),
                size: file.size,
                name: None,
                content_type: None,
                file_arg: file.path.display().to_string(),
            };
            replace(client, &req, events, cancel).await?
        }
        _ => anyhow::bail!("a `{:?}` action without its file or blob", action.kind),
    };
    let md5 = match (&action.md5, &action.file) {
        (Some(md5), _) => Some(md5.clone()),
        (None, Some(file)) if opts.want_md5 => Some(md5_of(&file.path).await?),
        _ => None,
    };
    Ok(Done {
        blob: Some(blob),
        md5,
    })
}
