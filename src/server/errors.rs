//! The two error dialects of the server: the API's JSON `{"errors": ...}` bodies and
//! S3's XML `<Error>` bodies, each with the statuses of the wire contract.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub const JSON_TYPE: &str = "application/json; charset=utf-8";
pub const XML_TYPE: &str = "application/xml";

/// An API error; every variant renders as one of the contract's two JSON shapes.
#[derive(Debug)]
pub enum ApiError {
    /// 401 `{"errors":["Token is required"]}`
    TokenRequired,
    /// 401 `{"errors":{"base":["Required session does not exist"]}}`: the SDKs re-create
    /// the session on exactly this body, so unknown and expired tokens both get it.
    SessionMissing,
    /// 401 `{"errors":["Invalid password"]}`: wrong password and unknown login alike,
    /// so that logins cannot be probed.
    InvalidPassword,
    /// 401 with a `base` message: bad application credentials.
    Unauthorized(&'static str),
    /// 403 `{"errors":{"base":["Forbidden. Need user."]}}`: an application session writing.
    NeedUser,
    /// 403: another user's blob.
    Forbidden,
    /// 404 `{"errors":{"base":["Entity you are looking for was not found."]}}`
    NotFound,
    /// 404 for a path no route serves.
    NoRoute,
    /// 405 for a method a route does not serve.
    MethodNotAllowed,
    /// 422 `{"errors":{FIELD:[MESSAGE]}}`
    Invalid(&'static str, String),
    /// 400 with a `base` message: a body that cannot be read at all.
    BadRequest(String),
    /// 500: our own trouble (database, disk). Logged, never shown in detail.
    Internal(anyhow::Error),
    /// 502: the external S3 store failed or did not answer; the message names the step.
    Storage(String),
    /// 507: a write failed for want of disk space. Logged; the client is told plainly,
    /// as it is not worth retrying until an operator frees space.
    OutOfSpace(anyhow::Error),
    /// 503: the database (PostgreSQL) cannot be reached; logged, and the client told
    /// to try again, as the server recovers by itself when it is back.
    Unavailable(anyhow::Error),
}

/// The message a lost database gets, in both dialects.
pub const DATABASE_UNAVAILABLE: &str =
    "Service Unavailable: the server cannot reach its database, try again later";

/// Whether a failure is a lost database, at any level of its causes.
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.is::<crate::server::db::Unavailable>())
}

/// The message a full disk gets, in both dialects.
pub const OUT_OF_SPACE: &str = "Insufficient Storage: the server is out of disk space";

/// Whether a failure comes from a full disk or an exhausted quota, at any level of
/// its causes: the file system's `ENOSPC`/`EDQUOT` or SQLite's `SQLITE_FULL`.
pub fn is_out_of_space(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            );
        }
        if let Some(sql) = cause.downcast_ref::<rusqlite::Error>() {
            return sql.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
        }
        false
    })
}

impl ApiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(field, message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::TokenRequired
            | ApiError::SessionMissing
            | ApiError::InvalidPassword
            | ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NeedUser | ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Invalid(..) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Storage(_) => StatusCode::BAD_GATEWAY,
            ApiError::OutOfSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::TokenRequired => json!({"errors": ["Token is required"]}),
            ApiError::InvalidPassword => json!({"errors": ["Invalid password"]}),
            ApiError::Invalid(field, message) => json!({"errors": {*field: [message]}}),
            other => json!({"errors": {"base": [other.base_message()]}}),
        }
    }

    fn base_message(&self) -> String {
        match self {
            ApiError::SessionMissing => "Required session does not exist".into(),
            ApiError::Unauthorized(message) => (*message).into(),
            ApiError::NeedUser => "Forbidden. Need user.".into(),
            ApiError::Forbidden => {
                "You don't have appropriate permissions to perform this operation".into()
            }
            ApiError::NotFound => "Entity you are looking for was not found.".into(),
            ApiError::NoRoute => "No such route".into(),
            ApiError::MethodNotAllowed => "Method not allowed for this route".into(),
            ApiError::BadRequest(message) | ApiError::Storage(message) => message.clone(),
            ApiError::Internal(_) => "Internal server error".into(),
            ApiError::OutOfSpace(_) => OUT_OF_SPACE.into(),
            ApiError::Unavailable(_) => DATABASE_UNAVAILABLE.into(),
            ApiError::TokenRequired | ApiError::InvalidPassword | ApiError::Invalid(..) => {
                unreachable!("rendered without a base message")
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        if is_out_of_space(&err) {
            ApiError::OutOfSpace(err)
        } else if is_unavailable(&err) {
            ApiError::Unavailable(err)
        } else {
            ApiError::Internal(err)
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        ApiError::from(anyhow::Error::from(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            // The client sees a generic 500; the operator sees the cause.
            ApiError::Internal(err) => eprintln!("cubeblob serve: internal error: {err:#}"),
            ApiError::OutOfSpace(err) => eprintln!("cubeblob serve: out of disk space: {err:#}"),
            ApiError::Unavailable(err) => eprintln!("cubeblob serve: {err:#}"),
            _ => {}
        }
        let mut response = json_response(self.status(), &self.body());
        if matches!(self, ApiError::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A JSON response with the contract's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    response
}

/// An S3 error, rendered as `<Error><Code>…</Code><Message>…</Message>…</Error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Further elements after the message (`ProposedSize`, `MaxSizeAllowed`, ...).
    pub extra: Vec<(&'static str, String)>,
}

impl S3Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> S3Error {
        S3Error {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, element: &'static str, value: impl Into<String>) -> S3Error {
        self.extra.push((element, value.into()));
        self
    }

    /// 403 AccessDenied "Invalid according to Policy: ...", the family of form failures.
    pub fn policy(reason: impl std::fmt::Display) -> S3Error {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!("Invalid according to Policy: {reason}"),
        )
    }

    pub fn access_denied(message: impl Into<String>) -> S3Error {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    pub fn signature_mismatch() -> S3Error {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> S3Error {
        S3Error::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    pub fn malformed_post(message: impl Into<String>) -> S3Error {
        S3Error::new(StatusCode::BAD_REQUEST, "MalformedPOSTRequest", message)
    }

    pub fn no_such_key() -> S3Error {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    }

    pub fn internal() -> S3Error {
        S3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// 507 InsufficientStorage: a full disk, said plainly.
    pub fn out_of_space() -> S3Error {
        S3Error::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "InsufficientStorage",
            format!("{OUT_OF_SPACE}. Free some space and try again."),
        )
    }

    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
            self.code,
            xml_escape(&self.message)
        );
        for (element, value) in &self.extra {
            xml.push_str(&format!("<{element}>{}</{element}>", xml_escape(value)));
        }
        xml.push_str("</Error>");
        xml
    }
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        xml_response(self.status, self.to_xml())
    }
}

impl From<anyhow::Error> for S3Error {
    fn from(err: anyhow::Error) -> Self {
        if is_out_of_space(&err) {
            eprintln!("cubeblob serve: out of disk space: {err:#}");
            return S3Error::out_of_space();
        }
        if is_unavailable(&err) {
            eprintln!("cubeblob serve: {err:#}");
            return S3Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                DATABASE_UNAVAILABLE,
            );
        }
        eprintln!("cubeblob serve: internal error: {err:#}");
        S3Error::internal()
    }
}

pub fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(XML_TYPE));
    response
}

/// Escapes text for an XML element: field names and keys come from the client.
/// Quotes stay as they are, as in S3's messages (`["eq", "$key", "..."]`): only
/// attribute values would need them escaped.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_use_the_contract_shapes() {
        assert_eq!(
            ApiError::SessionMissing.body().to_string(),
            r#"{"errors":{"base":["Required session does not exist"]}}"#
        );
        assert_eq!(
            ApiError::TokenRequired.body().to_string(),
            r#"{"errors":["Token is required"]}"#
        );
        assert_eq!(
            ApiError::invalid("name", "is too long (maximum is 100 characters)")
                .body()
                .to_string(),
            r#"{"errors":{"name":["is too long (maximum is 100 characters)"]}}"#
        );
        assert_eq!(ApiError::NeedUser.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_full_disk_is_told_apart_at_any_depth() {
        let io = std::io::Error::from_raw_os_error(28); // ENOSPC
        let err = anyhow::Error::from(io).context("cannot write an upload file");
        assert!(is_out_of_space(&err));
        let api = ApiError::from(err);
        assert_eq!(api.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(api.body()["errors"]["base"][0], OUT_OF_SPACE);
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert!(is_out_of_space(&anyhow::Error::from(full)));
        let other = anyhow::Error::from(std::io::Error::from_raw_os_error(5)); // EIO
        assert!(!is_out_of_space(&other));
        assert_eq!(
            S3Error::from(other).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn s3_errors_escape_their_values() {
        let xml = S3Error::policy("Extra input fields: <b>\"&\"")
            .with("ProposedSize", "5")
            .to_xml();
        assert!(xml.contains("<Code>AccessDenied</Code>"));
        assert!(xml.contains(
            "<Message>Invalid according to Policy: Extra input fields: &lt;b&gt;\"&amp;\"</Message>"
        ));
        assert!(xml.ends_with("<ProposedSize>5</ProposedSize></Error>"));
    }
}
