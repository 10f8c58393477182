//! The fake's hostile side: answers that never end, pages that repeat, redirects to
//! somewhere that is not HTTP, a storage GET that sends more than the blob holds or
//! waits on the test. Every body is made lazily and counted in `FakeState::served`, so
//! a test can tell how much the client actually took before it hung up.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use md5::{Digest, Md5};

use super::FakeState;

/// `GET /blobs/{HUGE_ID}` answers 200 with a JSON body of `ENDLESS` bytes.
pub const HUGE_ID: u64 = 900_001;
/// `GET /blobs/{HUGE_404_ID}` answers 404 with an error body of `ENDLESS` bytes.
pub const HUGE_404_ID: u64 = 900_002;
/// How far an "endless" body goes: far more than any client should hold.
pub const ENDLESS: u64 = 200 * 1024 * 1024;

#[derive(Default)]
pub struct Plan {
    /// Every list page is an endless JSON body.
    pub huge_list: bool,
    /// Every list page holds these records, and says this `total_entries` and
    /// `per_page` (else the number of records).
    pub repeat_page: Option<(Vec<serde_json::Value>, Option<u64>, Option<u64>)>,
    /// List pages served so far.
    pub pages_served: u64,
    /// Where `/blobs/{uid}/download` redirects instead of storage.
    pub redirect_to: Option<String>,
    pub storage: Storage,
    /// Storage GETs seen by the hostile modes.
    pub storage_gets: u64,
    /// `Storage::Gated`: the first GET sent its first half.
    pub half_sent: bool,
    /// `Storage::Gated`: the first GET may send the rest.
    pub gate_open: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    #[default]
    Normal,
    /// A 200 with no length whose body repeats the blob's bytes for `ENDLESS` bytes.
    Endless,
    /// The first GET sends half the bytes, then waits for `gate_open`; later GETs send
    /// their headers and then nothing, for a minute.
    Gated,
    /// Every GET answers 200 from byte 0 whatever its `Range`, and breaks off after
    /// 1,000 bytes, then 500, then 1,000 again…; after 40 GETs it sends the whole.
    SeesawCuts,
}

/// A body of `head`, then `fill` repeated for `ENDLESS` bytes, then `tail`, made as
/// it is read.
fn endless(state: &Arc<FakeState>, head: &str, fill: &[u8], tail: &str) -> Body {
    let chunk = Bytes::from(fill.repeat((64 * 1024 / fill.len()).max(1)));
    let pieces = [Bytes::from(head.to_string())]
        .into_iter()
        .chain(std::iter::repeat_n(
            chunk.clone(),
            (ENDLESS / chunk.len() as u64) as usize,
        ))
        .chain([Bytes::from(tail.to_string())]);
    let state = state.clone();
    let stream = futures_util::stream::iter(pieces.map(move |piece| {
        state.served.fetch_add(piece.len() as u64, Ordering::SeqCst);
        Ok::<Bytes, std::io::Error>(piece)
    }));
    Body::from_stream(stream)
}

/// The hostile answers of `GET /blobs/{key}`, if `key` asks for one.
pub fn info(s: &Arc<FakeState>, key: &str) -> Option<Response> {
    let key = key.trim_end_matches(".json");
    let (status, head) = if key == HUGE_ID.to_string() {
        (StatusCode::OK, r#"{"blob":{"id":1,"uid":"u","name":""#)
    } else if key == HUGE_404_ID.to_string() {
        (StatusCode::NOT_FOUND, r#"{"errors":["not found "#)
    } else {
        return None;
    };
    let body = endless(s, head, b"a", r#""}}"#);
    Some(
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .unwrap(),
    )
}

/// `GET /blobs`: an endless page, or the same page again and again.
pub async fn list(State(s): State<Arc<FakeState>>) -> Response {
    let mut plan = s.hostile.lock().unwrap();
    plan.pages_served += 1;
    if plan.huge_list {
        drop(plan);
        let head = r#"{"current_page":1,"per_page":100,"items":["#;
        let item = br#"{"blob":{"id":1,"uid":"u","name":"n","blob_status":"complete"}},"#;
        let body = endless(
            &s,
            head,
            item,
            r#"{"blob":{"id":2,"uid":"v","name":"m"}}]}"#,
        );
        return Response::builder()
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
    }
    let Some((items, total, per_page)) = plan.repeat_page.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A bound, so that a client without the fix ends too, after ten thousand pages.
    let items = if plan.pages_served > 10_000 {
        vec![]
    } else {
        items
    };
    let per_page = per_page.unwrap_or(items.len().max(1) as u64);
    let mut page = serde_json::json!({"current_page": 1, "per_page": per_page,
        "items": items.iter().map(|b| serde_json::json!({"blob": b})).collect::<Vec<_>>()});
    if let Some(total) = total {
        page["total_entries"] = total.into();
    }
    axum::Json(page).into_response()
}

/// The hostile storage GETs, when the plan asks for one.
pub async fn storage_get(
    s: &Arc<FakeState>,
    data: &[u8],
    _headers: &HeaderMap,
) -> Option<Response> {
    let mode = {
        let mut plan = s.hostile.lock().unwrap();
        if plan.storage == Storage::Normal {
            return None;
        }
        plan.storage_gets += 1;
        (plan.storage, plan.storage_gets)
    };
    let etag = format!("\"{}\"", hex::encode(Md5::digest(data)));
    let resp = Response::builder()
        .header("etag", etag)
        .header("content-type", "application/octet-stream");
    let body = match mode {
        (Storage::Endless, _) => endless(s, "", data, ""),
        (Storage::Gated, 1) => {
            let half = data.len() / 2;
            let (head, rest) = (
                Bytes::from(data[..half].to_vec()),
                Bytes::from(data[half..].to_vec()),
            );
            let state = s.clone();
            let stream = futures_util::stream::unfold(0, move |step| {
                let (head, rest, state) = (head.clone(), rest.clone(), state.clone());
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(head), 1)),
                        1 => {
                            state.hostile.lock().unwrap().half_sent = true;
                            wait_for(|| state.hostile.lock().unwrap().gate_open).await;
                            Some((Ok(rest), 2))
                        }
                        _ => None,
                    }
                }
            });
            let resp = resp.header("content-length", data.len());
            return Some(resp.body(Body::from_stream(stream)).unwrap());
        }
        (Storage::Gated, _) => {
            let stream = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<Bytes, std::io::Error>(Bytes::new())
            });
            let resp = resp.header("content-length", data.len());
            return Some(resp.body(Body::from_stream(stream)).unwrap());
        }
        (Storage::SeesawCuts, n) if n <= 40 => {
            let cut = if n % 2 == 1 { 1000 } else { 500 };
            let head = Bytes::from(data[..cut.min(data.len())].to_vec());
            // The break waits a moment, or the head would be dropped with the connection.
            let stream = futures_util::stream::iter([Ok::<Bytes, std::io::Error>(head)]).chain(
                futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(std::io::Error::other("cut by the test"))
                }),
            );
            let resp = resp.header("content-length", data.len());
            return Some(resp.body(Body::from_stream(stream)).unwrap());
        }
        (Storage::SeesawCuts, _) => {
            let resp = resp.header("content-length", data.len());
            return Some(resp.body(Body::from(data.to_vec())).unwrap());
        }
        (Storage::Normal, _) => unreachable!(),
    };
    Some(resp.body(body).unwrap())
}

/// Waits until `ready` holds, for a minute at most.
async fn wait_for(ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
