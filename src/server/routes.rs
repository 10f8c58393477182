//! The routers: the API (with `.json` suffixes accepted and every error in the JSON
//! shape of the contract) and the S3 endpoint, on one listener or two.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{from_fn, from_fn_with_state, map_request, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use super::errors::{ApiError, JSON_TYPE};
use super::state::{SharedState, BUCKET};
use super::{auth, blobs, body, login, s3};

/// The app for the API listener; with `with_s3`, it serves the S3 endpoint as well.
pub fn api_app(state: SharedState, with_s3: bool) -> Router {
    let api = Router::new()
        .route(
            "/session",
            post(auth::create).get(auth::show).delete(auth::destroy),
        )
        .route("/login", post(login::login).delete(login::logout))
        .route("/blobs", get(blobs::list).post(blobs::create))
        .route(
            "/blobs/{id}",
            get(blobs::show).put(blobs::update).delete(blobs::delete),
        )
        .route(
            "/blobs/{id}/complete",
            put(blobs::complete).post(blobs::complete),
        )
        .route("/blobs/{id}/object", get(blobs::object))
        .route("/blobs/{id}/download", get(blobs::download))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .layer(from_fn_with_state(state.clone(), auth::session_layer))
        // Every API body is read whole: bounded here for all routes at once (axum's
        // 413, given the contract's shape by `json_errors`).
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES));
    let routes = if with_s3 { api.merge(s3_routes()) } else { api };
    // The suffix is stripped around the whole router: a layer inside it would run
    // only after the route was chosen.
    Router::new()
        .fallback_service(routes.with_state(state))
        .layer(from_fn(json_errors))
        .layer(map_request(strip_json_suffix))
}

/// `app` as browsers may use it from any page, as they may the real service: a
/// preflight `OPTIONS` answered for every route with the methods and headers the JS
/// SDK sends, and `Access-Control-Allow-Origin: *` with the exposed headers on every
/// other answer, errors included (captured responses carry them on 403s too).
pub fn cors(app: Router) -> Router {
    let layer = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
        ])
        // `Range` too: a page resuming a download from the S3 endpoint sends one.
        .allow_headers([
            HeaderName::from_static("cb-token"),
            HeaderName::from_static("cb-sdk"),
            header::CONTENT_TYPE,
            header::RANGE,
        ])
        .expose_headers([
            HeaderName::from_static("cb-token-expirationdate"),
            header::DATE,
        ]);
    app.layer(layer)
}

/// The app for a separate S3 listener.
pub fn s3_app(state: SharedState) -> Router {
    s3_routes().fallback(s3::no_such_bucket).with_state(state)
}

fn s3_routes() -> Router<SharedState> {
    Router::new()
        .route(
            &format!("/{BUCKET}"),
            // Uploads are limited by `--max-size` while they stream, not by axum.
            post(s3::post_object).layer(DefaultBodyLimit::disable()),
        )
        .route(&format!("/{BUCKET}/{{key}}"), get(s3::get_object))
        .method_not_allowed_fallback(s3::method_not_allowed)
}

async fn no_route() -> ApiError {
    ApiError::NoRoute
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Marks a request whose path had the `.json` suffix: `GET /blobs/{uid}.json` answers
/// the record as JSON where `GET /blobs/{uid}` redirects to the bytes.
#[derive(Debug, Clone, Copy)]
pub struct JsonSuffix;

/// `/blobs/7/complete.json` → `/blobs/7/complete`: the JS and Android SDKs add the
/// suffix, Flutter and the docs do not.
async fn strip_json_suffix(mut req: Request) -> Request {
    if let Some(uri) = without_json_suffix(req.uri()) {
        *req.uri_mut() = uri;
        req.extensions_mut().insert(JsonSuffix);
    }
    req
}

fn without_json_suffix(uri: &Uri) -> Option<Uri> {
    let stripped = uri.path().strip_suffix(".json")?;
    let is_api = stripped == "/session"
        || stripped == "/login"
        || stripped == "/blobs"
        || stripped.starts_with("/blobs/");
    if !is_api {
        return None;
    }
    let path_and_query = match uri.query() {
        Some(query) => format!("{stripped}?{query}"),
        None => stripped.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// Any error that leaves the API without a JSON or XML body (axum's own rejections:
/// a body over the size limit, an undecodable path) gets the contract's shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json") || ct.contains("xml"));
    if typed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = json!({"errors": {"base": [message]}}).to_string();
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(uri: &str) -> Option<String> {
        without_json_suffix(&uri.parse().unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn strips_the_suffix_from_api_paths_only() {
        assert_eq!(strip("/session.json").as_deref(), Some("/session"));
        assert_eq!(
            strip("/blobs.json?page=2").as_deref(),
            Some("/blobs?page=2")
        );
        assert_eq!(
            strip("/blobs/7/complete.json").as_deref(),
            Some("/blobs/7/complete")
        );
        assert_eq!(strip("/blobs/7"), None);
        assert_eq!(strip(&format!("/{BUCKET}/a.json")), None);
    }
}
