//! `cubeblob edit ID|UID [--name NAME] [--content-type MIME]`: the record changes,
//! the content, id and uid stay. clap insists on at least one option; both are
//! checked here before any request; then the updated record is printed.

use anyhow::Result;

use super::Context;
use crate::api::{check_blob_name, check_content_type, BlobChanges, BlobRef};
use crate::cli::EditArgs;
use crate::exit::Exit;
use crate::output::{BlobRecord, BlobWriter, Layout};

pub async fn run(ctx: &Context, args: EditArgs) -> Result<Exit> {
    let blob = BlobRef::parse(&args.blob)?;
    if let Some(name) = &args.name {
        check_blob_name(name)?;
    }
    if let Some(content_type) = &args.content_type {
        check_content_type(content_type)?;
    }
    let changes = BlobChanges {
        name: args.name,
        content_type: args.content_type,
        renew: false,
    };
    let client = ctx.client().await?;
    let id = client.blob_id(&blob).await?;
    let edited = client.update_blob(id, &changes).await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Detail, false);
    writer.write(BlobRecord::from(&edited).with_public_url(&client))?;
    writer.finish(None)?;
    Ok(Exit::Success)
}
