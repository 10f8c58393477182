//! `cubeblob list`: one page of blobs, or every page with `--all` (`api::listing`),
//! printed in order as pages arrive, so a long listing starts at once and is never
//! held whole (except for a terminal's table).

use anyhow::Result;

use super::Context;
use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::{Blob, Client};
use crate::cli::ListArgs;
use crate::exit::{Exit, InputError};
use crate::output::{human, BlobRecord, BlobWriter, Layout};

pub async fn run(ctx: &Context, args: ListArgs) -> Result<Exit> {
    if !(1..=MAX_PER_PAGE).contains(&args.per_page) {
        let msg = format!(
            "--per-page must be 1 to {MAX_PER_PAGE}, not {}",
            args.per_page
        );
        return Err(InputError::Invalid(msg).into());
    }
    if args.page == 0 {
        return Err(InputError::Invalid("--page counts from 1".into()).into());
    }
    let client = ctx.client().await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Table, false);
    let footer = if args.all {
        each_blob(&client, args.per_page, |blob| {
            writer
                .write(record(&blob, &client))
                .map_err(anyhow::Error::from)
        })
        .await?;
        let (count, size) = writer.totals();
        format!("{} in all, {}", blobs(count), human::size(size))
    } else {
        let page = client.list_blobs(args.page, args.per_page).await?;
        for blob in &page.items {
            writer.write(record(blob, &client))?;
        }
        let (count, size) = writer.totals();
        let mut footer = format!("{}, {}", blobs(count), human::size(size));
        if let Some(total) = page.total_entries {
            let pages = total.div_ceil(args.per_page).max(1);
            footer.push_str(&format!(
                " (page {} of {pages}, {} in all)",
                args.page,
                blobs(total)
            ));
        }
        footer
    };
    writer.finish(Some(&footer))?;
    Ok(Exit::Success)
}

fn record(blob: &Blob, client: &Client) -> BlobRecord {
    BlobRecord::from(blob).with_public_url(client)
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
