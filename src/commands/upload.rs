//! `cubeblob upload FILE... | -`: folders and patterns expanded into files and names
//! (`plan::walk`), every input checked before any request (two inputs for one name
//! refuse the whole run), then the uploads run a few at a time with progress, each
//! result printed as it lands.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use futures_util::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::api::{check_content_type, has_control, ApiError, BLOB_NAME_CHARS, ENV_TOKEN_HINT};
use crate::cli::UploadArgs;
use crate::exit::{Exit, InputError, Interrupted};
use crate::manifest::{self, Manifest};
use crate::output::progress::Renderer;
use crate::output::sanitize::escape_for_terminal;
use crate::output::{human, Batch, BlobRecord, Out};
use crate::plan::walk::{self, Excludes, WalkOptions};
use crate::transfer::source::{self, is_stdin, Source};
use crate::transfer::{upload, Content, InterruptWatch, UploadRequest};

/// One `--json` line: the blob record (with `public_url` for public blobs) and the
/// local file it came from (`-` for stdin).
#[derive(Debug, Serialize)]
struct Uploaded {
    #[serde(flatten)]
    blob: BlobRecord,
    file: String,
}

/// An input that passed the checks, ready to go.
struct Ready {
    req: UploadRequest,
    /// How the input is named in messages: the path as given, or `stdin`.
    shown: String,
    /// The path as given (`-` for stdin), for `--json`.
    file: String,
    /// The checked input; it holds stdin's bytes until the upload is done.
    source: Source,
}

pub async fn run(ctx: &Context, args: UploadArgs) -> Result<Exit> {
    check_options(&args)?;
    let opts = WalkOptions {
        recursive: args.recursive,
        excludes: Excludes::new(&args.exclude)?,
        prefix: args.prefix.clone().unwrap_or_default(),
    };
    let (stdin, paths): (Vec<PathBuf>, Vec<PathBuf>) =
        args.files.iter().cloned().partition(|p| is_stdin(p));
    let walked = walk::expand(&paths, &opts)?;
    if args.name.is_some() && walked.found.len() + stdin.len() > 1 {
        return Err(InputError::Invalid(format!(
            "`--name` names a single file, and these inputs hold {}; drop `--name`",
            walked.found.len() + stdin.len()
        ))
        .into());
    }
    if let Some(collision) = walk::collisions(&walked.found) {
        return Err(collision.into());
    }
    let inputs = walked.found.len() + walked.refused.len() + stdin.len();
    let mut batch = Batch::new(inputs, &ctx.out);
    for message in walked.refused {
        batch.fail(InputError::Invalid(message).into());
    }
    let mut ready = Vec::new();
    let found = stdin.into_iter().map(|p| (p, String::new(), None)).chain(
        walked
            .found
            .into_iter()
            .map(|f| (f.path, f.name, f.problem)),
    );
    for (path, name, problem) in found {
        let prepared = match problem {
            Some(problem) => Err(InputError::Invalid(problem).into()),
            None => prepare(&path, args.name.clone().unwrap_or(name), &args).await,
        };
        match prepared {
            Ok(r) => ready.push(r),
            Err(err) => batch.fail(err.context(format!("upload `{}`", shown(&path)))),
        }
    }
    if ready.is_empty() {
        return batch.finish();
    }

    let client = ctx.client().await?;
    let watch = InterruptWatch::start();
    let total = ready.iter().map(|r| r.req.size).sum();
    let renderer = Renderer::new(ctx.settings.progress, "upload", ready.len(), total);
    // Cancelled when the server refuses the session and the client cannot make a new
    // one: every later upload would fail the same way, so none is started.
    let session_gone = CancellationToken::new();
    let mut not_sent = 0;
    // Whether the refused token was CUBEBLOB_TOKEN's, for the last word's hint.
    let mut env_token_refused = false;
    // A closed stdout (`| head -1`) stops the result lines, not the uploads: returning
    // at once would drop the uploads in flight with their records half-made.
    let mut stdout_failed = None;
    let want_md5 = args.manifest.is_some();
    let mut manifest = Manifest::new(client.base_url().to_string());
    let mut results = futures_util::stream::iter(ready)
        .map(|ready| {
            let (client, renderer, cancel, gone) = (
                client.clone(),
                renderer.clone(),
                watch.token().clone(),
                session_gone.clone(),
            );
            tokio::spawn(async move {
                if gone.is_cancelled() {
                    return (ready, Err(NotSent.into()));
                }
                let result = upload(&client, &ready.req, &renderer, &cancel).await;
                if result.as_ref().is_err_and(is_unauthorized) {
                    gone.cancel();
                }
                let result = match result {
                    Ok(blob) if want_md5 => match source::md5_of(&ready.source.path).await {
                        Ok(md5) => Ok((blob, Some(md5))),
                        Err(err) => Err(err.context(format!(
                            "uploaded as blob {}, but the manifest cannot have it",
                            blob.id
                        ))),
                    },
                    Ok(blob) => Ok((blob, None)),
                    Err(err) => Err(err),
                };
                (ready, result)
            })
        })
        .buffer_unordered(args.jobs as usize);
    while let Some(joined) = results.next().await {
        let (ready, result) = joined.context("an upload task failed")?;
        match result {
            Ok((blob, md5)) => {
                let record = BlobRecord::from(&blob).with_public_url(&client);
                if let Some(md5) = md5 {
                    manifest
                        .blobs
                        .insert(blob.name.clone(), entry(&record, md5, &ready));
                }
                if stdout_failed.is_some() {
                    continue;
                }
                stdout_failed = renderer
                    .suspend(|| print(&ctx.out, record, &ready.file))
                    .err();
            }
            Err(err) if watch.is_interrupted() && is_interrupted(&err) => {}
            Err(err) => {
                not_sent += usize::from(err.is::<NotSent>());
                env_token_refused |= refused_env_token(&err);
                renderer.suspend(|| batch.fail(err.context(format!("upload `{}`", ready.shown))))
            }
        }
    }
    renderer.finish();
    if let Some(path) = &args.manifest {
        write_manifest(ctx, &mut manifest, path, inputs)?;
    }
    if watch.is_interrupted() {
        return Err(Interrupted.into());
    }
    if session_gone.is_cancelled() {
        // Whatever the other files did, the user must log in again: exit 4, with the hint.
        batch.finish()?;
        let ended = format!(
            "the session ended during the batch and could not be renewed; {not_sent} not sent"
        );
        if env_token_refused {
            return Err(InputError::Auth(format!("{ended}\nhint: {ENV_TOKEN_HINT}")).into());
        }
        return Err(ApiError::NotLoggedIn(ended).into());
    }
    batch.finish_after_output(stdout_failed)
}

/// The manifest's entry for an uploaded file.
fn entry(record: &BlobRecord, md5: String, ready: &Ready) -> manifest::Entry {
    let mtime = std::fs::metadata(&ready.source.path)
        .and_then(|m| m.modified())
        .ok()
        .filter(|_| !is_stdin(Path::new(&ready.file)))
        .map(manifest::mtime_text);
    manifest::Entry {
        id: record.id,
        uid: record.uid.clone(),
        size: record.size.unwrap_or(0),
        md5,
        content_type: record.content_type.clone(),
        public: record.public,
        public_url: record.public_url.clone(),
        file: Some(ready.file.clone()),
        mtime,
    }
}

/// Writes what succeeded, and says so when that is not everything.
fn write_manifest(ctx: &Context, manifest: &mut Manifest, path: &Path, total: usize) -> Result<()> {
    let written = manifest.blobs.len();
    manifest.complete = written == total;
    manifest.write(path)?;
    if !manifest.complete {
        ctx.out.warn(&format!(
            "the manifest `{}` holds the {written} of {total} files that were uploaded; \
             the others are not in it",
            escape_for_terminal(&path.display().to_string())
        ));
    }
    Ok(())
}

/// A file whose upload never started, because the session had ended.
#[derive(Debug, thiserror::Error)]
#[error("not sent: the session ended before its turn")]
struct NotSent;

/// The server refused the session (the client already tried a new one if it could).
fn is_unauthorized(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<ApiError>())
        .any(|e| matches!(e, ApiError::Status { status: 401, .. }))
}

/// The 401 was for the token of CUBEBLOB_TOKEN.
fn refused_env_token(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<ApiError>())
        .any(|e| {
            matches!(
                e,
                ApiError::Status {
                    status: 401,
                    token: crate::api::TokenOf::Environment,
                    ..
                }
            )
        })
}

/// Option combinations that cannot work, whatever the files.
fn check_options(args: &UploadArgs) -> Result<(), InputError> {
    let stdin = args.files.iter().filter(|p| is_stdin(p)).count();
    if args.name.is_some() && args.files.len() > 1 {
        return Err(InputError::Invalid(
            "`--name` names a single file; give one file, or drop `--name`".into(),
        ));
    }
    if stdin > 1 {
        return Err(InputError::Invalid(
            "stdin (`-`) can be uploaded only once".into(),
        ));
    }
    if stdin == 1 && args.name.is_none() {
        return Err(InputError::Invalid(
            "stdin has no file name\nhint: name the blob with `--name NAME`".into(),
        ));
    }
    if let Some(ct) = &args.content_type {
        check_content_type(ct)?;
    }
    Ok(())
}

/// The checks every input passes before any request: the file (see
/// `transfer::source`), and a name (from `--name`, or from its path, see
/// `plan::walk`) and content type the service takes.
async fn prepare(path: &Path, name: String, args: &UploadArgs) -> Result<Ready> {
    let source = source::open(path, args.max_size).await?;
    if !BLOB_NAME_CHARS.contains(&name.chars().count()) {
        return Err(invalid(format!(
            "the blob name `{}` has {} characters; the service takes 1 to 100\nhint: choose \
             another with `--name NAME`",
            escape_for_terminal(&name),
            name.chars().count()
        )));
    }
    if has_control(&name) {
        return Err(invalid(format!(
            "the blob name `{}` has a control character (a tab or a newline); a blob name \
             is one line of text\nhint: choose another with `--name NAME`",
            escape_for_terminal(&name)
        )));
    }
    let content_type = args.content_type.clone().unwrap_or_else(|| {
        mime_guess::from_path(&name)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string()
    });
    Ok(Ready {
        req: UploadRequest {
            content: Content::File(source.path.clone()),
            size: source.size,
            name,
            content_type,
            public: args.public,
        },
        shown: shown(path),
        file: path.display().to_string(),
        source,
    })
}

/// One result: a JSON line, a TSV line, or a line for a person.
fn print(out: &Out, record: BlobRecord, file: &str) -> std::io::Result<()> {
    out.url_shown(record.public_url.is_some());
    if out.json {
        return out.json_line(&Uploaded {
            blob: record,
            file: file.to_string(),
        });
    }
    if !out.tty {
        let mut fields = record.tsv_fields(false);
        fields.push(record.public_url.clone().unwrap_or_default());
        return out.tsv_line(&fields);
    }
    let mut line = format!(
        "uploaded {}  id {}  uid {}  {}  {}  {}",
        escape_for_terminal(&record.name),
        record.id,
        record.uid,
        human::size(record.size.unwrap_or(0)),
        escape_for_terminal(record.content_type.as_deref().unwrap_or("-")),
        if record.public { "public" } else { "private" },
    );
    if let Some(url) = &record.public_url {
        line.push_str(&format!("  {url}"));
    }
    out.data(&line)
}

fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".into()
    } else {
        escape_for_terminal(&path.display().to_string())
    }
}

fn invalid(message: String) -> anyhow::Error {
    InputError::Invalid(message).into()
}

fn is_interrupted(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Interrupted>())
}
