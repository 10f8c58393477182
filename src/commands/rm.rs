//! `cubeblob rm ID|UID...`: delete blobs, going on past failures; `--dry-run` fetches
//! and shows each record instead, and deletes nothing. Every argument is checked
//! before any request, so a typo in a long list deletes nothing; a uid costs one
//! request more, for its id.

use anyhow::Result;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::api::{BlobRef, Client};
use crate::cli::RmArgs;
use crate::exit::Exit;
use crate::output::{human, Batch, BlobRecord, BlobWriter, Layout};

/// Requests at once; the output keeps the order of the arguments.
const IN_FLIGHT: usize = 4;

/// The `--json` line of a deleted blob.
#[derive(Debug, Serialize, Deserialize)]
pub struct Deleted {
    pub id: u64,
    pub deleted: bool,
}

pub async fn run(ctx: &Context, args: RmArgs) -> Result<Exit> {
    let mut refs = Vec::new();
    for text in &args.ids {
        let blob = BlobRef::parse(text)?;
        // `rm 8 8` deletes 8 once and says so once, not "deleted" then "not found".
        if !refs.contains(&blob) {
            refs.push(blob);
        }
    }
    let client = ctx.client().await?;
    let mut batch = Batch::new(refs.len(), &ctx.out);
    if args.dry_run {
        dry_run(ctx, &client, refs, &mut batch).await?;
    } else {
        let mut results = stream::iter(refs)
            .map(|blob| {
                let client = &client;
                async move {
                    let id = client.blob_id(&blob).await?;
                    client.delete_blob(id).await.map(|()| id)
                }
            })
            .buffered(IN_FLIGHT);
        while let Some(result) = results.next().await {
            match result {
                Err(e) => batch.fail(e.into()),
                Ok(id) if ctx.out.json => ctx.out.json_line(&Deleted { id, deleted: true })?,
                Ok(id) if !ctx.out.tty => ctx.out.tsv_line(&[id.to_string()])?,
                Ok(id) => ctx.out.status(&format!("Deleted blob {id}")),
            }
        }
    }
    batch.finish()
}

/// Shows what `rm` would delete: the records, fetched (so a wrong id shows up now).
async fn dry_run(
    ctx: &Context,
    client: &Client,
    refs: Vec<BlobRef>,
    batch: &mut Batch,
) -> Result<()> {
    let mut writer = BlobWriter::new(&ctx.out, Layout::Table, false);
    let mut results = stream::iter(refs)
        .map(|blob| async move { client.resolve(&blob).await })
        .buffered(IN_FLIGHT);
    while let Some(result) = results.next().await {
        match result {
            Ok(blob) => writer.write(BlobRecord::from(&blob).with_public_url(client))?,
            Err(e) => batch.fail(e.into()),
        }
    }
    let (count, size) = writer.totals();
    let plural = if count == 1 { "" } else { "s" };
    let summary = format!(
        "Dry run: would delete {count} blob{plural} ({}); nothing was deleted",
        human::size(size)
    );
    writer.finish(Some(&summary))?;
    if !ctx.out.tty {
        ctx.out.status(&summary);
    }
    Ok(())
}
