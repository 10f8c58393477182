//! `cubeblob download --all [filters] -o DIR`: a backup of every matching blob into a
//! folder, its name as a relative path (`plan::backup`). Resumable: a file already
//! there with the blob's size and MD5 (from `--manifest`, or storage's ETag) is
//! skipped, and an interrupted download goes on from its `.part` file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::Utc;
use futures_util::StreamExt;

use super::Context;
use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::{Blob, Client};
use crate::cli::DownloadArgs;
use crate::exit::{Exit, InputError, Interrupted};
use crate::filter::BlobFilter;
use crate::manifest::{Entry, Manifest};
use crate::output::progress::Renderer;
use crate::output::sanitize::escape_for_terminal;
use crate::output::{human, Batch};
use crate::plan::backup::BackupPaths;
use crate::transfer::etag::remote_md5;
use crate::transfer::source::md5_of;
use crate::transfer::{download, DownloadOptions, Downloaded, InterruptWatch, Target};

/// What happened to one blob.
enum Done {
    Saved(Downloaded),
    /// Already there with the right size and MD5.
    Kept(String),
}

pub async fn run(ctx: &Context, args: DownloadArgs) -> Result<Exit> {
    let filter = BlobFilter::new(&args.filter, Utc::now())?;
    let dir = args.output.clone().expect("clap requires -o with --all");
    if dir.as_os_str() == "-" || (dir.exists() && !dir.is_dir()) {
        let msg = format!(
            "`--all` backs up into a folder, and `{}` is not one",
            dir.display()
        );
        return Err(InputError::Invalid(msg).into());
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the folder `{}`", dir.display()))?;
    let previous = match &args.manifest {
        Some(path) => Manifest::read(path)?,
        None => None,
    };

    let client = ctx.client().await?;
    let watch = InterruptWatch::start();
    let mut paths = BackupPaths::new();
    let mut work: Vec<(Blob, PathBuf)> = Vec::new();
    let mut unfinished = 0u64;
    let listed = tokio::select! {
        biased;
        _ = watch.token().cancelled() => return Err(Interrupted.into()),
        r = each_blob(&client, MAX_PER_PAGE, |blob| {
            if !filter.matches(&blob) {
            } else if blob.is_complete() {
                let rel = paths.claim(&blob);
                work.push((blob, rel));
            } else {
                unfinished += 1;
            }
            Ok::<_, anyhow::Error>(())
        }) => r,
    };
    listed?;

    let mut batch = Batch::new(work.len().max(2), &ctx.out);
    let total = work.iter().map(|(b, _)| b.size.unwrap_or(0)).sum();
    let renderer = Renderer::new(ctx.settings.progress, "download", work.len(), total);
    let mut manifest = Manifest::new(client.url("").to_string());
    let mut results = futures_util::stream::iter(work)
        .map(|(blob, rel)| {
            let (client, renderer, cancel) =
                (client.clone(), renderer.clone(), watch.token().clone());
            let path = dir.join(&rel);
            let known = previous.as_ref().and_then(|m| {
                m.cached_blob_md5(&key(&rel), &blob.uid, blob.size.unwrap_or(0))
                    .map(str::to_string)
            });
            let force = args.force;
            tokio::spawn(async move {
                let result = async {
                    if !force {
                        if let Some(md5) = already_there(&client, &blob, &path, known).await? {
                            return Ok(Done::Kept(md5));
                        }
                    }
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).with_context(|| {
                            format!("cannot create the folder `{}`", parent.display())
                        })?;
                    }
                    let options = DownloadOptions {
                        force: true,
                        resume: true,
                    };
                    let target = Target::File(path.clone());
                    download(&client, &blob, None, &target, options, &renderer, &cancel)
                        .await
                        .map(Done::Saved)
                }
                .await;
                (blob, rel, path, result)
            })
        })
        .buffered(args.jobs as usize);
    let (mut saved, mut kept, mut bytes) = (0u64, 0u64, 0u64);
    let mut stdout_failed = None;
    while let Some(joined) = results.next().await {
        let (blob, rel, path, result) = joined.context("a download task failed")?;
        let md5 = match result {
            Ok(Done::Kept(md5)) => {
                kept += 1;
                md5
            }
            Ok(Done::Saved(done)) => {
                saved += 1;
                bytes += done.bytes;
                if stdout_failed.is_none() {
                    let target = Target::File(path.clone());
                    stdout_failed = renderer
                        .suspend(|| {
                            super::download::print(&ctx.out, &client, &blob, &target, &done)
                        })
                        .err();
                }
                done.md5
            }
            Err(err) if watch.is_interrupted() && err.chain().any(|c| c.is::<Interrupted>()) => {
                continue
            }
            Err(err) => {
                manifest.complete = false;
                let what = format!("download `{}` to `{}`", blob.id, path.display());
                renderer.suspend(|| batch.fail(err.context(what)));
                continue;
            }
        };
        manifest.blobs.insert(key(&rel), entry(&blob, md5, &rel));
    }
    renderer.finish();
    if let Some(path) = &args.manifest {
        manifest.complete &= !watch.is_interrupted();
        manifest.write(path)?;
    }
    if watch.is_interrupted() {
        return Err(Interrupted.into());
    }
    let mut summary = format!(
        "Backed up {} ({}) to `{}`",
        blobs(saved),
        human::size(bytes),
        escape_for_terminal(&dir.display().to_string())
    );
    if kept > 0 {
        summary.push_str(&format!("; {} already there", blobs(kept)));
    }
    if unfinished > 0 {
        summary.push_str(&format!("; {} never completed, skipped", blobs(unfinished)));
    }
    ctx.out.status(&summary);
    batch.finish_after_output(stdout_failed)
}

/// The file's MD5 when it is already the blob's content: the right size, and the MD5
/// the manifest recorded for this uid, or else storage's.
async fn already_there(
    client: &Client,
    blob: &Blob,
    path: &Path,
    known: Option<String>,
) -> Result<Option<String>> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let size = blob.size.unwrap_or(0);
    if !meta.is_file() || meta.len() != size {
        return Ok(None);
    }
    let local = md5_of(path).await?;
    if size == 0 {
        return Ok(Some(local));
    }
    let expected = match known {
        Some(md5) => Some(md5),
        None => remote_md5(client, &blob.uid).await?,
    };
    Ok(expected
        .filter(|m| m.eq_ignore_ascii_case(&local))
        .map(|_| local))
}

/// The manifest key: the file's path below DIR, with `/`.
fn key(rel: &Path) -> String {
    rel.iter()
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn entry(blob: &Blob, md5: String, rel: &Path) -> Entry {
    Entry {
        id: blob.id,
        uid: blob.uid.clone(),
        size: blob.size.unwrap_or(0),
        md5,
        content_type: blob.content_type.clone(),
        public: blob.public,
        public_url: None,
        file: Some(key(rel)),
        mtime: None,
    }
}

fn blobs(n: u64) -> String {
    format!("{n} blob{}", if n == 1 { "" } else { "s" })
}
