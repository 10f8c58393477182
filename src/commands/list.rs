//! `cubeblob list`: one page of blobs, or every page with `--all`. Pages after the
//! first are fetched a few at a time and printed in order as they arrive, so a long
//! listing starts at once and is never held whole (except for a terminal's table).

use std::collections::HashSet;

use anyhow::Result;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::Context;
use crate::api::{Blob, Client};
use crate::cli::ListArgs;
use crate::exit::{Exit, InputError};
use crate::output::{human, BlobRecord, BlobWriter, Layout};

/// Pages requested at once with `--all`: enough to hide latency, few enough to be
/// polite to the API.
const IN_FLIGHT: usize = 4;
const MAX_PER_PAGE: u64 = 100;

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
        list_all(&client, args.per_page, &mut writer).await?;
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

/// Page 1 says how many there are; the rest come `IN_FLIGHT` at a time, in order.
async fn list_all(client: &Client, per_page: u64, writer: &mut BlobWriter<'_>) -> Result<()> {
    // Blobs created while we list shift the pages: one may be seen twice.
    let mut seen = HashSet::new();
    let mut emit = |items: Vec<Blob>, writer: &mut BlobWriter<'_>| -> std::io::Result<usize> {
        let n = items.len();
        for blob in items.iter().filter(|b| seen.insert(b.id)) {
            writer.write(record(blob, client))?;
        }
        Ok(n)
    };
    let first = client.list_blobs(1, per_page).await?;
    // The server may serve fewer per page than asked; count pages as it does.
    let served = first.per_page.filter(|&n| n > 0).unwrap_or(per_page);
    let total = first.total_entries;
    emit(first.items, writer)?;
    match total {
        Some(total) => {
            let pages = total.div_ceil(served);
            let mut rest = stream::iter(2..=pages)
                .map(|p| client.list_blobs(p, per_page))
                .buffered(IN_FLIGHT)
                .map_err(anyhow::Error::from);
            while let Some(page) = rest.try_next().await? {
                emit(page.items, writer)?;
            }
        }
        // No total: one page after another until a short one.
        None => {
            for p in 2.. {
                let page = client.list_blobs(p, per_page).await?;
                if emit(page.items, writer)? < served as usize {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn record(blob: &Blob, client: &Client) -> BlobRecord {
    BlobRecord::from(blob).with_public_url(client)
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
