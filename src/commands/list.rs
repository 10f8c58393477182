//! `cubeblob list`: one page of blobs, or every page with `--all` (`api::listing`),
//! printed in order as pages arrive, so a long listing starts at once and is never
//! held whole (except for a terminal's table). Filters, `--sort` and `--limit` imply
//! every page; only `--sort` holds the matching blobs, to order them.

use std::cmp::Ordering;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Context;
use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::{Blob, Client};
use crate::cli::{ListArgs, SortKey};
use crate::exit::{Exit, InputError};
use crate::filter::BlobFilter;
use crate::output::{human, BlobRecord, BlobWriter, Layout};

pub async fn run(ctx: &Context, args: ListArgs) -> Result<Exit> {
    if !(1..=MAX_PER_PAGE).contains(&args.per_page) {
        let msg = format!(
            "`--per-page` must be 1 to {MAX_PER_PAGE}, not `{}`",
            args.per_page
        );
        return Err(InputError::Invalid(msg).into());
    }
    if args.page == 0 {
        return Err(InputError::Invalid("--page counts from 1".into()).into());
    }
    let filter = BlobFilter::new(&args.filter, Utc::now())?;
    let selecting = !filter.is_empty() || args.sort.is_some() || args.limit.is_some();
    if selecting && args.page != 1 {
        let msg = "--page shows one page; filters, --sort and --limit look at every page";
        return Err(InputError::Invalid(msg.into()).into());
    }
    let client = ctx.client().await?;
    let mut writer = BlobWriter::new(&ctx.out, Layout::Table, false);
    let footer = if selecting {
        selected(&client, &args, &filter, &mut writer).await?;
        let (count, size) = writer.totals();
        format!("{} matched, {}", blobs(count), human::size(size))
    } else if args.all {
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

/// The blobs that pass the filter, in the server's order or sorted, up to `--limit`.
async fn selected(
    client: &Client,
    args: &ListArgs,
    filter: &BlobFilter,
    writer: &mut BlobWriter<'_>,
) -> Result<()> {
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut held = Vec::new();
    let mut shown = 0;
    let listed = each_blob(client, args.per_page, |blob| {
        if !filter.matches(&blob) {
            return Ok(());
        }
        if args.sort.is_some() {
            held.push(blob);
            return Ok(());
        }
        if shown >= limit {
            // Enough: stop the listing (no more pages are fetched).
            return Err(anyhow::Error::new(Enough));
        }
        shown += 1;
        writer
            .write(record(&blob, client))
            .map_err(anyhow::Error::from)
    })
    .await;
    match listed {
        Err(e) if !e.is::<Enough>() => return Err(e),
        _ => {}
    }
    if let Some(key) = args.sort {
        held.sort_by(|a, b| {
            let order = compare(key, a, b).then(a.id.cmp(&b.id));
            if args.reverse {
                order.reverse()
            } else {
                order
            }
        });
        for blob in held
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            writer.write(record(blob, client))?;
        }
    }
    Ok(())
}

/// `--limit` reached: not a failure, the end of the listing.
#[derive(Debug, thiserror::Error)]
#[error("limit reached")]
struct Enough;

/// Ascending: A-Z by bytes, smallest (no size first), oldest (no time first).
fn compare(key: SortKey, a: &Blob, b: &Blob) -> Ordering {
    let time = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match key {
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Created => time(&a.created_at).cmp(&time(&b.created_at)),
        SortKey::Updated => time(&a.updated_at).cmp(&time(&b.updated_at)),
    }
}

fn record(blob: &Blob, client: &Client) -> BlobRecord {
    BlobRecord::from(blob).with_public_url(client)
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
