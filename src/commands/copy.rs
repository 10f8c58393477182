//! `cubeblob copy [ID|UID...] [filters] --to-profile NAME`: blobs of the current
//! account copied into the account of another profile's stored session. Plan
//! (`plan::copy`: the source blobs, and with `--skip-existing` the target's listing),
//! then show the plan (`--dry-run`) or carry it out, a line per blob, a summary and
//! the manifest.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use chrono::Utc;

use super::Context;
use crate::api::{BlobRef, Client, Session};
use crate::cli::CopyArgs;
use crate::exit::{Exit, InputError, Interrupted};
use crate::filter::BlobFilter;
use crate::manifest::{Account, CopyManifest};
use crate::output::copy::{print_line, CopyLine, Tally};
use crate::output::progress::Renderer;
use crate::output::sanitize::escape_for_terminal;
use crate::output::Batch;
use crate::plan::copy::{decide, execute, existing, gather, pick, Kind, Md5s, Selection};
use crate::transfer::InterruptWatch;

pub async fn run(ctx: &Context, args: CopyArgs) -> Result<Exit> {
    let started = Instant::now();
    let selection = selection(&args)?;
    let profile = args.to_profile.as_str();
    // The target first: a profile that cannot take the copies stops the command before
    // anything is read from the source.
    let (target, target_session) = ctx.profile_session(profile).await?;
    let source = ctx.client().await?;
    let source_session = source.session().await?;
    refuse_same_account(&source, &source_session, &target, &target_session, profile)?;

    let jobs = args.jobs as usize;
    let picked = pick(&source, selection, jobs).await?;
    let (existing, md5s) = if args.skip_existing {
        let existing = existing(&target).await?;
        let md5s = gather(&source, &target, &picked.blobs, &existing, jobs).await;
        (Some(existing), md5s)
    } else {
        (None, Md5s::default())
    };
    let plan = decide(picked.blobs, existing.as_ref(), &md5s);

    let mut batch = Batch::new(plan.count(Kind::Copy) + picked.failed.len(), &ctx.out);
    for err in picked.failed {
        batch.fail(err);
    }
    let mut tally = Tally::default();
    if args.dry_run {
        for action in &plan.actions {
            let line = CopyLine::new(action, None);
            tally.add(&line);
            print_line(&ctx.out, &line, false)?;
        }
        summary(ctx, &tally.plan_summary(profile));
        return batch.finish();
    }

    let account = |client: &Client, session: &Session, profile: Option<&str>| Account {
        api_url: client.base_url().to_string(),
        user_id: user_id(session),
        profile: profile.map(str::to_string),
    };
    let mut manifest = CopyManifest::new(
        account(&source, &source_session, None),
        account(&target, &target_session, Some(profile)),
    );
    // A closed stdout stops the lines, not the copies: records half-made would stay.
    let mut stdout_failed = None;
    let mut show = |line: CopyLine, tally: &mut Tally, manifest: &mut CopyManifest| {
        tally.add(&line);
        if stdout_failed.is_none() {
            stdout_failed = print_line(&ctx.out, &line, true).err();
        }
        if line.new_id.is_some() {
            manifest.blobs.insert(line.old_id, line);
        }
    };
    for action in plan.actions.iter().filter(|a| a.kind == Kind::Skip) {
        if action.existing.is_none() {
            let blob = &action.blob;
            ctx.out.status(&format!(
                "note: blob {} (`{}`) was never completed; not copied",
                blob.id,
                escape_for_terminal(&blob.name)
            ));
        }
        show(CopyLine::new(action, None), &mut tally, &mut manifest);
    }

    let renderer = Renderer::new(
        ctx.settings.progress,
        "copy",
        plan.count(Kind::Copy),
        plan.bytes(),
    );
    let watch = InterruptWatch::start();
    let events = &renderer;
    execute(
        &source,
        &target,
        &plan,
        jobs,
        events,
        watch.token(),
        |action, result| {
            let line = match result {
                Ok(copied) => CopyLine::new(action, Some(Ok((&copied.blob, &copied.md5)))),
                Err(err)
                    if watch.is_interrupted() && err.chain().any(|c| c.is::<Interrupted>()) =>
                {
                    return
                }
                Err(err) => {
                    let blob = &action.blob;
                    let err = err.context(format!(
                        "copy blob {} (`{}`) to profile `{profile}`",
                        blob.id,
                        escape_for_terminal(&blob.name)
                    ));
                    let line = CopyLine::new(action, Some(Err(format!("{err:#}"))));
                    renderer.suspend(|| batch.fail(err));
                    line
                }
            };
            renderer.suspend(|| show(line, &mut tally, &mut manifest));
        },
    )
    .await;
    renderer.finish();
    if let Some(path) = &args.manifest {
        manifest.complete = tally.failed == 0 && !watch.is_interrupted();
        manifest.write(path)?;
        if !manifest.complete {
            ctx.out.warn(&format!(
                "the manifest `{}` holds only the {} blobs copied or already there",
                shown(path),
                manifest.blobs.len()
            ));
        }
    }
    summary(ctx, &tally.summary(profile, started.elapsed()));
    if watch.is_interrupted() {
        return Err(Interrupted.into());
    }
    batch.finish_after_output(stdout_failed)
}

/// The blobs named (each checked before any request), or the filters.
fn selection(args: &CopyArgs) -> Result<Selection> {
    let filter = BlobFilter::new(&args.filter, Utc::now())?;
    if args.blobs.is_empty() {
        return Ok(Selection::Matching(filter));
    }
    if !filter.is_empty() {
        let msg = "give blob ids or filters, not both\nhint: filters pick the blobs themselves";
        return Err(InputError::Usage(msg.into()).into());
    }
    let refs = args
        .blobs
        .iter()
        .map(|text| Ok((text.clone(), BlobRef::parse(text)?)))
        .collect::<Result<Vec<_>, InputError>>()?;
    Ok(Selection::Named(refs))
}

/// The same user on the same API: every blob would be copied onto its own account.
fn refuse_same_account(
    source: &Client,
    source_session: &Session,
    target: &Client,
    target_session: &Session,
    profile: &str,
) -> Result<()> {
    let same_user = user_id(source_session).is_some_and(|id| user_id(target_session) == Some(id));
    if same_user && source.base_url() == target.base_url() {
        let msg = format!(
            "profile `{profile}` is the account the blobs come from (user {} at `{}`): a copy \
             would only double them\nhint: name another profile with `--to-profile`, or \
             choose the source with `--profile`",
            user_id(source_session).unwrap_or_default(),
            source.base_url()
        );
        return Err(InputError::Invalid(msg).into());
    }
    Ok(())
}

fn user_id(session: &Session) -> Option<u64> {
    session
        .user_id
        .filter(|&id| id != 0)
        .or(session.user.as_ref().map(|u| u.id))
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
