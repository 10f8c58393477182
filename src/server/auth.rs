//! Sessions: `POST/GET/DELETE /session`, and the layer that finds the caller of
//! every API request from its token (`CB-Token` or `?token=`), slides the token's
//! expiry and stamps `CB-Token-ExpirationDate` on the answer.
//!
//! Users have logins only; `user[email]` is looked up as a login too, so a user
//! created as `--user alice@example.com:pw` can log in by email. Guest sessions make a
//! user of their own that lasts a day; logins through a provider (Facebook, Firebase)
//! are refused, as the local server cannot check the provider's tokens.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::body::{self, lenient_u64, scalar_text};
use super::db::{NewSession, SessionRow, UserRow};
use super::errors::{json_response, ApiError};
use super::password;
use super::state::{expiration_header, iso, millis, now_ms, SharedState};
use crate::crypto::{constant_time_eq, legacy_session_signature};

const TOKEN_HEADER: &str = "cb-token";
const EXPIRATION_HEADER: &str = "cb-token-expirationdate";

/// How long a guest user lasts, as on the real service.
const GUEST_LIFETIME_SECS: i64 = 24 * 3600;

/// How far a legacy signature's timestamp may be from our clock.
const TIMESTAMP_WINDOW_SECS: i64 = 3600;

/// Who is calling, as the session layer found out.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No token at all.
    Anonymous,
    /// A token that is unknown or expired.
    BadToken,
    Session(SessionRow),
}

impl Caller {
    pub fn session(&self) -> Result<&SessionRow, ApiError> {
        match self {
            Caller::Anonymous => Err(ApiError::TokenRequired),
            Caller::BadToken => Err(ApiError::SessionMissing),
            Caller::Session(session) => Ok(session),
        }
    }

    /// The user behind the session; application sessions may not write.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        self.session()?.user_id.ok_or(ApiError::NeedUser)
    }
}

/// Put on a response whose request ended its own session, so no expiry is stamped.
#[derive(Debug, Clone, Copy)]
struct SessionEnded;

/// Middleware: resolves the caller, and stamps the sliding expiry on the answer.
pub async fn session_layer(
    State(state): State<SharedState>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = match token_of(&req) {
        None => Caller::Anonymous,
        Some(token) => {
            let ttl = millis(state.token_ttl);
            let now = now_ms();
            let found = state
                .db
                .touch_session(&token, now, now.saturating_add(ttl))
                .await;
            match found {
                Ok(Some(session)) => Caller::Session(session),
                Ok(None) => Caller::BadToken,
                // A lost database is a 503, not a 500.
                Err(err) => return ApiError::from(err).into_response(),
            }
        }
    };
    let expiry = match &caller {
        Caller::Session(session) => Some(session.expires_at_ms),
        _ => None,
    };
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    if let Some(ms) = expiry {
        let ended = response.extensions().get::<SessionEnded>().is_some();
        if !ended && !response.headers().contains_key(EXPIRATION_HEADER) {
            if let Ok(value) = HeaderValue::from_str(&expiration_header(ms)) {
                response.headers_mut().insert(EXPIRATION_HEADER, value);
            }
        }
    }
    response
}

/// The token from `CB-Token`, else from `?token=` (the SDKs' private blob URLs).
pub(super) fn token_of(req: &Request) -> Option<String> {
    let from_header = req
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = from_header {
        return Some(token.to_string());
    }
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `POST /session`: JSON or form, application or user session, legacy signature
/// checked when present.
pub async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let params = body::parse(&headers, &bytes)?;
    let app_id = lenient_u64(params.get("application_id"))
        .map_err(|_| ApiError::invalid("application_id", "is invalid"))?
        .ok_or_else(|| ApiError::invalid("application_id", "can't be blank"))?;
    let auth_key = params
        .get("auth_key")
        .and_then(scalar_text)
        .ok_or_else(|| ApiError::invalid("auth_key", "can't be blank"))?;
    if app_id != state.app_id || !constant_time_eq(auth_key.as_bytes(), state.auth_key.as_bytes()) {
        return Err(ApiError::Unauthorized("Unknown application id or auth key"));
    }
    let now = chrono::Utc::now().timestamp();
    if params.contains_key("signature") {
        check_legacy_signature(&params, &state.auth_secret, now)?;
    }

    refuse_providers(&params)?;
    let user = match params.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::Object(user)) if is_guest(user) => Some(make_guest(&state, user).await?),
        Some(Value::Object(user)) => Some(authenticate(&state, user).await?),
        Some(_) => return Err(ApiError::invalid("user", "is invalid")),
    };

    let token = hex::encode(rand::random::<[u8; 20]>());
    let nonce = lenient_u64(params.get("nonce"))
        .ok()
        .flatten()
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or_else(|| rand::random::<u32>() as i64);
    let ts = lenient_u64(params.get("timestamp"))
        .ok()
        .flatten()
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or(now);
    let mut expires_at_ms = now_ms().saturating_add(millis(state.token_ttl));
    // A guest's session ends with the guest's day at the latest.
    if let Some(end) = user.as_ref().and_then(|u| u.guest_expires_at) {
        expires_at_ms = expires_at_ms.min(end.saturating_mul(1000));
    }
    let user_id = user.as_ref().map(|u| u.id);
    let app_id = app_id as i64;
    let new = NewSession {
        token,
        user_id,
        application_id: app_id,
        nonce,
        ts,
        now,
        expires_at_ms,
    };
    let session = state.db.insert_session(new).await?;
    let mut response = json_response(
        StatusCode::CREATED,
        &json!({"session": session_json(&session, user.as_ref())}),
    );
    if let Ok(value) = HeaderValue::from_str(&expiration_header(session.expires_at_ms)) {
        response.headers_mut().insert(EXPIRATION_HEADER, value);
    }
    Ok(response)
}

/// The legacy HMAC-SHA1 signature over every other parameter, and its timestamp.
fn check_legacy_signature(
    params: &Map<String, Value>,
    secret: &str,
    now: i64,
) -> Result<(), ApiError> {
    let given = params
        .get("signature")
        .and_then(scalar_text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let timestamp = lenient_u64(params.get("timestamp"))
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::invalid("timestamp", "can't be blank"))?;
    let timestamp = i64::try_from(timestamp).unwrap_or(i64::MAX);
    if now.abs_diff(timestamp) > TIMESTAMP_WINDOW_SECS as u64 {
        return Err(ApiError::invalid("base", "Timestamp is out of range"));
    }
    let signed: Vec<(String, String)> = body::flatten(params)
        .into_iter()
        .filter(|(k, _)| k != "signature")
        .collect();
    let expected = legacy_session_signature(secret, &signed);
    if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(ApiError::invalid("base", "Unexpected signature"));
    }
    Ok(())
}

/// A login through a provider (`provider` with `keys`, `firebase_phone`,
/// `firebase_email`) needs that provider's check of its token, which a local server
/// cannot make: refused, so that an app never believes such a login worked.
pub(super) fn refuse_providers(params: &Map<String, Value>) -> Result<(), ApiError> {
    let provider = params
        .get("provider")
        .and_then(scalar_text)
        .filter(|p| !p.is_empty())
        .or_else(|| {
            ["firebase_phone", "firebase_email"]
                .into_iter()
                .find(|k| params.contains_key(*k))
                .map(str::to_string)
        });
    match provider {
        Some(provider) => Err(ApiError::invalid(
            "provider",
            format!(
                "`{}` is not supported by the local server: it cannot check that provider's \
                 tokens; log in with a login and password or as a guest",
                provider.chars().take(40).collect::<String>()
            ),
        )),
        None => Ok(()),
    }
}

/// `"user": {"guest": "1", "full_name": "..."}` (any true value of `guest`).
fn is_guest(user: &Map<String, Value>) -> bool {
    body::lenient_bool(user.get("guest")) == Ok(Some(true))
}

/// A new guest user, valid for a day, with the name it asked for.
async fn make_guest(state: &SharedState, user: &Map<String, Value>) -> Result<UserRow, ApiError> {
    let full_name = user
        .get("full_name")
        .and_then(scalar_text)
        .filter(|n| !n.trim().is_empty());
    if full_name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::invalid(
            "full_name",
            "is too long (maximum is 200 characters)",
        ));
    }
    let login = format!("guest-{}", hex::encode(rand::random::<[u8; 8]>()));
    let now = chrono::Utc::now().timestamp();
    let row = state
        .db
        .insert_guest(&login, full_name.as_deref(), now, now + GUEST_LIFETIME_SECS)
        .await?;
    Ok(row)
}

/// Checks `user[login]` (or `user[email]`) and `user[password]`.
pub(super) async fn authenticate(
    state: &SharedState,
    user: &Map<String, Value>,
) -> Result<UserRow, ApiError> {
    let login = ["login", "email"]
        .iter()
        .find_map(|k| user.get(*k).and_then(scalar_text))
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::invalid("login", "can't be blank"))?;
    let password = user
        .get("password")
        .and_then(scalar_text)
        .ok_or_else(|| ApiError::invalid("password", "can't be blank"))?;
    let row = state.db.user_by_login(&login).await?;
    // An unknown login costs a hash too, so timing does not tell logins apart.
    let stored = row
        .as_ref()
        .map_or_else(|| DECOY_HASH.to_string(), |r| r.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || password::verify(&password, &stored))
        .await
        .map_err(|err| ApiError::Internal(err.into()))?;
    match row {
        Some(row) if matches => Ok(row),
        _ => Err(ApiError::InvalidPassword),
    }
}

/// A well-formed hash of no one's password.
const DECOY_HASH: &str = "pbkdf2-sha256$10000$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

/// `GET /session`
pub async fn show(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let session = caller.session()?.clone();
    let user = match session.user_id {
        Some(id) => state.db.user_by_id(id).await?,
        None => None,
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"session": session_json(&session, user.as_ref())}),
    ))
}

/// `DELETE /session`: 200 with an empty body.
pub async fn destroy(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let token = caller.session()?.token.clone();
    state.db.delete_session(&token).await?;
    let mut response = StatusCode::OK.into_response();
    response.extensions_mut().insert(SessionEnded);
    Ok(response)
}

fn session_json(session: &SessionRow, user: Option<&UserRow>) -> Value {
    let mut value = json!({
        "id": session.id,
        // An application session's is null, as in captured answers.
        "user_id": session.user_id,
        "application_id": session.application_id,
        "token": session.token,
        "nonce": session.nonce,
        "ts": session.ts,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
    });
    if let Some(user) = user {
        value["user"] = user_json(user);
    }
    value
}

pub(super) fn user_json(user: &UserRow) -> Value {
    json!({
        "id": user.id,
        "login": user.login,
        "email": user.login.contains('@').then_some(&user.login),
        "full_name": user.full_name,
        "is_guest": user.guest_expires_at.is_some(),
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
        let form: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        body::parse_form(form.as_bytes()).unwrap()
    }

    #[test]
    fn accepts_the_contract_test_vector() {
        let p = params(&[
            ("application_id", "12345"),
            ("auth_key", "AbCdEfGhIjKlMnO"),
            ("nonce", "33432"),
            ("timestamp", "1572434294"),
            ("user[login]", "john"),
            ("user[password]", "11111111"),
            ("signature", "c265684cfee73d3bc6fd5e0360815a792dafe573"),
        ]);
        assert!(check_legacy_signature(&p, "test_auth_secret", 1572434294 + 60).is_ok());
        // The same request an hour and more later is refused.
        assert!(matches!(
            check_legacy_signature(&p, "test_auth_secret", 1572434294 + 3601),
            Err(ApiError::Invalid("base", _))
        ));
        assert!(check_legacy_signature(&p, "other_secret", 1572434294).is_err());
    }

    #[test]
    fn a_changed_parameter_breaks_the_signature() {
        let p = params(&[
            ("application_id", "12345"),
            ("auth_key", "AbCdEfGhIjKlMnO"),
            ("nonce", "33432"),
            ("timestamp", "1572434294"),
            ("user[login]", "johnny"),
            ("user[password]", "11111111"),
            ("signature", "c265684cfee73d3bc6fd5e0360815a792dafe573"),
        ]);
        assert!(check_legacy_signature(&p, "test_auth_secret", 1572434294).is_err());
    }

    #[test]
    fn the_decoy_hash_is_well_formed() {
        assert!(!password::verify("", DECOY_HASH));
        assert_eq!(DECOY_HASH.split('$').count(), 4);
    }
}
