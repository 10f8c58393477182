//! What a matched rule answers: an error in the route's own dialect, or a body that
//! breaks partway, as a connection that drops would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::json;

use super::plan::Route;
use crate::server::errors::{json_response, ApiError, S3Error};

/// How long a cut body waits, after its last byte, before it breaks.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// The error answer of a `status` rule, as the real host would word it.
pub(super) fn refusal(route: Route, status: StatusCode, retry_after: Option<u64>) -> Response {
    let mut response = if route.is_s3() {
        let (code, message) = match (route, status.as_u16()) {
            (Route::S3Post, 403) => (
                "AccessDenied",
                "Invalid according to Policy: Policy expired.",
            ),
            (_, 403) => ("AccessDenied", "Request has expired"),
            (_, 404) => ("NoSuchKey", "The specified key does not exist."),
            (_, 429 | 503) => ("SlowDown", "Please reduce your request rate."),
            (_, 500) => (
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            _ => ("InvalidRequest", "Refused by the fault plan."),
        };
        S3Error::new(status, code, message).into_response()
    } else {
        let body = match status.as_u16() {
            401 => ApiError::SessionMissing.body(),
            403 => ApiError::Forbidden.body(),
            404 => ApiError::NotFound.body(),
            _ => json!({"errors": {"base": [status.canonical_reason().unwrap_or("Error")]}}),
        };
        json_response(status, &body)
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// An answer whose body fails before its first byte: hyper then drops the connection
/// without having written the status line, so the client sees a broken connection.
pub(super) fn broken_connection() -> Response {
    let failed = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "cut by the fault plan",
        ))
    });
    Response::new(Body::from_stream(failed))
}

/// `Content-Range: bytes S-E/T` → S; 0 for an answer without one.
pub(super) fn range_start(response: &Response) -> u64 {
    response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Where a cut body stands.
enum Cut {
    /// Passing bytes on, this many more before the break.
    Passing(BodyDataStream, u64),
    /// The budget was spent partway through a chunk: the next poll breaks.
    Breaking,
    Done,
}

/// `body` passed through for `budget` bytes, then an error instead of the rest; `cut`
/// is set when that happens. A body that ends within the budget is not cut.
pub(super) fn cut_off(
    body: Body,
    budget: u64,
    cut: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let broken = |cut: Arc<AtomicBool>| async move {
        // hyper drops what it has buffered when a body fails: give it a moment to
        // flush, so the bytes before the break arrive, as on a link that carried them.
        tokio::time::sleep(FLUSH_PAUSE).await;
        cut.store(true, Ordering::SeqCst);
        std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut by the fault plan")
    };
    let start = Cut::Passing(body.into_data_stream(), budget);
    futures_util::stream::unfold(start, move |state| {
        let cut = cut.clone();
        async move {
            match state {
                Cut::Done => None,
                Cut::Breaking => Some((Err(broken(cut).await), Cut::Done)),
                Cut::Passing(mut stream, left) => {
                    let mut chunk = match stream.next().await? {
                        Ok(chunk) => chunk,
                        Err(err) => return Some((Err(std::io::Error::other(err)), Cut::Done)),
                    };
                    let len = chunk.len() as u64;
                    if len <= left {
                        Some((Ok(chunk), Cut::Passing(stream, left - len)))
                    } else if left == 0 {
                        Some((Err(broken(cut).await), Cut::Done))
                    } else {
                        // What fits goes out now; the next poll breaks the connection.
                        chunk.truncate(left as usize);
                        Some((Ok(chunk), Cut::Breaking))
                    }
                }
            }
        }
    })
}

/// The most a throttled body passes on at once: a tenth of a second's worth, so that
/// its pace is even rather than a burst a second.
fn throttle_piece(bytes_per_sec: u64) -> usize {
    (bytes_per_sec / 10).clamp(1, 64 * 1024) as usize
}

/// `body` at most `bytes_per_sec` bytes a second: each piece waits until the link
/// has carried the one before it. Time the link stood idle (a slow sender, a stalled
/// task) is not made up later with a burst: no stretch of time carries more than a
/// link of that speed would, and a piece.
pub(super) fn throttled(
    body: Body,
    bytes_per_sec: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Pace {
        stream: BodyDataStream,
        pending: Bytes,
        /// When the link has carried the last piece passed on.
        free_at: tokio::time::Instant,
    }
    let start = Pace {
        stream: body.into_data_stream(),
        pending: Bytes::new(),
        free_at: tokio::time::Instant::now(),
    };
    futures_util::stream::unfold(start, move |mut pace| async move {
        if pace.pending.is_empty() {
            match pace.stream.next().await? {
                Ok(chunk) => pace.pending = chunk,
                Err(err) => return Some((Err(std::io::Error::other(err)), pace)),
            }
        }
        let take = pace.pending.len().min(throttle_piece(bytes_per_sec));
        let piece = pace.pending.split_to(take);
        // The link takes the piece when both are ready.
        let at = tokio::time::Instant::now().max(pace.free_at);
        tokio::time::sleep_until(at).await;
        pace.free_at = at + Duration::from_secs_f64(take as f64 / bytes_per_sec as f64);
        Some((Ok(piece), pace))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn refusals_speak_the_route_dialect() {
        let api = refusal(Route::Info, StatusCode::UNAUTHORIZED, None);
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        assert!(api.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("json"));
        let s3 = refusal(Route::S3Post, StatusCode::TOO_MANY_REQUESTS, Some(2));
        assert_eq!(s3.headers()[header::RETRY_AFTER], "2");
        assert_eq!(s3.headers()[header::CONTENT_TYPE], "application/xml");
    }

    async fn collect(body: Body, budget: u64) -> (Vec<u8>, bool, bool) {
        let cut = Arc::new(AtomicBool::new(false));
        let mut stream = Box::pin(cut_off(body, budget, cut.clone()));
        let (mut bytes, mut failed) = (Vec::new(), false);
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(_) => failed = true,
            }
        }
        (bytes, failed, cut.load(Ordering::SeqCst))
    }

    fn chunks(sizes: &[usize]) -> Body {
        let items: Vec<Result<Bytes, std::io::Error>> = sizes
            .iter()
            .map(|&n| Ok(Bytes::from(vec![b'x'; n])))
            .collect();
        Body::from_stream(futures_util::stream::iter(items))
    }

    #[tokio::test]
    async fn bodies_break_after_the_budget_and_not_before() {
        assert_eq!(
            collect(chunks(&[4, 4, 4]), 6).await,
            (vec![b'x'; 6], true, true)
        );
        assert_eq!(
            collect(chunks(&[4, 4]), 4).await,
            (vec![b'x'; 4], true, true)
        );
        assert_eq!(collect(chunks(&[4, 4]), 0).await, (vec![], true, true));
        // A body that ends within the budget, or exactly at it, arrives whole.
        assert_eq!(
            collect(chunks(&[4, 4]), 8).await,
            (vec![b'x'; 8], false, false)
        );
        assert_eq!(
            collect(chunks(&[4]), 100).await,
            (vec![b'x'; 4], false, false)
        );
    }

    #[tokio::test]
    async fn a_throttled_body_arrives_whole_and_no_faster_than_its_pace() {
        let started = tokio::time::Instant::now();
        let mut stream = Box::pin(throttled(chunks(&[3000, 2000]), 20_000));
        let mut bytes = 0;
        while let Some(item) = stream.next().await {
            let piece = item.unwrap();
            assert!(piece.len() <= 2000);
            bytes += piece.len();
        }
        assert_eq!(bytes, 5000);
        // Pieces of 2000, 1000 and 2000 bytes: the last is due once 3000 went by at
        // 20000 B/s. A lower bound, which a slow machine cannot break.
        assert!(started.elapsed() >= Duration::from_millis(145));
    }

    #[tokio::test]
    async fn a_throttled_body_makes_up_no_time_its_sender_stood_idle() {
        // 2000 bytes, then nothing for 300 ms, then 6000: at 20000 B/s a link carries
        // the 6000 in three pieces 100 ms apart, however long it stood idle before.
        let late = futures_util::stream::unfold(0, |sent| async move {
            match sent {
                0 => Some((Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 2000])), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some((Ok(Bytes::from(vec![b'x'; 6000])), 2))
                }
                _ => None,
            }
        });
        let mut stream = Box::pin(throttled(Body::from_stream(late), 20_000));
        let mut came = Vec::new();
        while let Some(item) = stream.next().await {
            came.push((item.unwrap().len(), tokio::time::Instant::now()));
        }
        assert_eq!(came.iter().map(|(n, _)| n).sum::<usize>(), 8000);
        // Caught up, the last three pieces would come at once after the pause.
        let (_, first_late) = came[1];
        let (_, last) = came[came.len() - 1];
        assert!(last - first_late >= Duration::from_millis(195));
    }

    #[test]
    fn ranged_answers_count_from_the_object_start() {
        let mut response = Response::new(Body::empty());
        assert_eq!(range_start(&response), 0);
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes 500-999/1000"),
        );
        assert_eq!(range_start(&response), 500);
    }
}
