//! `cubeblob list`: one page of blobs, or every page with `--all`. Pages after the
//! first are fetched a few at a time and printed in order as they arrive, so a long
//! listing starts at once and is never held whole (except for a terminal's table).

use std::collections::HashSet;

use anyhow::Result;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::Context;
use crate::api::{ApiError, Blob, Client};
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
/// A server whose pages repeat, or that sends more than it said it holds, is stopped
/// with an error: `--all` must end whatever the server does.
async fn list_all(client: &Client, per_page: u64, writer: &mut BlobWriter<'_>) -> Result<()> {
    let first = client.list_blobs(1, per_page).await?;
    // The server may serve fewer per page than asked; count pages as it does.
    let served = first.per_page.filter(|&n| n > 0).unwrap_or(per_page);
    let total = first.total_entries;
    let mut pages = Pages::new(total, served);
    pages.take(1, first.items, client, writer)?;
    match total {
        Some(total) => {
            let last = total.div_ceil(served);
            let mut rest = stream::iter(2..=last)
                .map(|p| client.list_blobs(p, per_page))
                .buffered(IN_FLIGHT)
                .map_err(anyhow::Error::from);
            let mut p = 1;
            while let Some(page) = rest.try_next().await? {
                p += 1;
                pages.take(p, page.items, client, writer)?;
            }
        }
        // No total: one page after another until a short one.
        None => {
            for p in 2.. {
                let page = client.list_blobs(p, per_page).await?;
                let full = page.items.len() as u64 >= served;
                if pages.take(p, page.items, client, writer)? == 0 && full {
                    // Nothing new on a full page: the next would be no different.
                    return Err(inconsistent(format!(
                        "page {p} holds only blobs already listed, so its pages never end"
                    )));
                }
                if !full {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// What `--all` has seen so far.
struct Pages {
    /// Blobs created while we list shift the pages: one may be seen twice.
    seen: HashSet<u64>,
    previous: Vec<u64>,
    /// Every record received, repeats included.
    received: u64,
    /// The server's `total_entries`, and the most its pages can hold: the last page
    /// may fill up with blobs created while we list.
    total: Option<(u64, u64)>,
}

impl Pages {
    fn new(total: Option<u64>, served: u64) -> Pages {
        Pages {
            seen: HashSet::new(),
            previous: Vec::new(),
            received: 0,
            total: total.map(|t| (t, t.div_ceil(served).saturating_mul(served))),
        }
    }

    /// Writes a page's new blobs and returns how many were new.
    fn take(
        &mut self,
        page: u64,
        items: Vec<Blob>,
        client: &Client,
        writer: &mut BlobWriter<'_>,
    ) -> Result<usize> {
        let ids: Vec<u64> = items.iter().map(|b| b.id).collect();
        if !ids.is_empty() && ids == self.previous {
            return Err(inconsistent(format!(
                "page {page} holds the same blobs as page {}",
                page - 1
            )));
        }
        self.received += ids.len() as u64;
        if let Some((total, _)) = self.total.filter(|&(_, room)| self.received > room) {
            return Err(inconsistent(format!(
                "it sent {} blobs by page {page}, more than its `total_entries` of {total}",
                self.received
            )));
        }
        let mut new = 0;
        for blob in items.iter().filter(|b| self.seen.insert(b.id)) {
            writer.write(record(blob, client))?;
            new += 1;
        }
        self.previous = ids;
        Ok(new)
    }
}

/// The server's listing contradicts itself: exit 3, like any broken answer.
fn inconsistent(detail: String) -> anyhow::Error {
    ApiError::Decode {
        what: "list --all".into(),
        detail: format!("{detail}; stopping here (the server's listing is inconsistent)"),
    }
    .into()
}

fn record(blob: &Blob, client: &Client) -> BlobRecord {
    BlobRecord::from(blob).with_public_url(client)
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
