//! `cubeblob rm ID|UID...`, `rm -` (ids from stdin) or `rm [filters]`: delete blobs,
//! going on past failures, `-j` at once, with a count at the end; `--dry-run` shows
//! each record instead, and deletes nothing. Every argument is checked before any
//! request, so a typo in a long list deletes nothing; a uid costs one request more,
//! for its id (the service deletes by id only). With filters, the matching blobs are
//! listed first and shown, and a terminal is asked (or `--yes` given) before any delete.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};

use anyhow::Result;
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::{Blob, BlobRef, Client};
use crate::cli::RmArgs;
use crate::exit::{Exit, InputError};
use crate::filter::BlobFilter;
use crate::output::{human, Batch, BlobRecord, BlobWriter, Layout};

/// The `--json` line of a deleted blob.
#[derive(Debug, Serialize, Deserialize)]
pub struct Deleted {
    pub id: u64,
    pub deleted: bool,
}

pub async fn run(ctx: &Context, args: RmArgs) -> Result<Exit> {
    let filter = BlobFilter::new(&args.filter, Utc::now())?;
    let stdin = args.ids.iter().any(|s| s == "-");
    if !filter.is_empty() {
        if !args.ids.is_empty() {
            let msg = "give blob ids or filters, not both\nhint: filters pick the blobs themselves";
            return Err(InputError::Invalid(msg.into()).into());
        }
        return by_filter(ctx, &args, &filter).await;
    }
    if args.ids.is_empty() {
        let msg = "nothing to delete: give blob ids or uids, `-` to read them from stdin, \
                   or filters\nhint: `cubeblob rm --help` lists the filters";
        return Err(InputError::Invalid(msg.into()).into());
    }
    if stdin && args.ids.len() > 1 {
        let msg = "`-` reads the ids from stdin and takes no other ids";
        return Err(InputError::Invalid(msg.into()).into());
    }
    let texts = if stdin {
        stdin_ids()?
    } else {
        args.ids.clone()
    };
    let mut refs = Vec::new();
    for text in &texts {
        let blob = BlobRef::parse(text)?;
        // `rm 8 8` deletes 8 once and says so once, not "deleted" then "not found".
        if !refs.contains(&blob) {
            refs.push(blob);
        }
    }
    let client = ctx.client().await?;
    if args.dry_run {
        let mut batch = Batch::new(refs.len(), &ctx.out);
        let blobs = stream::iter(refs)
            .map(|blob| {
                let client = &client;
                async move { client.resolve(&blob).await }
            })
            .buffered(jobs(&args));
        let mut writer = BlobWriter::new(&ctx.out, Layout::Table, false);
        let mut blobs = Box::pin(blobs);
        while let Some(result) = blobs.next().await {
            match result {
                Ok(blob) => writer.write(BlobRecord::from(&blob).with_public_url(&client))?,
                Err(e) => batch.fail(e.into()),
            }
        }
        dry_run_summary(ctx, writer)?;
        return batch.finish();
    }
    delete(ctx, &client, refs, jobs(&args)).await
}

/// `rm -`: one id or uid a line; blank lines are skipped.
fn stdin_ids() -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if !line.trim().is_empty() {
            ids.push(line.trim().to_string());
        }
    }
    if ids.is_empty() {
        return Err(InputError::Invalid("`rm -` read no ids from stdin".into()).into());
    }
    Ok(ids)
}

fn jobs(args: &RmArgs) -> usize {
    args.jobs as usize
}

/// `rm [filters]`: list, show, ask (or `--yes`), then delete.
async fn by_filter(ctx: &Context, args: &RmArgs, filter: &BlobFilter) -> Result<Exit> {
    let ask = !args.yes && !args.dry_run;
    // Refused before any request: a script must say `--yes` to delete by filter.
    if ask && !std::io::stdin().is_terminal() {
        let msg = "`rm` with filters deletes every matching blob, and there is no terminal \
                   to ask\nhint: add `--yes` if that is what you want, or try `--dry-run` first";
        return Err(InputError::Invalid(msg.into()).into());
    }
    let client = ctx.client().await?;
    // Only the matches are held: they are shown before anything is deleted.
    let mut matched: Vec<Blob> = Vec::new();
    each_blob(&client, MAX_PER_PAGE, |blob| {
        if filter.matches(&blob) {
            matched.push(blob);
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    if matched.is_empty() {
        ctx.out.status("No blob matches; nothing was deleted");
        return Ok(Exit::Success);
    }
    if args.dry_run || ask {
        let mut writer = BlobWriter::new(&ctx.out, Layout::Table, false);
        for blob in &matched {
            writer.write(BlobRecord::from(blob).with_public_url(&client))?;
        }
        if args.dry_run {
            dry_run_summary(ctx, writer)?;
            return Ok(Exit::Success);
        }
        let (count, size) = writer.totals();
        writer.finish(None)?;
        if !confirmed(count, size)? {
            let msg = "not confirmed; nothing was deleted";
            return Err(InputError::Invalid(msg.into()).into());
        }
    }
    let refs = matched.iter().map(|b| BlobRef::Id(b.id)).collect();
    delete(ctx, &client, refs, jobs(args)).await
}

fn confirmed(count: u64, size: u64) -> Result<bool> {
    eprint!(
        "delete these {} ({})? [y/N] ",
        blobs(count),
        human::size(size)
    );
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Deletes `refs`, `jobs` at once, printing each id in order, and the count at the end.
async fn delete(ctx: &Context, client: &Client, refs: Vec<BlobRef>, jobs: usize) -> Result<Exit> {
    // Uids are resolved first, so that an id and the uid of the same blob delete it
    // once (the second would otherwise find it gone).
    let mut resolved = stream::iter(refs)
        .map(|blob| async move { client.blob_id(&blob).await })
        .buffered(jobs);
    let (mut ids, mut seen, mut unresolved) = (Vec::new(), HashSet::new(), Vec::new());
    while let Some(result) = resolved.next().await {
        match result {
            Ok(id) if seen.insert(id) => ids.push(id),
            Ok(_) => {}
            Err(e) => unresolved.push(e),
        }
    }
    let total = ids.len() + unresolved.len();
    let mut batch = Batch::new(total, &ctx.out);
    for e in unresolved {
        batch.fail(e.into());
    }
    let mut deleted = 0u64;
    let mut results = stream::iter(ids)
        .map(|id| async move { client.delete_blob(id).await.map(|()| id) })
        .buffered(jobs);
    while let Some(result) = results.next().await {
        match result {
            Err(e) => batch.fail(e.into()),
            Ok(id) => {
                deleted += 1;
                if ctx.out.json {
                    ctx.out.json_line(&Deleted { id, deleted: true })?;
                } else if !ctx.out.tty {
                    ctx.out.tsv_line(&[id.to_string()])?;
                } else {
                    ctx.out.status(&format!("Deleted blob {id}"));
                }
            }
        }
    }
    if total > 1 {
        ctx.out.status(&format!("Deleted {}", blobs(deleted)));
    }
    batch.finish()
}

fn dry_run_summary(ctx: &Context, writer: BlobWriter<'_>) -> Result<()> {
    let (count, size) = writer.totals();
    let summary = format!(
        "Dry run: would delete {} ({}); nothing was deleted",
        blobs(count),
        human::size(size)
    );
    writer.finish(Some(&summary))?;
    if !ctx.out.tty {
        ctx.out.status(&summary);
    }
    Ok(())
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
