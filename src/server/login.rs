//! `POST /login` and `DELETE /login` (the JS SDK's `auth.login` and `auth.logout`):
//! the session of the token turns into a user's session, or back into the
//! application's. The token stays the same; only who it acts for changes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;

use super::auth::{authenticate, refuse_providers, user_json, Caller};
use super::body;
use super::errors::{json_response, ApiError};
use super::state::SharedState;

/// `POST /login` with `login` (or `email`) and `password`, flat as the JS SDK sends
/// them or nested under `user`: 202 `{"user": {...}}`, the QuickBlox lineage's status.
pub async fn login(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let session_id = caller.session()?.id;
    let params = body::parse(&headers, &bytes)?;
    refuse_providers(&params)?;
    let user = authenticate(&state, body::section(&params, "user")).await?;
    let (user_id, now) = (user.id, chrono::Utc::now().timestamp());
    state
        .db
        .set_session_user(session_id, Some(user_id), now)
        .await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"user": user_json(&user)}),
    ))
}

/// `DELETE /login`: the session goes on as the application's; 200, empty.
pub async fn logout(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let session_id = caller.session()?.id;
    let now = chrono::Utc::now().timestamp();
    state.db.set_session_user(session_id, None, now).await?;
    Ok(StatusCode::OK.into_response())
}
