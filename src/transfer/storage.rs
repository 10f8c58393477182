//! Small things both engines need when talking to the storage (S3) host: reading an
//! answer without trusting its size, turning failures into `ApiError`s, and ETags.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use reqwest::Response;

use super::events::FileEvents;
use crate::api::retry::{retryable_status, worth_retrying};
use crate::api::{ApiError, Client, StorageError};

/// The most of an S3 answer body we read: errors and `PostResponse`s are tiny, and a
/// misbehaving host must not make us hold megabytes.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The start of an answer's body as text; a broken-off body, or one still not done
/// after `within`, gives what arrived.
pub async fn read_capped(mut resp: Response, within: Duration) -> String {
    let mut bytes = Vec::new();
    let read = async {
        while bytes.len() < ANSWER_LIMIT {
            match resp.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(within, read).await;
    bytes.truncate(ANSWER_LIMIT);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A storage host's error answer: the S3 XML error, or the status and raw text.
pub async fn storage_error(what: &str, resp: Response, within: Duration) -> ApiError {
    let status = resp.status().as_u16();
    let text = read_capped(resp, within).await;
    ApiError::Storage {
        what: what.to_string(),
        error: StorageError::parse(status, &text),
    }
}

/// When bytes last moved: an inactivity timeout that a slow but live link never hits.
pub struct Activity {
    started: Instant,
    /// Milliseconds after `started` of the last movement.
    last: AtomicU64,
    /// Milliseconds after `started` when the whole body was handed over, plus one;
    /// 0 while it is not.
    all_sent: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            started: Instant::now(),
            last: AtomicU64::new(0),
            all_sent: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn touch(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The last byte went to the connection. The kernel may still hold megabytes of it
    /// (send buffers grow to 4 MiB on Linux), which a slow link needs a while to
    /// drain before storage can answer, and nothing here can see that happen.
    pub fn all_sent(&self) {
        self.touch();
        self.all_sent.store(self.now_ms() + 1, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`. Once the whole body is handed
    /// over, the wait for the answer gets more room: `AFTER_SENT` times the limit, or
    /// as long as handing the body over took, if longer. With the default 30 s that
    /// lets 4 MiB of kernel buffer drain over a link of 35 KB/s, while a server that
    /// never answers is still given up on.
    pub async fn stalled(&self, limit: Duration) {
        const AFTER_SENT: u32 = 4;
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let idle = self.started.elapsed().saturating_sub(last);
            let allowed = match self.all_sent.load(Ordering::Relaxed) {
                0 => limit,
                at => (limit * AFTER_SENT).max(Duration::from_millis(at - 1)),
            };
            if idle >= allowed {
                return;
            }
            tokio::time::sleep(allowed - idle).await;
        }
    }
}

/// Passes a file's events on, noting each movement as activity.
pub struct Watched {
    inner: Arc<dyn FileEvents>,
    activity: Arc<Activity>,
    total: u64,
    sent: AtomicU64,
}

impl Watched {
    pub fn new(inner: Arc<dyn FileEvents>, activity: Arc<Activity>, total: u64) -> Watched {
        Watched {
            inner,
            activity,
            total,
            sent: AtomicU64::new(0),
        }
    }
}

impl FileEvents for Watched {
    fn advanced(&self, bytes: u64) {
        let sent = self.sent.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if sent >= self.total {
            self.activity.all_sent();
        } else {
            self.activity.touch();
        }
        self.inner.advanced(bytes);
    }
    fn rewound(&self, position: u64) {
        self.inner.rewound(position);
    }
    fn finished(&self) {
        self.inner.finished();
    }
    fn failed(&self) {
        self.inner.failed();
    }
}

/// A presigned URL as it may be shown: where it leads, without the signature.
/// After a failed try at the storage host: waits the backoff (or the server's
/// `Retry-After`) and returns to try again, or gives the error back when it is not
/// worth retrying (a 4xx) or the retries are spent. The API client has its own loop;
/// this one serves the storage POST and GET, which resume and rebuild bodies.
pub async fn back_off(
    client: &Client,
    attempt: &mut u32,
    err: ApiError,
    retry_after: Option<Duration>,
    again: &str,
) -> Result<(), ApiError> {
    let retryable = match &err {
        ApiError::Storage { error, .. } => retryable_status(error.status),
        // A request that cannot be built (a scheme reqwest refuses) never will be,
        // nor will a name that does not resolve or a failed TLS handshake succeed.
        ApiError::Transport { source, .. } => !source.is_builder() && worth_retrying(source),
        _ => true,
    };
    let policy = client.retry_policy();
    if !retryable || *attempt >= policy.retries {
        return Err(err);
    }
    client.log_line(&format!("* {err}; {again}"));
    tokio::time::sleep(policy.delay(*attempt, retry_after)).await;
    *attempt += 1;
    Ok(())
}

/// A response header as text, if it is there and readable.
pub fn header_text(resp: &Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// A request to the storage host that got no (whole) answer.
pub fn transport_error(
    what: &str,
    url: &url::Url,
    timeout: Duration,
    source: reqwest::Error,
) -> ApiError {
    ApiError::Transport {
        what: what.to_string(),
        url: shown_url(url),
        timeout: source.is_timeout().then_some(timeout),
        storage: true,
        // reqwest's own text would show the whole URL, presigned signature included.
        source: source.without_url(),
    }
}

/// The `-v` line for a storage answer, like the API client's.
pub fn log_answer(
    client: &crate::api::Client,
    sent: &Result<reqwest::Response, reqwest::Error>,
    started: std::time::Instant,
) {
    let ms = started.elapsed().as_millis();
    match sent {
        Ok(resp) => client.log_line(&format!("< {} ({ms} ms)", resp.status())),
        Err(e) => {
            // reqwest's text holds the whole URL: keep the presigned signature out.
            let text = match e.url() {
                Some(url) => e.to_string().replace(url.as_str(), &shown_url(url)),
                None => e.to_string(),
            };
            client.log_line(&format!("< {text} ({ms} ms)"))
        }
    }
}

/// The MD5 inside an ETag (`"9e10…"`, `W/"…"`), lowercase; `None` for the ETags of
/// multipart or encrypted objects, which are not a checksum of the content.
pub fn etag_md5(etag: &str) -> Option<String> {
    let tag = etag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag.trim_matches('"');
    (tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| tag.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn silence_is_judged_by_the_limit_then_by_the_time_the_body_took() {
        let ms = Duration::from_millis;
        let activity = Activity::new();
        tokio::time::sleep(ms(150)).await;
        activity.touch();
        let started = Instant::now();
        activity.stalled(ms(200)).await;
        assert!(started.elapsed() >= ms(195) && started.elapsed() < ms(1000));

        let activity = Activity::new();
        activity.all_sent();
        let started = Instant::now();
        activity.stalled(ms(100)).await;
        assert!(started.elapsed() >= ms(395), "{:?}", started.elapsed());

        let activity = Activity::new();
        tokio::time::sleep(ms(600)).await;
        activity.all_sent();
        let started = Instant::now();
        activity.stalled(ms(100)).await;
        assert!(started.elapsed() >= ms(590), "{:?}", started.elapsed());
    }

    #[test]
    fn only_plain_md5_etags_are_checksums() {
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        assert_eq!(etag_md5(&format!("\"{md5}\"")).as_deref(), Some(md5));
        assert_eq!(
            etag_md5(&format!("W/\"{}\"", md5.to_uppercase())).as_deref(),
            Some(md5)
        );
        assert_eq!(etag_md5(md5).as_deref(), Some(md5));
        assert_eq!(etag_md5(&format!("\"{md5}-3\"")), None);
        assert_eq!(etag_md5("\"abc\""), None);
        assert_eq!(etag_md5(""), None);
    }
}
