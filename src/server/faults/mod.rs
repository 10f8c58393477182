//! A fault plan, for tests only and off unless `cubeblob serve --faults FILE` (or
//! `CUBEBLOB_SERVE_FAULTS`) names one: per route, some requests are answered with an
//! error status, have their connection cut partway through a body, or are answered
//! late. The test suite uses it to prove what the client does when the network and
//! the API misbehave. The plan can also log every request with its headers, so that
//! a test can see what reached which route (a token sent to storage, say).
//!
//! The file is JSON:
//! ```json
//! {"log": "/tmp/requests.jsonl",
//!  "rules": [{"route": "s3_post", "first": 2, "status": 503},
//!            {"route": "list", "every": 3, "status": 429, "retry_after": 2},
//!            {"route": "s3_get", "first": 3, "cut_after": 500000},
//!            {"route": "create", "skip": 10, "first": 1, "status": 401, "end_session": true},
//!            {"route": "complete", "delay_ms": 3000},
//!            {"route": "s3_post", "bytes_per_sec": 262144}]}
//! ```
//! Every rule counts every request to its route; a rule matches the first N of them
//! (`first`), every Kth (`every`), or all, after letting `skip` through. The first rule
//! of a route that matches acts.

mod answer;
mod plan;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;

use super::db::Db;
use answer::{broken_connection, cut_off, range_start, refusal, throttled};
pub use plan::FaultPlan;
use plan::{Action, Route};

/// How much of a refused request's body is read and dropped, so that a client still
/// sending reads the answer rather than a reset connection (as `s3.rs` does).
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

struct Faults {
    plan: Arc<FaultPlan>,
    db: Db,
}

/// `app` with the plan in front of it, or `app` as it is without one.
pub fn wrap(app: Router, plan: Option<Arc<FaultPlan>>, db: Db) -> Router {
    match plan {
        Some(plan) => app.layer(from_fn_with_state(Arc::new(Faults { plan, db }), apply)),
        None => app,
    }
}

async fn apply(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let Some(route) = Route::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let action = faults.plan.action_for(route);
    faults.plan.log(route, &req, action);
    match action {
        None => next.run(req).await,
        Some(Action::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(req).await
        }
        Some(Action::Status {
            status,
            retry_after,
            end_session,
        }) => {
            if end_session {
                if let Some(token) = super::auth::token_of(&req) {
                    let _ = faults.db.delete_session(&token).await;
                }
            }
            let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await;
            refusal(route, status, retry_after)
        }
        Some(Action::Throttle { bytes_per_sec }) if route == Route::S3Post => {
            let (parts, body) = req.into_parts();
            let body = Body::from_stream(throttled(body, bytes_per_sec));
            next.run(Request::from_parts(parts, body)).await
        }
        Some(Action::Throttle { bytes_per_sec }) => {
            let (parts, body) = next.run(req).await.into_parts();
            Response::from_parts(parts, Body::from_stream(throttled(body, bytes_per_sec)))
        }
        Some(Action::Cut { after }) if route == Route::S3Post => {
            let cut = Arc::new(AtomicBool::new(false));
            let (parts, body) = req.into_parts();
            let body = Body::from_stream(cut_off(body, after, cut.clone()));
            let response = next.run(Request::from_parts(parts, body)).await;
            if cut.load(Ordering::SeqCst) {
                broken_connection()
            } else {
                response
            }
        }
        Some(Action::Cut { after }) => {
            let response = next.run(req).await;
            let budget = after.saturating_sub(range_start(&response));
            let (parts, body) = response.into_parts();
            let body = Body::from_stream(cut_off(body, budget, Arc::new(AtomicBool::new(false))));
            Response::from_parts(parts, body)
        }
    }
}
