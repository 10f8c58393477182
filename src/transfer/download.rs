//! The download of one blob: the API's 301 followed by hand, then a GET on the storage
//! host with no credential, into `TARGET.part`, resumed with `Range` after a broken
//! connection, checked for size and MD5, and only then renamed into place.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, ETAG, RANGE, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::events::{Events, FileEvents};
use super::sink::Sink;
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
}

/// `TARGET.part`: beside the target, so the final rename stays on one file system.
pub fn part_path(target: &Path) -> PathBuf {
    let mut name: OsString = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

/// The refusal to replace an existing file, for callers to check before any request.
pub fn refuse_existing(target: &Path) -> InputError {
    InputError::Invalid(format!(
        "`{}` already exists\nhint: pass `--force` to replace it, or `-o PATH` to choose another",
        target.display()
    ))
}

/// Downloads `blob` (a record from `Client::resolve`) to `target`.
pub async fn download(
    client: &Client,
    blob: &Blob,
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
    let url = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(Interrupted.into()),
        r = client.download_location(&blob.uid) => r?,
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
                Ok(etag) => verify(sink, etag, blob.size).await,
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

async fn to_file(
    client: &Client,
    url: &Url,
    blob: &Blob,
    path: &Path,
    options: DownloadOptions,
    events: &dyn FileEvents,
    cancel: &CancellationToken,
) -> anyhow::Result<Downloaded> {
    let part = part_path(path);
    let open = if options.resume {
        Sink::resume(&part).await
    } else {
        Sink::create(&part).await
    };
    let mut sink = open.with_context(|| format!("cannot write `{}`", part.display()))?;
    if !sink.is_empty() && blob.size.is_some_and(|size| sink.len() >= size) {
        // Nothing left to ask for, or more than the blob holds: either way the part
        // cannot be trusted to be this blob's, so start over.
        sink.restart().await?;
    }
    events.rewound(sink.len());
    let fetched = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Interrupted.into()),
        r = fetch(client, url, blob.size, &mut sink, events) => r,
    };
    let result = match fetched {
        Ok(etag) => match verify(sink, etag, blob.size).await {
            Ok(done) => place(&part, path, options.force).map(|()| done),
            Err(e) => {
                // Bytes known to be wrong are no use to a resume either.
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        },
        Err(e) => {
            if options.resume {
                // Keep every byte that arrived for the next `--continue`.
                let _ = sink.flush().await;
            }
            Err(e)
        }
    };
    if result.is_err() && !options.resume {
        let _ = std::fs::remove_file(&part);
    }
    result
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
                let before = sink.len();
                match receive(resp, url, client.timeout(), offset, size, sink, events).await {
                    Ok(()) => return Ok(etag),
                    Err(Receive::Fatal(e)) => return Err(e),
                    Err(Receive::Broken(e)) => {
                        if sink.len() > before {
                            // A flaky link that moves forward keeps its retries.
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
        sink.write(&chunk).await.map_err(local)?;
        events.advanced(chunk.len() as u64);
    }
    Ok(())
}

/// `bytes 100-199/200` → 100.
pub(crate) fn range_start(content_range: &str) -> Option<u64> {
    let rest = content_range.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

/// Size and checksum, after every byte is written.
async fn verify(sink: Sink, etag: Option<String>, size: Option<u64>) -> anyhow::Result<Downloaded> {
    let bytes = sink.len();
    let md5 = hex::encode(sink.finish().await.context("writing failed")?);
    let wrong = |detail: String| ApiError::Decode {
        what: FETCHING.into(),
        detail,
    };
    if let Some(size) = size {
        if bytes != size {
            return Err(wrong(format!("got {bytes} bytes, the blob has {size}")).into());
        }
    }
    let expected = etag.as_deref().and_then(etag_md5);
    if let Some(expected) = &expected {
        if *expected != md5 {
            return Err(wrong(format!(
                "the bytes have MD5 `{md5}` but storage says `{expected}`"
            ))
            .into());
        }
    }
    Ok(Downloaded {
        bytes,
        md5,
        md5_verified: expected.is_some(),
    })
}

/// The verified part becomes the target.
fn place(part: &Path, target: &Path, force: bool) -> anyhow::Result<()> {
    // Checked again: the file may have appeared while the bytes were on their way.
    if !force && target.exists() {
        let _ = std::fs::remove_file(part);
        return Err(refuse_existing(target).into());
    }
    std::fs::rename(part, target)
        .with_context(|| format!("cannot move `{}` to `{}`", part.display(), target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_file_sits_beside_the_target() {
        assert_eq!(
            part_path(Path::new("dir/a.bin")),
            PathBuf::from("dir/a.bin.part")
        );
        assert_eq!(part_path(Path::new("a")), PathBuf::from("a.part"));
    }

    #[test]
    fn reads_content_range() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
        assert_eq!(range_start(""), None);
    }
}
