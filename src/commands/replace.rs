//! `cubeblob replace ID|UID FILE|-`: new content under the same id (and a new uid).
//! The input is checked first, as for `upload`; the engine (`transfer::replace`) asks
//! for new content, sends the file and completes it, with progress; then the record
//! is printed with its new uid and size.

use anyhow::Result;

use super::Context;
use crate::api::{check_blob_name, check_content_type, BlobRef};
use crate::cli::ReplaceArgs;
use crate::exit::Exit;
use crate::output::progress::Renderer;
use crate::output::{BlobRecord, BlobWriter, Layout};
use crate::transfer::{replace, source, InterruptWatch, ReplaceRequest};

pub async fn run(ctx: &Context, args: ReplaceArgs) -> Result<Exit> {
    let blob = BlobRef::parse(&args.blob)?;
    if let Some(name) = &args.name {
        check_blob_name(name)?;
    }
    if let Some(content_type) = &args.content_type {
        check_content_type(content_type)?;
    }
    let input = source::open(&args.file, args.max_size).await?;
    let client = ctx.client().await?;
    let id = client.blob_id(&blob).await?;
    let req = ReplaceRequest {
        id,
        path: input.path.clone(),
        size: input.size,
        name: args.name,
        content_type: args.content_type,
        file_arg: args.file.display().to_string(),
    };
    let watch = InterruptWatch::start();
    let renderer = Renderer::new(ctx.settings.progress, "replace", 1, input.size);
    let result = replace(&client, &req, &renderer, watch.token()).await;
    renderer.finish();
    let replaced = result?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Detail, false);
    writer.write(BlobRecord::from(&replaced).with_public_url(&client))?;
    writer.finish(None)?;
    Ok(Exit::Success)
}
