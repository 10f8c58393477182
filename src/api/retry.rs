//! When and how long to wait before trying a safe request again: exponential backoff
//! with jitter, honouring `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// How many times to retry, and how long to wait between tries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub retries: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base: Duration::from_millis(250),
            max: Duration::from_secs(8),
        }
    }

    /// The wait before retry number `attempt` (from 0): the server's `Retry-After` when
    /// it gave one (capped at a minute), else base·2^attempt with jitter, capped at max.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(Duration::from_secs(60));
        }
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = exp / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }
}

/// Whether a status is worth another try: 5xx and 429, but not 507 (a full disk
/// stays full for the seconds a retry waits).
pub fn retryable_status(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && status != 507)
}

/// Why a request got no answer: each calls for its own words, hint and retry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The host name does not resolve: a typo or no network; retrying changes nothing.
    Resolve,
    /// Nothing listens at the address: a server that is not running.
    Refused,
    /// No answer in time.
    Timeout,
    /// The TLS handshake failed: not https at that address, or an untrusted certificate.
    Tls,
    /// Another connection failure, or a connection that broke.
    Other,
}

impl Failure {
    /// Reads the error chain. hyper-util names a resolver failure `dns error`; rustls
    /// errors reach us as `InvalidData` I/O errors of the connect step (io::Error
    /// hides its inner error from `source()`, hence `get_ref`).
    pub fn of(err: &reqwest::Error) -> Failure {
        if err.is_timeout() {
            return Failure::Timeout;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cause {
            if e.to_string() == "dns error" {
                return Failure::Resolve;
            }
            let mut io = e.downcast_ref::<std::io::Error>();
            while let Some(inner) = io {
                match inner.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Failure::Refused,
                    std::io::ErrorKind::InvalidData if err.is_connect() => return Failure::Tls,
                    std::io::ErrorKind::TimedOut => return Failure::Timeout,
                    _ => {}
                }
                io = inner
                    .get_ref()
                    .and_then(|i| (i as &(dyn std::error::Error + 'static)).downcast_ref());
            }
            cause = e.source();
        }
        Failure::Other
    }
}

/// Whether a request failed because nothing listens at the address: a server that
/// is not running, which no amount of retrying brings back within a command's life.
pub fn is_refused(err: &reqwest::Error) -> bool {
    Failure::of(err) == Failure::Refused
}

/// Whether a failure is worth another try at all: a name that does not resolve now
/// will not in the second of a backoff (five tries of it were seconds of silence),
/// nor will a server that does not speak TLS, or whose certificate is not trusted.
pub fn worth_retrying(err: &reqwest::Error) -> bool {
    !matches!(Failure::of(err), Failure::Resolve | Failure::Tls)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and ignored).
pub fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy::new(5);
        for attempt in 0..20 {
            let d = p.delay(attempt, None);
            let exp = (p.base * 2u32.pow(attempt.min(16))).min(p.max);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = reqwest::Client::new();
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(is_refused(&err), "{err:?}");
        let err = client.get("http://[::1").send().await.unwrap_err();
        assert!(!is_refused(&err), "{err:?}");
    }

    #[tokio::test]
    async fn a_name_under_invalid_fails_to_resolve_and_is_not_retried() {
        // `.invalid` never resolves (RFC 6761): no network needed, none used.
        let err = reqwest::Client::new()
            .get("http://cubeblob-test.invalid/")
            .send()
            .await
            .unwrap_err();
        assert_eq!(Failure::of(&err), Failure::Resolve, "{err:?}");
        assert!(!worth_retrying(&err));
    }

    #[tokio::test]
    async fn https_to_a_plain_http_port_is_a_tls_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut conn, _)) = listener.accept() {
                let _ = conn.read(&mut [0u8; 512]);
                let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let err = reqwest::Client::new()
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(Failure::of(&err), Failure::Tls, "{err:?}");
    }

    #[test]
    fn only_server_trouble_is_retried() {
        assert!(retryable_status(503));
        assert!(retryable_status(429));
        assert!(!retryable_status(404));
        assert!(!retryable_status(401));
        assert!(!retryable_status(507));
    }
}
