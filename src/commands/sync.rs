//! `cubeblob sync DIR`: plan (`plan::walk`, `plan::sync`), then show the plan
//! (`--dry-run`) or carry it out (`plan::execute`), a line per change, a summary, and
//! the manifest.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};

use super::Context;
use crate::api::listing::all_blobs;
use crate::cli::SyncArgs;
use crate::exit::{Exit, InputError, Interrupted};
use crate::manifest::{Entry, Manifest};
use crate::output::progress::Renderer;
use crate::output::sanitize::escape_for_terminal;
use crate::output::sync::{kind_word, print_action, Tally};
use crate::output::{Batch, BlobRecord};
use crate::plan::execute::{execute, ExecOptions};
use crate::plan::sync::{decide, gather, read_local, remote_under, Kind};
use crate::plan::walk::{self, Excludes, WalkOptions};
use crate::transfer::InterruptWatch;

pub async fn run(ctx: &Context, args: SyncArgs) -> Result<Exit> {
    let started = Instant::now();
    let prefix = args.prefix.clone().unwrap_or_default();
    if !args.dir.is_dir() {
        let msg = format!("`{}` is not a folder", shown(&args.dir));
        return Err(InputError::Invalid(msg).into());
    }
    // Without a prefix, `--delete` reaches every blob of the user.
    let ask = args.delete && prefix.is_empty() && !args.yes && !args.dry_run;
    if ask && !std::io::stdin().is_terminal() {
        return Err(InputError::Invalid(
            "`--delete` without `--prefix` deletes every blob of yours that is not in the \
             folder, and there is no terminal to ask\nhint: add `--yes` if that is what you \
             want, or give `--prefix`"
                .into(),
        )
        .into());
    }
    let opts = WalkOptions {
        recursive: true,
        excludes: Excludes::new(&args.exclude)?,
        prefix: prefix.clone(),
    };
    // The folder and the manifest are read while the listing comes in; their errors
    // (bad input) come first.
    let (dir, manifest_path) = (args.dir.clone(), args.manifest.clone());
    let local = tokio::task::spawn_blocking(move || -> Result<_> {
        let walked = walk::expand(std::slice::from_ref(&dir), &opts)?;
        let cache = match &manifest_path {
            Some(path) => Manifest::read(path)?,
            None => None,
        };
        Ok((walked.refused, read_local(walked.found), cache))
    });
    let listed = async {
        let client = ctx.client().await?;
        let blobs = all_blobs(&client).await?;
        Ok::<_, anyhow::Error>((client, blobs))
    };
    let (local, listed) = tokio::join!(local, listed);
    let (refused, facts, cache) = local.context("reading the folder failed")??;
    let (client, blobs) = listed?;
    let remote = remote_under(&prefix, blobs)?;
    let jobs = args.jobs as usize;
    let facts = gather(&client, facts, &remote, cache.as_ref(), jobs).await;
    let plan = decide(facts, remote, args.delete);

    // Every file counts, skipped or not: one unreadable file among many is a partial
    // failure (exit 1), as for `upload a b c`.
    let items = plan.actions().count() + plan.unusable.len() + refused.len();
    let mut batch = Batch::new(items, &ctx.out);
    for message in refused {
        batch.fail(InputError::Invalid(message).into());
    }
    for (_, why) in &plan.unusable {
        batch.fail(InputError::Invalid(why.clone()).into());
    }
    if args.dry_run {
        let mut tally = Tally::default();
        for action in plan.actions() {
            tally.add(action);
            print_action(&ctx.out, action, None, false)?;
        }
        summary(ctx, &tally.plan_summary());
        return batch.finish();
    }
    let deletes = plan.steps[2].len();
    if ask && deletes > 0 && !confirmed(deletes, &args.dir)? {
        return Err(InputError::Invalid("not confirmed; nothing was changed".into()).into());
    }

    let mut tally = Tally {
        failed: plan.unusable.len(),
        ..Tally::default()
    };
    let mut manifest = Manifest::new(client.base_url().to_string());
    let sending: Vec<_> = plan
        .actions()
        .filter(|a| matches!(a.kind, Kind::Upload | Kind::Replace))
        .collect();
    let bytes = sending.iter().map(|a| a.size()).sum();
    let renderer = Renderer::new(ctx.settings.progress, "sync", sending.len(), bytes);
    let watch = InterruptWatch::start();
    let exec = ExecOptions {
        jobs,
        public: args.public,
        want_md5: args.manifest.is_some(),
    };
    let mut stdout_failed = None;
    execute(
        &client,
        plan,
        exec,
        &renderer,
        watch.token(),
        |action, result| match result {
            Ok(done) => {
                tally.add(&action);
                if let (Some(blob), Some(md5)) = (&done.blob, done.md5) {
                    let record = BlobRecord::from(blob).with_public_url(&client);
                    let file = action.file.as_ref();
                    manifest.blobs.insert(
                        action.name.clone(),
                        Entry {
                            id: record.id,
                            uid: record.uid,
                            size: action.size(),
                            md5,
                            content_type: record.content_type,
                            public: record.public,
                            public_url: record.public_url,
                            file: file.map(|f| f.path.display().to_string()),
                            mtime: file.and_then(|f| f.mtime.clone()),
                        },
                    );
                }
                if stdout_failed.is_none() {
                    let printed = print_action(&ctx.out, &action, done.blob.as_ref(), true);
                    stdout_failed = renderer.suspend(|| printed.err());
                }
            }
            Err(_) if watch.is_interrupted() => tally.failed += 1,
            Err(err) => {
                tally.failed += 1;
                let what = format!(
                    "{} `{}`",
                    kind_word(action.kind),
                    escape_for_terminal(&action.name)
                );
                renderer.suspend(|| batch.fail(err.context(what)));
            }
        },
    )
    .await;
    renderer.finish();
    if let Some(path) = &args.manifest {
        manifest.complete = tally.failed == 0;
        // A rerun with no change leaves the manifest as it was (no rewrite, no fsync).
        if !cache.as_ref().is_some_and(|old| manifest.same_as(old)) {
            manifest.write(path)?;
        }
        if !manifest.complete {
            ctx.out.warn(&format!(
                "the manifest `{}` leaves out the {} files that failed",
                shown(path),
                tally.failed
            ));
        }
    }
    summary(ctx, &tally.summary(started.elapsed()));
    if watch.is_interrupted() {
        return Err(Interrupted.into());
    }
    batch.finish_after_output(stdout_failed)
}

/// Asks on the terminal before deleting blobs that no prefix protects.
fn confirmed(deletes: usize, dir: &Path) -> Result<bool> {
    eprint!(
        "delete {deletes} blob{} of yours that {} not in `{}` (no --prefix limits this)? [y/N] ",
        if deletes == 1 { "" } else { "s" },
        if deletes == 1 { "is" } else { "are" },
        shown(dir)
    );
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The summary goes to stderr even with `--json` (CI logs want it), not with `-q`.
fn summary(ctx: &Context, text: &str) {
    if !ctx.settings.quiet {
        eprintln!("{text}");
    }
}

fn shown(path: &Path) -> String {
    escape_for_terminal(&path.display().to_string())
}
