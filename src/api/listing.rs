//! Every blob of the user, page by page, for `list --all` and the commands that compare
//! a collection with the remote side (`sync`). Page 1 says how many there are; the rest
//! are fetched a few at a time and handed on in order, so memory stays flat. The pages
//! must end whatever the server does: pages that repeat, or that hold more than the
//! server said it has, stop the listing with an error.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{ApiError, Blob, Client};

/// Pages requested at once: enough to hide latency, few enough to be polite.
const IN_FLIGHT: usize = 4;
/// The most the API serves on one page.
pub const MAX_PER_PAGE: u64 = 100;

/// Hands every blob to `each`, once (blobs created while we list shift the pages: one
/// may be seen twice), in the server's order.
pub async fn each_blob<E, F>(client: &Client, per_page: u64, mut each: F) -> Result<(), E>
where
    E: From<ApiError>,
    F: FnMut(Blob) -> Result<(), E>,
{
    let first = client.list_blobs(1, per_page).await?;
    // The server may serve fewer per page than asked; count pages as it does.
    let served = first.per_page.filter(|&n| n > 0).unwrap_or(per_page);
    let total = first.total_entries;
    let mut pages = Pages::new(total, served);
    pages.take(1, first.items, &mut each)?;
    match total {
        Some(total) => {
            let last = total.div_ceil(served);
            let mut rest = stream::iter(2..=last)
                .map(|p| client.list_blobs(p, per_page))
                .buffered(IN_FLIGHT);
            let mut p = 1;
            while let Some(page) = rest.try_next().await? {
                p += 1;
                pages.take(p, page.items, &mut each)?;
            }
        }
        // No total: one page after another until a short one.
        None => {
            for p in 2.. {
                let page = client.list_blobs(p, per_page).await?;
                let full = page.items.len() as u64 >= served;
                if pages.take(p, page.items, &mut each)? == 0 && full {
                    // Nothing new on a full page: the next would be no different.
                    return Err(inconsistent(format!(
                        "page {p} holds only blobs already listed, so its pages never end"
                    ))
                    .into());
                }
                if !full {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Every blob, collected (for a plan, which needs the whole remote side).
pub async fn all_blobs(client: &Client) -> Result<Vec<Blob>, ApiError> {
    let mut blobs = Vec::new();
    each_blob(client, MAX_PER_PAGE, |blob| {
        blobs.push(blob);
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(blobs)
}

/// What a listing has seen so far.
struct Pages {
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

    /// Hands on a page's new blobs and returns how many were new.
    fn take<E, F>(&mut self, page: u64, items: Vec<Blob>, each: &mut F) -> Result<usize, E>
    where
        E: From<ApiError>,
        F: FnMut(Blob) -> Result<(), E>,
    {
        let ids: Vec<u64> = items.iter().map(|b| b.id).collect();
        if !ids.is_empty() && ids == self.previous {
            return Err(inconsistent(format!(
                "page {page} holds the same blobs as page {}",
                page - 1
            ))
            .into());
        }
        self.received += ids.len() as u64;
        if let Some((total, _)) = self.total.filter(|&(_, room)| self.received > room) {
            return Err(inconsistent(format!(
                "it sent {} blobs by page {page}, more than its `total_entries` of {total}",
                self.received
            ))
            .into());
        }
        let mut new = 0;
        for blob in items {
            if self.seen.insert(blob.id) {
                each(blob)?;
                new += 1;
            }
        }
        self.previous = ids;
        Ok(new)
    }
}

/// The server's listing contradicts itself: exit 3, like any broken answer.
fn inconsistent(detail: String) -> ApiError {
    ApiError::Decode {
        what: "list --all".into(),
        detail: format!("{detail}; stopping here (the server's listing is inconsistent)"),
    }
}
