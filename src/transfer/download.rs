//! The download of one blob: the API's 301 followed by hand, then a GET on the storage
//! host with no credential, into `TARGET.part`, resumed with `Range` after a broken
//! connection, checked for size and MD5, and only then renamed into place.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, ETAG, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::events::{Events, FileEvents, NoEvents};
use super::pipe::PipeWriter;
use super::sink::Sink;
pub use super::staging::part_path;
use super::staging::{bad_part_path, Staging};
use super::storage::{back_off, etag_md5, header_text, log_answer, storage_error, transport_error};
use crate::api::retry::parse_retry_after;
use crate::api::{ApiError, Blob, Client};
use crate::exit::{InputError, Interrupted};

/// The step name in messages about the storage GET.
const FETCHING: &str = "downloading from storage";

/// Where the bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file, written as `FILE.part` beside it and renamed at the end.
    File(PathBuf),
    Stdout,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DownloadOptions {
    /// Replace an existing target.
    pub force: bool,
    /// Start from an existing `.part` file, and keep it when the download fails.
    pub resume: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub bytes: u64,
    /// MD5 of the bytes, hex.
    pub md5: String,
    /// Whether storage gave an MD5 ETag that the bytes matched.
    pub md5_verified: bool,
    /// Something the user should know although it worked out (a damaged `.part`).
    pub note: Option<String>,
}

/// The refusal to replace an existing file, for callers to check before any request.
pub fn refuse_existing(target: &Path) -> InputError {
    InputError::Invalid(format!(
        "`{}` already exists\nhint: pass `--force` to replace it, or `-o PATH` to choose another",
        target.display()
    ))
}

/// Downloads `blob` (a record from `Client::resolve`) to `target`, from `location`
/// when the record came with its presigned GET, else from where the API's download
/// redirect points.
pub async fn download(
    client: &Client,
    blob: &Blob,
    location: Option<Url>,
    target: &Target,
    options: DownloadOptions,
    events: &dyn Events,
    cancel: &CancellationToken,
) -> anyhow::Result<Downloaded> {
    if cancel.is_cancelled() {
        return Err(Interrupted.into());
    }
    if !blob.is_complete() {
        return Err(InputError::NotFound(format!(
            "blob {} has no content: its upload was never completed",
            blob.id
        ))
        .into());
    }
    if let Target::File(path) = target {
        if !options.force && path.exists() {
            return Err(refuse_existing(path).into());
        }
    }
    let url = match location {
        Some(url) => url,
        None => tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(Interrupted.into()),
            r = client.download_location(&blob.uid) => r?,
        },
    };
    let file_events: Arc<dyn FileEvents> = Arc::from(events.started(&blob.name, blob.size));
    let result = match target {
        Target::Stdout => {
            let mut sink = Sink::stdout();
            let fetched = tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(Interrupted.into()),
                r = fetch(client, &url, blob.size, &mut sink, &*file_events) => r,
            };
            match fetched {
                Ok(etag) => verify(sink, etag, blob.size)
                    .await
                    .and_then(|v| v.map(|(done, _)| done).map_err(Mismatch::into_error)),
                Err(e) => Err(e),
            }
        }
        Target::File(path) => {
            to_file(client, &url, blob, path, options, &*file_events, cancel).await
        }
    };
    match &result {
        Ok(_) => file_events.finished(),
        Err(_) => file_events.failed(),
    }
    result
}

/// Streams `blob` into a copy's upload: the same GET as a download, resumed with
/// `Range` after a broken connection, held to the record's size and checked against
/// storage's MD5, which it returns (hex). The caller says how it ended down the pipe
/// (`PipeWriter::end`), so the upload sends the last bytes of its form only for
/// verified bytes.
pub async fn download_into(
    client: &Client,
    blob: &Blob,
    pipe: PipeWriter,
) -> anyhow::Result<String> {
    let url = client.download_location(&blob.uid).await?;
    let mut sink = Sink::pipe(pipe);
    // The upload reports the progress: these bytes are the ones it sends.
    let etag = fetch(client, &url, blob.size, &mut sink, &NoEvents).await?;
    let (done, _) = verify(sink, etag, blob.size)
        .await?
        .map_err(Mismatch::into_error)?;
    Ok(done.md5)
}

/// `--force` without `--continue`: an earlier run's `TARGET.part` is dropped, but only
/// now that the new download is in place, so that a forced download that fails or is
/// interrupted has not cost the bytes a `-c` could still resume from. A symlink there
/// is left alone, as it is everywhere else.
fn drop_old_part(target: &Path) {
    let part = part_path(target);
    if std::fs::symlink_metadata(&part).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::remove_file(&part);
    }
}

async fn to_file(
    client: &Client,
    url: &Url,
    blob: &Blob,
    path: &Path,
    options: DownloadOptions,
    events: &dyn FileEvents,
    cancel: &CancellationToken,
) -> anyhow::Result<Downloaded> {
    if !options.resume {
        let (file, staging) = Staging::fresh(path)?;
        let done = fetch_into(client, url, blob, Sink::create(file), events, cancel).await;
        // On failure the fresh file goes with `staging`.
        let (done, _file) = done?.map_err(Mismatch::into_error)?;
        staging.place(path, options.force)?;
        if options.force {
            drop_old_part(path);
        }
        return Ok(done);
    }
    let (file, staging) = Staging::part(path, false)?;
    let part = staging.path().to_path_buf();
    let mut sink = Sink::resume(file)
        .await
        .with_context(|| format!("cannot read `{}`", part.display()))?;
    if !sink.is_empty() && blob.size.is_some_and(|size| sink.len() >= size) {
        // Nothing left to ask for, or more than the blob holds: either way the part
        // cannot be trusted to be this blob's, so start over.
        sink.restart().await?;
    }
    let resumed_from = sink.len();
    events.rewound(resumed_from);
    // `_lock` holds the `.part` (and its lock) until it is in place.
    let (done, _lock) = match fetch_into(client, url, blob, sink, events, cancel).await? {
        Ok(done) => done,
        Err(mismatch) if resumed_from > 0 => {
            // The bytes storage sent now match its MD5 only if the ones kept from
            // before do: the `.part` was damaged here, or is another file's. Keep it
            // aside, and fetch the whole blob into a new `.part`.
            let bad = bad_part_path(path);
            std::fs::rename(&part, &bad).with_context(|| {
                format!("cannot move `{}` to `{}`", part.display(), bad.display())
            })?;
            let (file, staging) = Staging::part(path, true)?;
            events.rewound(0);
            let (mut done, lock) =
                fetch_into(client, url, blob, Sink::create(file), events, cancel)
                    .await?
                    .map_err(Mismatch::into_error)?;
            staging.place(path, options.force)?;
            drop(lock);
            done.note = Some(format!(
                "`{}` did not match the blob ({}): it was damaged or belongs to another \
                 file; kept it as `{}` and downloaded the blob again from the start",
                part.display(),
                mismatch.detail(),
                bad.display()
            ));
            return Ok(done);
        }
        Err(mismatch) => return Err(mismatch.into_error()),
    };
    staging.place(path, options.force)?;
    Ok(done)
}

/// Fetches into `sink` and checks what arrived; an MD5 mismatch is given apart, for
/// the caller to judge whose fault it is.
async fn fetch_into(
    client: &Client,
    url: &Url,
    blob: &Blob,
    mut sink: Sink,
    events: &dyn FileEvents,
    cancel: &CancellationToken,
) -> anyhow::Result<Result<(Downloaded, Option<File>), Mismatch>> {
    let fetched = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Interrupted.into()),
        r = fetch(client, url, blob.size, &mut sink, events) => r,
    };
    match fetched {
        Ok(etag) => verify(sink, etag, blob.size).await,
        Err(e) => {
            // Keep every byte that arrived, for the next `--continue` (a fresh file is
            // removed anyway).
            let _ = sink.flush().await;
            Err(e)
        }
    }
}

/// The GET, resumed with `Range` from the bytes already held after a broken
/// connection, 5xx or 429. Returns the object's ETag.
async fn fetch(
    client: &Client,
    url: &Url,
    size: Option<u64>,
    sink: &mut Sink,
    events: &dyn FileEvents,
) -> anyhow::Result<Option<String>> {
    let mut attempt = 0;
    let mut etag: Option<String> = None;
    // The furthest the file has got: only bytes past it are progress. A host that
    // answers a resume from byte 0 and breaks off again does not earn fresh retries.
    let mut furthest = sink.len();
    loop {
        let offset = sink.len();
        let mut req = client.http().get(url.clone());
        if offset > 0 {
            req = req.header(RANGE, format!("bytes={offset}-"));
        }
        client.log_storage_request("GET", url);
        let started = std::time::Instant::now();
        let sent = req.send().await;
        log_answer(client, &sent, started);
        let (err, retry_after) = match sent {
            Ok(resp) if resp.status().is_success() => {
                let this_etag = header_text(&resp, ETAG);
                if etag.is_some() && this_etag != etag && sink.can_restart() {
                    // The object changed between two tries: its earlier bytes are stale.
                    sink.restart().await?;
                    events.rewound(0);
                    etag = None;
                    continue;
                }
                etag = this_etag;
                match receive(resp, url, client.timeout(), offset, size, sink, events).await {
                    Ok(()) => return Ok(etag),
                    Err(Receive::Fatal(e)) => return Err(e),
                    Err(Receive::Broken(e)) => {
                        if sink.len() > furthest {
                            // A flaky link that moves forward keeps its retries.
                            furthest = sink.len();
                            attempt = 0;
                        }
                        (e, None)
                    }
                }
            }
            Ok(resp) => {
                let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
                (
                    storage_error(FETCHING, resp, client.timeout()).await,
                    retry_after,
                )
            }
            Err(source) => (
                transport_error(FETCHING, url, client.timeout(), source),
                None,
            ),
        };
        let again = format!("trying again from byte {}", sink.len());
        back_off(client, &mut attempt, err, retry_after, &again).await?;
    }
}

enum Receive {
    /// The connection broke: worth another try from where it stopped.
    Broken(ApiError),
    /// A local write failed or the answer is wrong: no retry helps.
    Fatal(anyhow::Error),
}

/// Reads one 200 or 206 answer into the sink.
async fn receive(
    resp: Response,
    url: &Url,
    timeout: std::time::Duration,
    offset: u64,
    size: Option<u64>,
    sink: &mut Sink,
    events: &dyn FileEvents,
) -> Result<(), Receive> {
    let fatal = |detail: String| {
        Receive::Fatal(
            ApiError::Decode {
                what: FETCHING.into(),
                detail,
            }
            .into(),
        )
    };
    let local = |e: std::io::Error| Receive::Fatal(anyhow::Error::new(e).context("writing failed"));
    // Bytes of the answer to drop: a 200 to a Range request on stdout, which cannot
    // start over, skips what it already wrote.
    let mut skip = 0u64;
    let start = match resp.status() {
        StatusCode::PARTIAL_CONTENT => {
            let range = header_text(&resp, CONTENT_RANGE).unwrap_or_default();
            match range_start(&range) {
                Some(start) if start == offset => start,
                _ => {
                    return Err(fatal(format!(
                        "asked for bytes from {offset}, got `{range}`"
                    )))
                }
            }
        }
        _ if offset > 0 && sink.can_restart() => {
            sink.restart().await.map_err(local)?;
            events.rewound(0);
            0
        }
        _ => {
            skip = offset;
            0
        }
    };
    if let (Some(len), Some(size)) = (resp.content_length(), size) {
        if start + len != size {
            return Err(fatal(format!(
                "storage holds {} bytes but the blob record says {size}",
                start + len
            )));
        }
    }
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let mut chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => return Err(Receive::Broken(transport_error(FETCHING, url, timeout, e))),
        };
        if skip > 0 {
            let n = skip.min(chunk.len() as u64);
            skip -= n;
            let _ = chunk.split_to(n as usize);
        }
        // Checked before the write: a host that sends on and on past the record's size
        // is cut off at once, not after it has filled the disk.
        if let Some(size) = size {
            if sink.len() + chunk.len() as u64 > size {
                return Err(fatal(format!(
                    "storage sent more than the {size} bytes the blob record says it has"
                )));
            }
        }
        let n = chunk.len() as u64;
        sink.write(chunk).await.map_err(local)?;
        events.advanced(n);
    }
    Ok(())
}

/// `bytes 100-199/200` → 100.
pub(crate) fn range_start(content_range: &str) -> Option<u64> {
    let rest = content_range.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

/// The bytes do not have the MD5 that storage gave.
struct Mismatch {
    md5: String,
    expected: String,
}

impl Mismatch {
    fn detail(&self) -> String {
        format!(
            "the bytes have MD5 `{}` but storage says `{}`",
            self.md5, self.expected
        )
    }

    fn into_error(self) -> anyhow::Error {
        ApiError::Decode {
            what: FETCHING.into(),
            detail: self.detail(),
        }
        .into()
    }
}

/// Size and checksum, after every byte is written. The MD5 is the one of the bytes
/// as they were written, and the file they went to is one nobody else writes (our
/// own exclusive file, or the locked `.part`); its length on disk is checked as well.
async fn verify(
    sink: Sink,
    etag: Option<String>,
    size: Option<u64>,
) -> anyhow::Result<Result<(Downloaded, Option<File>), Mismatch>> {
    let bytes = sink.len();
    let (md5, file) = sink.finish().await.context("writing failed")?;
    let md5 = hex::encode(md5);
    let wrong = |detail: String| ApiError::Decode {
        what: FETCHING.into(),
        detail,
    };
    if let Some(size) = size {
        if bytes != size {
            return Err(wrong(format!("got {bytes} bytes, the blob has {size}")).into());
        }
    }
    if let Some(file) = &file {
        let on_disk = file.metadata().context("writing failed")?.len();
        if on_disk != bytes {
            return Err(anyhow::anyhow!(
                "the file being written holds {on_disk} bytes, not the {bytes} written: \
                 something else changed it"
            ));
        }
    }
    let expected = etag.as_deref().and_then(etag_md5);
    if let Some(expected) = expected.clone() {
        if expected != md5 {
            return Ok(Err(Mismatch { md5, expected }));
        }
    }
    Ok(Ok((
        Downloaded {
            bytes,
            md5,
            md5_verified: expected.is_some(),
            note: None,
        },
        file,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_range() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
        assert_eq!(range_start(""), None);
    }
}
