//! Every blob of the user, for the commands that compare a collection with the remote
//! side (`sync`): page 1 says how many there are, the rest are fetched a few at a time.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{ApiError, Blob, Client};

/// Pages requested at once: enough to hide latency, few enough to be polite.
const IN_FLIGHT: usize = 4;
const PER_PAGE: u64 = 100;

/// Every blob, each once (blobs created while we list shift the pages: one may be
/// seen twice).
pub async fn all_blobs(client: &Client) -> Result<Vec<Blob>, ApiError> {
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    let mut keep = |items: Vec<Blob>| {
        let n = items.len();
        blobs.extend(items.into_iter().filter(|b| seen.insert(b.id)));
        n
    };
    let first = client.list_blobs(1, PER_PAGE).await?;
    // The server may serve fewer per page than asked; count pages as it does.
    let served = first.per_page.filter(|&n| n > 0).unwrap_or(PER_PAGE);
    let total = first.total_entries;
    let got = keep(first.items);
    match total {
        Some(total) => {
            let pages = total.div_ceil(served);
            let mut rest = stream::iter(2..=pages)
                .map(|p| client.list_blobs(p, PER_PAGE))
                .buffered(IN_FLIGHT);
            while let Some(page) = rest.try_next().await? {
                keep(page.items);
            }
        }
        None if got < served as usize => {}
        None => {
            for p in 2.. {
                if keep(client.list_blobs(p, PER_PAGE).await?.items) < served as usize {
                    break;
                }
            }
        }
    }
    Ok(blobs)
}
