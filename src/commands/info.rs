//! `cubeblob info ID|UID...`: blob records, with a presigned download URL on request.
//! Every argument is checked before any request; then a failed item does not stop
//! the others (see `output::Batch` for the exit code).

use anyhow::Result;
use futures_util::stream::{self, StreamExt};

use super::Context;
use crate::api::{ApiError, BlobRef, Client};
use crate::cli::InfoArgs;
use crate::exit::{Exit, InputError};
use crate::output::{Batch, BlobRecord, BlobWriter, Layout};

/// Records fetched at once; the output keeps the order of the arguments.
const IN_FLIGHT: usize = 4;

pub async fn run(ctx: &Context, args: InfoArgs) -> Result<Exit> {
    let refs = args
        .blobs
        .iter()
        .map(|b| BlobRef::parse(b))
        .collect::<Result<Vec<_>, _>>()?;
    let client = ctx.client().await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Detail, args.url);
    let mut batch = Batch::new(refs.len(), &ctx.out);
    let mut results = stream::iter(refs)
        .map(|r| fetch(&client, r, args.url))
        .buffered(IN_FLIGHT);
    while let Some(result) = results.next().await {
        match result {
            Ok(record) => writer.write(record)?,
            Err(e) => batch.fail(e),
        }
    }
    writer.finish(None)?;
    batch.finish()
}

async fn fetch(client: &Client, blob: BlobRef, with_url: bool) -> Result<BlobRecord> {
    let mut record = match (&blob, with_url) {
        (BlobRef::Id(id), true) => {
            // Download URLs are offered by uid only: the id gives us the uid first.
            let blob = client.blob(*id).await?;
            let object = client.blob_object(&blob.uid, true).await?;
            let mut record = BlobRecord::from(&blob);
            record.url = BlobRecord::from(&object).url;
            record
        }
        (BlobRef::Uid(uid), true) => BlobRecord::from(&client.blob_object(uid, true).await?),
        (_, false) => BlobRecord::from(&client.resolve(&blob).await?),
    };
    if with_url && record.url.is_none() {
        if record.status.is_none() {
            let msg = format!("blob {blob} has no download URL: its upload never completed");
            return Err(InputError::NotFound(msg).into());
        }
        return Err(ApiError::Decode {
            what: format!("get blob {blob}"),
            detail: "the answer has no download URL".into(),
        }
        .into());
    }
    record = record.with_public_url(client);
    Ok(record)
}
