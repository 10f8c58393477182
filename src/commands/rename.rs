//! `cubeblob rename ID|UID NEW_NAME`, the short form of `edit --name`: the name is
//! checked here first (1 to 100 characters), so a bad one costs no request; then the
//! updated record is printed.

use anyhow::Result;

use super::Context;
use crate::api::{check_blob_name, BlobRef};
use crate::cli::RenameArgs;
use crate::exit::Exit;
use crate::output::{BlobRecord, BlobWriter, Layout};

pub async fn run(ctx: &Context, args: RenameArgs) -> Result<Exit> {
    let blob = BlobRef::parse(&args.id)?;
    check_blob_name(&args.new_name)?;
    let client = ctx.client().await?;
    let id = client.blob_id(&blob).await?;
    let blob = client.rename_blob(id, &args.new_name).await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Detail, false);
    writer.write(BlobRecord::from(&blob).with_public_url(&client))?;
    writer.finish(None)?;
    Ok(Exit::Success)
}
