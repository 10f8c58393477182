//! The `/blobs` API: create (with a signed upload form), complete, info, object
//! (with a presigned GET), download (301 to it), list, edit (new content too) and delete. Users own
//! their blobs: others may read and download public ones, and touch nothing else.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::blob_input::{
    check_content_type, check_name, new_uid, page_param, parse_id, parse_ref, query_param, BlobRef,
    PER_PAGE_DEFAULT, PER_PAGE_MAX,
};
use super::body::{self, lenient_bool, lenient_u64};
use super::db::{BlobRow, NewBlob};
use super::errors::{json_response, ApiError};
use super::routes::JsonSuffix;
use super::state::{iso, now, AppState, SharedState, DOWNLOAD_URL_SECS};
use super::store::{self, Upload};

/// The segment of `/blobs/{x}`; a path that axum cannot decode names nothing.
fn segment(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(p)| p).map_err(|_| ApiError::NotFound)
}

async fn find(state: &AppState, blob: BlobRef) -> Result<BlobRow, ApiError> {
    let row = match blob {
        BlobRef::Id(id) => state.db.blob_by_id(id).await?,
        BlobRef::Uid(uid) => state.db.blob_by_uid(&uid).await?,
    };
    row.ok_or(ApiError::NotFound)
}

/// Reading: public blobs for any session, private ones for their owner.
fn may_read(caller: &Caller, blob: &BlobRow) -> Result<(), ApiError> {
    let session = caller.session()?;
    if blob.public || session.user_id == Some(blob.owner_id) {
        Ok(())
    } else if session.user_id.is_none() {
        Err(ApiError::NeedUser)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Changing: the owner only.
fn may_write(caller: &Caller, blob: &BlobRow) -> Result<(), ApiError> {
    if caller.user_id()? == blob.owner_id {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Downloading: anyone for a public blob, even without a token; the owner otherwise.
fn may_download(caller: &Caller, blob: &BlobRow) -> Result<(), ApiError> {
    if blob.public {
        Ok(())
    } else {
        may_write(caller, blob)
    }
}

/// The account every blob of the local server belongs to: it has one.
const ACCOUNT_ID: u64 = 1;

fn blob_json(state: &AppState, blob: &BlobRow) -> Value {
    json!({
        "id": blob.id,
        "uid": blob.uid,
        // Real records carry both; the local server has one account and one app.
        "account_id": ACCOUNT_ID,
        "app_id": state.app_id,
        "content_type": blob.content_type,
        "name": blob.name,
        "size": blob.size,
        "public": blob.public,
        "created_at": iso(blob.created_at),
        "updated_at": iso(blob.updated_at),
        "blob_status": blob.is_complete().then_some("complete"),
        "set_completed_at": blob.completed_at.map(iso),
    })
}

fn empty_ok() -> Response {
    StatusCode::OK.into_response()
}

/// `POST /blobs`: 201 with the record and its upload form.
pub async fn create(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let owner_id = caller.user_id()?;
    let params = body::parse(&headers, &bytes)?;
    let fields = body::section(&params, "blob");
    let name = check_name(fields.get("name"), true)?.unwrap_or_default();
    let content_type = check_content_type(fields.get("content_type"), true)?.unwrap_or_default();
    let public = lenient_bool(fields.get("public"))
        .map_err(|_| ApiError::invalid("public", "is invalid"))?
        .unwrap_or(false);

    let created = now();
    let form_expires = form_expiry(&state, created);
    let uid = new_uid();
    let blob = {
        let (uid, content_type) = (uid.clone(), content_type.clone());
        let (at, form_expires_at) = (created.timestamp(), form_expires.timestamp());
        let new = NewBlob {
            uid,
            owner_id,
            name,
            content_type,
            public,
            form_expires_at,
            now: at,
        };
        state.db.insert_blob(new).await?
    };
    let value = with_write_form(&state, &blob, created, form_expires);
    Ok(json_response(StatusCode::CREATED, &json!({"blob": value})))
}

/// The record with its upload form (`blob_object_access`, "Write"), signed at `at` for
/// the blob's uid, content type and acl, expiring at `expires`.
fn with_write_form(
    state: &AppState,
    blob: &BlobRow,
    at: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Value {
    let params = store::upload_params(
        state,
        &Upload {
            key: &blob.uid,
            content_type: &blob.content_type,
            public: blob.public,
            now: at,
            expires,
        },
    );
    let mut value = blob_json(state, blob);
    value["blob_object_access"] = json!({
        "id": blob.id,
        "blob_id": blob.id,
        "expires": iso(blob.form_expires_at),
        "object_access_type": "Write",
        "params": params,
    });
    value
}

/// When a form signed now expires. The TTL is capped at start-up, so this cannot overflow.
fn form_expiry(state: &AppState, at: DateTime<Utc>) -> DateTime<Utc> {
    at + chrono::Duration::from_std(state.form_ttl).unwrap_or_default()
}

/// `PUT|POST /blobs/{id}/complete`, with any of the SDKs' bodies; 200, empty.
pub async fn complete(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&segment(path)?)?;
    caller.user_id()?;
    let params = body::parse(&headers, &bytes)?;
    // The declared size is checked for form but not trusted: the stored object's wins.
    lenient_u64(body::section(&params, "blob").get("size"))
        .map_err(|_| ApiError::invalid("size", "is not a number"))?;
    let blob = find(&state, BlobRef::Id(id)).await?;
    may_write(&caller, &blob)?;
    store::complete(&state, &blob).await?;
    Ok(empty_ok())
}

/// `GET /blobs/{x}`: the record for an id, a download for a uid; with the `.json`
/// suffix, the record for a uid too (the JS SDK's `getInfo(uid)` and `getFile(uid)`
/// parse it as JSON).
pub async fn show(
    state: State<SharedState>,
    caller: Extension<Caller>,
    json_suffix: Option<Extension<JsonSuffix>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    match parse_ref(&segment(path)?) {
        Some(BlobRef::Id(id)) => {
            caller.session()?;
            let blob = find(&state, BlobRef::Id(id)).await?;
            may_read(&caller, &blob)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"blob": blob_json(&state, &blob)}),
            ))
        }
        Some(uid) if json_suffix.is_some() => info_by_uid(&state, &caller, uid).await,
        Some(uid) => redirect_to_object(&state, &caller, uid).await,
        None => Err(ApiError::NotFound),
    }
}

/// `GET /blobs/{uid}/download`: 301 to a presigned GET.
pub async fn download(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let blob = parse_ref(&segment(path)?).ok_or(ApiError::NotFound)?;
    redirect_to_object(&state, &caller, blob).await
}

/// `GET /blobs/{uid}.json`: 200 with the record, readable by whoever may download
/// it, and, once complete, a `Location` of the bytes (Android's client follows it).
async fn info_by_uid(
    state: &AppState,
    caller: &Caller,
    blob: BlobRef,
) -> Result<Response, ApiError> {
    let blob = find(state, blob).await?;
    may_download(caller, &blob)?;
    let mut response = json_response(StatusCode::OK, &json!({"blob": blob_json(state, &blob)}));
    if blob.is_complete() {
        let url = store::download_url(state, &blob);
        let location = HeaderValue::from_str(&url).map_err(|err| ApiError::Internal(err.into()))?;
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn redirect_to_object(
    state: &AppState,
    caller: &Caller,
    blob: BlobRef,
) -> Result<Response, ApiError> {
    let blob = find(state, blob).await?;
    may_download(caller, &blob)?;
    if !blob.is_complete() {
        return Err(ApiError::NotFound);
    }
    let url = store::download_url(state, &blob);
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    let location = HeaderValue::from_str(&url).map_err(|err| ApiError::Internal(err.into()))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// `GET /blobs/{uid}/object[?download_url=1]`
pub async fn object(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.session()?;
    let blob = parse_ref(&segment(path)?).ok_or(ApiError::NotFound)?;
    let blob = find(&state, blob).await?;
    may_read(&caller, &blob)?;
    let wants_url = query_param(query.as_deref(), "download_url")
        .is_some_and(|v| lenient_bool(Some(&Value::String(v))) == Ok(Some(true)));
    let mut value = blob_json(&state, &blob);
    if wants_url && blob.is_complete() {
        let url = store::download_url(&state, &blob);
        let expires = now() + chrono::Duration::seconds(DOWNLOAD_URL_SECS as i64);
        value["blob_object_access"] = json!({
            "id": blob.id,
            "blob_id": blob.id,
            "expires": iso(expires.timestamp()),
            "object_access_type": "Read",
            "download_url": url,
            // The vendor's docs spell it so; SDKs written from them look for it.
            "dowload_url": url,
        });
    }
    Ok(json_response(StatusCode::OK, &json!({"blob": value})))
}

/// `GET /blobs?page=&per_page=`: the caller's blobs in id order, each item wrapped.
pub async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let session = caller.session()?;
    let page = page_param(query.as_deref(), "page", 1)?;
    let per_page = page_param(query.as_deref(), "per_page", PER_PAGE_DEFAULT)?;
    if per_page > PER_PAGE_MAX {
        return Err(ApiError::invalid(
            "per_page",
            format!("must be less than or equal to {PER_PAGE_MAX}"),
        ));
    }
    // An application session owns no blobs: its list is empty, not forbidden.
    let (blobs, total) = match session.user_id {
        Some(owner) => {
            let offset = (page - 1).saturating_mul(per_page);
            state.db.list_blobs(owner, per_page, offset).await?
        }
        None => (Vec::new(), 0),
    };
    let items: Vec<Value> = blobs
        .iter()
        .map(|b| json!({"blob": blob_json(&state, b)}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"current_page": page, "per_page": per_page, "total_entries": total, "items": items}),
    ))
}

/// `PUT /blobs/{id}`: a new name and/or content type, 200 with the record; with
/// `new=1`, new content to come: the old object is removed, the blob gets a new uid
/// (old URLs die with the old one) and a fresh upload form, and is not complete until
/// that upload is. `public` is fixed at create; unknown fields are ignored.
pub async fn update(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&segment(path)?)?;
    caller.user_id()?;
    let params = body::parse(&headers, &bytes)?;
    let fields: &Map<String, Value> = body::section(&params, "blob");
    let name = check_name(fields.get("name"), false)?;
    let content_type = check_content_type(fields.get("content_type"), false)?;
    let renew = lenient_bool(fields.get("new"))
        .map_err(|_| ApiError::invalid("new", "is invalid"))?
        .unwrap_or(false);
    let blob = find(&state, BlobRef::Id(id)).await?;
    may_write(&caller, &blob)?;
    let at = now();
    if renew {
        let form_expires = form_expiry(&state, at);
        let renewal = store::Renewal {
            uid: new_uid(),
            name,
            content_type,
            form_expires_at: form_expires.timestamp(),
            now: at.timestamp(),
        };
        let renewed = store::renew(&state, &blob, renewal).await?;
        let value = with_write_form(&state, &renewed, at, form_expires);
        return Ok(json_response(StatusCode::OK, &json!({"blob": value})));
    }
    let at = at.timestamp();
    let updated = state
        .db
        .update_blob(id, name, content_type, at)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"blob": blob_json(&state, &updated)}),
    ))
}

/// `DELETE /blobs/{id}`: the record and its object; 200, empty.
pub async fn delete(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&segment(path)?)?;
    caller.user_id()?;
    let blob = find(&state, BlobRef::Id(id)).await?;
    may_write(&caller, &blob)?;
    store::delete(&state, &blob).await?;
    Ok(empty_ok())
}
