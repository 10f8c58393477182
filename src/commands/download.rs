//! `cubeblob download ID|UID...`: where each blob goes is settled first (sanitised
//! names, unique within the run, no silent overwrite), then the downloads run a few
//! at a time with progress.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use futures_util::StreamExt;
use serde::Serialize;
use url::Url;

use super::Context;
use crate::api::{Blob, BlobRef, Client};
use crate::cli::DownloadArgs;
use crate::exit::{Exit, InputError, Interrupted};
use crate::output::filename::{sanitize, UniqueNames};
use crate::output::progress::Renderer;
use crate::output::sanitize::escape_for_terminal;
use crate::output::{human, Batch, BlobRecord, Out};
use crate::transfer::download::refuse_existing;
use crate::transfer::{download, part_path, DownloadOptions, Downloaded, InterruptWatch, Target};

/// One `--json` line: the blob record, where its bytes went, and their MD5.
#[derive(Debug, Serialize)]
struct Saved {
    #[serde(flatten)]
    blob: BlobRecord,
    /// The file written, or `-` for stdout.
    path: String,
    md5: String,
    /// Whether storage's ETag was an MD5 that the bytes matched.
    md5_verified: bool,
}

/// Where `-o` sends the blobs.
enum Destination {
    Stdout,
    /// The one blob goes to exactly this file.
    File(PathBuf),
    /// Each blob goes into this folder under its sanitised name.
    Folder(PathBuf),
}

pub async fn run(ctx: &Context, args: DownloadArgs) -> Result<Exit> {
    if args.all {
        return super::backup::run(ctx, args).await;
    }
    if !crate::filter::BlobFilter::new(&args.filter, chrono::Utc::now())?.is_empty() {
        let msg = "filters pick blobs for `download --all`\nhint: add `--all -o DIR`";
        return Err(InputError::Invalid(msg.into()).into());
    }
    let mut batch = Batch::new(args.blobs.len(), &ctx.out);
    let mut refs = Vec::new();
    for text in &args.blobs {
        match BlobRef::parse(text) {
            Ok(r) => refs.push(r),
            Err(err) => batch.fail(err.into()),
        }
    }
    if refs.is_empty() {
        return batch.finish();
    }
    let destination = destination(&args)?;
    if let Destination::File(path) = &destination {
        if !args.force && path.exists() {
            return Err(refuse_existing(path).into());
        }
    }
    let options = DownloadOptions {
        force: args.force,
        resume: args.resume,
    };
    // Stdout takes one blob after the other, or their bytes would interleave.
    let jobs = match destination {
        Destination::Stdout => 1,
        _ => args.jobs as usize,
    };

    let client = ctx.client().await?;
    let watch = InterruptWatch::start();
    let resolved = tokio::select! {
        biased;
        _ = watch.token().cancelled() => return Err(Interrupted.into()),
        r = resolve_all(&client, refs, jobs) => r,
    };
    let mut names = UniqueNames::new();
    let mut work = Vec::new();
    for (blob_ref, result) in resolved {
        let (blob, location) = match result {
            Ok(found) => found,
            Err(err) => {
                batch.fail(err.context(format!("download `{blob_ref}`")));
                continue;
            }
        };
        let target = match &destination {
            Destination::Stdout => Target::Stdout,
            Destination::File(path) => Target::File(path.clone()),
            Destination::Folder(folder) => {
                let name = names.claim(&sanitize(&blob.name, &format!("blob-{}", blob.id)));
                Target::File(folder.join(name))
            }
        };
        if let Target::File(path) = &target {
            if !args.force && path.exists() {
                batch.fail(
                    anyhow::Error::new(refuse_existing(path))
                        .context(format!("download `{blob_ref}`")),
                );
                continue;
            }
            if !args.resume {
                keep_part(&ctx.out, path, &blob_ref, args.force);
            }
        }
        if matches!(target, Target::Stdout) && ctx.settings.stdout_tty && !args.force {
            if let Some(err) = binary_to_terminal(&blob) {
                batch.fail(anyhow::Error::new(err).context(format!("download `{blob_ref}`")));
                continue;
            }
        }
        work.push((blob_ref, blob, location, target));
    }

    let total = work.iter().map(|(_, b, _, _)| b.size.unwrap_or(0)).sum();
    let renderer = Renderer::new(ctx.settings.progress, "download", work.len(), total);
    let mut results = futures_util::stream::iter(work)
        .map(|(blob_ref, blob, location, target)| {
            let (client, renderer, cancel) =
                (client.clone(), renderer.clone(), watch.token().clone());
            tokio::spawn(async move {
                let result = download(
                    &client, &blob, location, &target, options, &renderer, &cancel,
                )
                .await;
                (blob_ref, blob, target, result)
            })
        })
        .buffered(jobs);
    // A closed stdout stops the result lines, not the downloads (see `upload`).
    let mut stdout_failed = None;
    while let Some(joined) = results.next().await {
        let (blob_ref, blob, target, result) = joined.context("a download task failed")?;
        match result {
            Ok(_) if stdout_failed.is_some() => {}
            Ok(done) => {
                if let Some(note) = &done.note {
                    renderer.suspend(|| ctx.out.warn(&format!("download `{blob_ref}`: {note}")));
                }
                stdout_failed = renderer
                    .suspend(|| print(&ctx.out, &client, &blob, &target, &done))
                    .err()
            }
            Err(err) if watch.is_interrupted() && err.chain().any(|c| c.is::<Interrupted>()) => {}
            Err(err) => {
                renderer.suspend(|| batch.fail(err.context(format!("download `{blob_ref}`"))))
            }
        }
    }
    renderer.finish();
    if watch.is_interrupted() {
        return Err(Interrupted.into());
    }
    batch.finish_after_output(stdout_failed)
}

/// `-o`: stdout, a file for one blob, or a folder (made if missing) for many or when
/// it names one; the current folder by default.
fn destination(args: &DownloadArgs) -> Result<Destination> {
    let Some(output) = &args.output else {
        return Ok(Destination::Folder(PathBuf::from(".")));
    };
    if output.as_os_str() == "-" {
        return Ok(Destination::Stdout);
    }
    let text = output.to_string_lossy();
    let says_folder = text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR);
    if output.is_dir() {
        return Ok(Destination::Folder(output.clone()));
    }
    if !says_folder && args.blobs.len() > 1 {
        // A name without `/` is a file: making a folder called `single.txt` for two
        // blobs surprised everyone who tried.
        return Err(InputError::Usage(format!(
            "`-o {}` names one file, but {} blobs were given\nhint: for a folder, end it \
             with `/` (`-o {}/`, made if missing), or download one blob at a time",
            output.display(),
            args.blobs.len(),
            output.display()
        ))
        .into());
    }
    if says_folder {
        if output.exists() {
            return Err(InputError::Invalid(format!(
                "`{}` is a file, but {} blobs need a folder",
                output.display(),
                args.blobs.len()
            ))
            .into());
        }
        std::fs::create_dir_all(output)
            .with_context(|| format!("cannot create the folder `{}`", output.display()))?;
        return Ok(Destination::Folder(output.clone()));
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(InputError::Invalid(format!(
                "the folder `{}` does not exist",
                parent.display()
            ))
            .into());
        }
    }
    Ok(Destination::File(output.clone()))
}

/// A plain download leaves an earlier run's `TARGET.part` alone (it writes a file of
/// its own): says so, with how to resume from it. With `--force` the download drops
/// it, once it has succeeded (`transfer::download`), so nothing is said.
fn keep_part(out: &Out, target: &Path, blob_ref: &BlobRef, force: bool) {
    let part = part_path(target);
    let Ok(meta) = std::fs::symlink_metadata(&part) else {
        return;
    };
    if force && meta.is_file() {
        return;
    }
    out.warn(&format!(
        "`{}` holds {} of an interrupted download; it is kept\nhint: `cubeblob download -c \
         {blob_ref} -o {}` resumes from it; with `--force` a download that succeeds removes it",
        escape_for_terminal(&part.display().to_string()),
        human::size(meta.len()),
        escape_for_terminal(&target.display().to_string()),
    ));
}

/// Bytes that are not text would garble a terminal (and may drive it): refused
/// unless `--force`, as curl does. Judged by the content type, before any byte.
fn binary_to_terminal(blob: &Blob) -> Option<InputError> {
    let ct = blob
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/javascript" | "application/x-sh"
        );
    (!text).then(|| {
        InputError::Usage(format!(
            "`{}` is `{ct}`, which would garble the terminal\nhint: send it to a file \
             (`-o FILE`) or a pipe (`-o - | less`), or pass `--force` to print it anyway",
            escape_for_terminal(&blob.name)
        ))
    })
}

/// Each blob's record (and for a uid its presigned GET, from the same request), in
/// the order given, a few requests at a time.
async fn resolve_all(
    client: &Client,
    refs: Vec<BlobRef>,
    jobs: usize,
) -> Vec<(BlobRef, Result<(Blob, Option<Url>)>)> {
    futures_util::stream::iter(refs)
        .map(|blob_ref| async move {
            let blob = client
                .resolve_for_download(&blob_ref)
                .await
                .map_err(anyhow::Error::from);
            (blob_ref, blob)
        })
        .buffered(jobs.max(1))
        .collect()
        .await
}

/// One result: a JSON line, a TSV line, or a line for a person. Nothing goes to
/// stdout when the bytes themselves did. The JSON line carries `public_url` for a
/// public blob, as `info` and `upload` do; the TSV columns stay as documented.
pub(super) fn print(
    out: &Out,
    client: &Client,
    blob: &Blob,
    target: &Target,
    done: &Downloaded,
) -> std::io::Result<()> {
    let path = match target {
        Target::Stdout => {
            out.status(&format!(
                "downloaded {} ({}){}",
                escape_for_terminal(&blob.name),
                human::size(done.bytes),
                verified(done)
            ));
            return Ok(());
        }
        Target::File(path) => path,
    };
    if out.json {
        let record = BlobRecord::from(blob).with_public_url(client);
        out.url_shown(record.public_url.is_some());
        return out.json_line(&Saved {
            blob: record,
            path: path.display().to_string(),
            md5: done.md5.clone(),
            md5_verified: done.md5_verified,
        });
    }
    if !out.tty {
        return out.tsv_line(&[
            blob.id.to_string(),
            blob.uid.clone(),
            path.display().to_string(),
            done.bytes.to_string(),
            done.md5.clone(),
        ]);
    }
    out.data(&format!(
        "downloaded {} -> {}  {}{}",
        escape_for_terminal(&blob.name),
        escape_for_terminal(&shown_path(path)),
        human::size(done.bytes),
        verified(done)
    ))
}

fn verified(done: &Downloaded) -> &'static str {
    if done.md5_verified {
        ", MD5 verified"
    } else {
        ""
    }
}

/// `./cat.jpg` reads better as `cat.jpg`.
fn shown_path(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}
