//! What `copy` would do with each source blob: copy it, or skip it with why (never
//! completed; with `--skip-existing`, a blob of the same name and size already on the
//! target, or one with the same content). `pick`, `existing` and `gather` read what
//! the decision needs: the source blobs, the target's listing, and MD5s only where a
//! size matches without the name; `decide` is pure, and `execute` hands each copy to
//! the engine (`transfer::copy`), deciding nothing.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::{Blob, BlobRef, Client};
use crate::filter::BlobFilter;
use crate::transfer::etag::remote_md5;
use crate::transfer::{copy, Copied, Events};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Copy,
    Skip,
}

/// One source blob and what to do with it.
#[derive(Debug, Clone)]
pub struct Action {
    pub kind: Kind,
    /// The source blob.
    pub blob: Blob,
    /// Why, when there is more to say than "asked for".
    pub reason: Option<&'static str>,
    /// The target's blob that makes the copy unneeded.
    pub existing: Option<Blob>,
}

pub const NOT_THERE: &str = "not on the target";
pub const INCOMPLETE: &str = "never completed";
pub const SAME_NAME: &str = "same name and size on the target";
pub const SAME_CONTENT: &str = "same content (MD5) on the target";

/// The source blobs, in the order they were asked for or listed.
#[derive(Debug)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn count(&self, kind: Kind) -> usize {
        self.actions.iter().filter(|a| a.kind == kind).count()
    }

    /// The bytes the copies send.
    pub fn bytes(&self) -> u64 {
        self.actions
            .iter()
            .filter(|a| a.kind == Kind::Copy)
            .map(|a| a.blob.size.unwrap_or(0))
            .sum()
    }
}

/// Which source blobs: those named, or every one matching the filter.
pub enum Selection {
    Named(Vec<(String, BlobRef)>),
    Matching(BlobFilter),
}

/// The source blobs found, and the names that found none (each error says which).
#[derive(Debug, Default)]
pub struct Picked {
    pub blobs: Vec<Blob>,
    pub failed: Vec<anyhow::Error>,
}

/// Reads the source's records: each one named (an id and the uid of the same blob
/// count once), or the listing through the filter.
pub async fn pick(client: &Client, selection: Selection, jobs: usize) -> anyhow::Result<Picked> {
    let mut picked = Picked::default();
    match selection {
        Selection::Matching(filter) => {
            each_blob(client, MAX_PER_PAGE, |blob| {
                if filter.matches(&blob) {
                    picked.blobs.push(blob);
                }
                Ok::<_, anyhow::Error>(())
            })
            .await?;
        }
        Selection::Named(refs) => {
            let mut found = stream::iter(refs)
                .map(|(text, blob)| async move {
                    let record = client.resolve(&blob).await;
                    record.with_context(|| format!("copy `{text}`"))
                })
                .buffered(jobs.max(1));
            let mut seen = HashSet::new();
            while let Some(result) = found.next().await {
                match result {
                    Ok(blob) if seen.insert(blob.id) => picked.blobs.push(blob),
                    Ok(_) => {}
                    Err(err) => picked.failed.push(err),
                }
            }
        }
    }
    Ok(picked)
}

/// The target's complete blobs, by name and size, and by size.
#[derive(Debug, Default)]
pub struct Existing {
    by_name: HashMap<(String, u64), Blob>,
    by_size: HashMap<u64, Vec<Blob>>,
}

impl Existing {
    pub fn new(blobs: impl IntoIterator<Item = Blob>) -> Existing {
        let mut existing = Existing::default();
        for blob in blobs {
            let Some(size) = blob.size.filter(|_| blob.is_complete()) else {
                continue;
            };
            existing
                .by_name
                .entry((blob.name.clone(), size))
                .or_insert_with(|| blob.clone());
            existing.by_size.entry(size).or_default().push(blob);
        }
        existing
    }

    fn same_name(&self, blob: &Blob) -> Option<&Blob> {
        self.by_name.get(&(blob.name.clone(), blob.size?))
    }

    /// The target's blobs the content of `blob` might be: another name, the same size.
    /// An empty blob is only ever the same by its name: every empty blob has one MD5.
    fn candidates(&self, blob: &Blob) -> &[Blob] {
        match blob.size {
            Some(size) if size > 0 && blob.is_complete() && self.same_name(blob).is_none() => {
                self.by_size.get(&size).map_or(&[], Vec::as_slice)
            }
            _ => &[],
        }
    }
}

/// Lists the target once.
pub async fn existing(target: &Client) -> anyhow::Result<Existing> {
    let mut blobs = Vec::new();
    each_blob(target, MAX_PER_PAGE, |blob| {
        if blob.is_complete() {
            blobs.push(blob);
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
    .context("listing the target's blobs")?;
    Ok(Existing::new(blobs))
}

/// MD5s by blob id, of the source's blobs and of the target's, as storage's ETags give
/// them (a ranged GET each, only for the candidates of `Existing::candidates`); one that
/// cannot be read is unknown, and unknown is never the same.
#[derive(Debug, Default)]
pub struct Md5s {
    pub source: HashMap<u64, String>,
    pub target: HashMap<u64, String>,
}

pub async fn gather(
    source: &Client,
    target: &Client,
    blobs: &[Blob],
    existing: &Existing,
    jobs: usize,
) -> Md5s {
    let mut wanted_source = Vec::new();
    let mut wanted_target = HashMap::new();
    for blob in blobs {
        let candidates = existing.candidates(blob);
        if !candidates.is_empty() {
            wanted_source.push(blob.clone());
            for c in candidates {
                wanted_target.insert(c.id, c.clone());
            }
        }
    }
    let read = |client: &Client, wanted: Vec<Blob>| {
        let client = client.clone();
        async move {
            stream::iter(wanted)
                .map(|blob| {
                    let client = client.clone();
                    async move { (blob.id, remote_md5(&client, &blob.uid).await) }
                })
                .buffer_unordered(jobs.max(1))
                .filter_map(|(id, md5)| async move { md5.ok().flatten().map(|m| (id, m)) })
                .collect::<HashMap<u64, String>>()
                .await
        }
    };
    let (source, target) = tokio::join!(
        read(source, wanted_source),
        read(target, wanted_target.into_values().collect())
    );
    Md5s { source, target }
}

/// The plan, from the facts alone; `existing` only with `--skip-existing`.
pub fn decide(blobs: Vec<Blob>, existing: Option<&Existing>, md5s: &Md5s) -> Plan {
    let actions = blobs
        .into_iter()
        .map(|blob| {
            let action = |kind, reason, existing: Option<&Blob>| Action {
                kind,
                reason: Some(reason),
                existing: existing.cloned(),
                blob: blob.clone(),
            };
            if blob.size.is_none() || !blob.is_complete() {
                return action(Kind::Skip, INCOMPLETE, None);
            }
            let Some(existing) = existing else {
                return Action {
                    reason: None,
                    ..action(Kind::Copy, NOT_THERE, None)
                };
            };
            if let Some(there) = existing.same_name(&blob) {
                return action(Kind::Skip, SAME_NAME, Some(there));
            }
            let md5 = md5s.source.get(&blob.id);
            let same = existing
                .candidates(&blob)
                .iter()
                .find(|c| md5.is_some() && md5s.target.get(&c.id) == md5);
            match same {
                Some(there) => action(Kind::Skip, SAME_CONTENT, Some(there)),
                None => action(Kind::Copy, NOT_THERE, None),
            }
        })
        .collect();
    Plan { actions }
}

/// Runs the copies of `plan`, `jobs` at once, calling `report` with each result as it
/// lands; skips are not run.
pub async fn execute(
    source: &Client,
    target: &Client,
    plan: &Plan,
    jobs: usize,
    events: &dyn Events,
    cancel: &CancellationToken,
    mut report: impl FnMut(&Action, anyhow::Result<Copied>),
) {
    let copies = plan.actions.iter().filter(|a| a.kind == Kind::Copy);
    let mut results = stream::iter(copies)
        .map(|action| async move {
            let result = copy(source, &action.blob, target, events, cancel).await;
            (action, result)
        })
        .buffer_unordered(jobs.max(1));
    while let Some((action, result)) = results.next().await {
        report(action, result);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_blob as blob;
    use super::*;

    fn decided(plan: &Plan) -> Vec<(u64, Kind, Option<&'static str>, Option<u64>)> {
        plan.actions
            .iter()
            .map(|a| {
                (
                    a.blob.id,
                    a.kind,
                    a.reason,
                    a.existing.as_ref().map(|b| b.id),
                )
            })
            .collect()
    }

    #[test]
    fn without_skip_existing_every_complete_blob_is_copied() {
        let plan = decide(
            vec![blob(1, "a", Some(3)), blob(2, "b", None)],
            None,
            &Md5s::default(),
        );
        assert_eq!(
            decided(&plan),
            [
                (1, Kind::Copy, None, None),
                (2, Kind::Skip, Some(INCOMPLETE), None)
            ]
        );
        assert_eq!((plan.count(Kind::Copy), plan.bytes()), (1, 3));
    }

    #[test]
    fn what_the_target_holds_by_name_and_size_or_by_content_is_skipped() {
        let existing = Existing::new(vec![
            blob(10, "a", Some(3)),
            blob(11, "other", Some(5)),
            blob(12, "third", Some(5)),
            blob(13, "empty", Some(0)),
            blob(14, "half", None),
        ]);
        let source = vec![
            blob(1, "a", Some(3)),     // same name and size
            blob(2, "a", Some(4)),     // same name, other size
            blob(3, "moved", Some(5)), // same content as 12
            blob(4, "edited", Some(5)),
            blob(5, "blank", Some(0)), // empty: only ever the same by name
            blob(6, "empty", Some(0)),
            blob(7, "half", Some(1)),
        ];
        assert!(existing.candidates(&source[0]).is_empty());
        assert_eq!(existing.candidates(&source[2]).len(), 2);
        assert!(existing.candidates(&source[4]).is_empty());
        let mut md5s = Md5s::default();
        md5s.source.insert(3, "m3".into());
        md5s.source.insert(4, "m4".into());
        md5s.target.insert(11, "m11".into());
        md5s.target.insert(12, "m3".into());
        let plan = decide(source, Some(&existing), &md5s);
        assert_eq!(
            decided(&plan),
            [
                (1, Kind::Skip, Some(SAME_NAME), Some(10)),
                (2, Kind::Copy, Some(NOT_THERE), None),
                (3, Kind::Skip, Some(SAME_CONTENT), Some(12)),
                (4, Kind::Copy, Some(NOT_THERE), None),
                (5, Kind::Copy, Some(NOT_THERE), None),
                (6, Kind::Skip, Some(SAME_NAME), Some(13)),
                (7, Kind::Copy, Some(NOT_THERE), None),
            ]
        );
    }

    #[test]
    fn an_unknown_md5_is_never_the_same() {
        let existing = Existing::new(vec![blob(10, "x", Some(5))]);
        let plan = decide(
            vec![blob(1, "y", Some(5))],
            Some(&existing),
            &Md5s::default(),
        );
        assert_eq!(decided(&plan), [(1, Kind::Copy, Some(NOT_THERE), None)]);
    }
}
