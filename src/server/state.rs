//! What every request handler shares: the settings, the store, the S3 keys and the
//! addresses the server advertises; and the clock formats of the contract.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use chrono::{DateTime, TimeZone, Utc};

use super::data::DataDir;
use super::db::Db;
use super::sigv4::S3Keys;
use super::store::{Store, Tamper};

/// The one bucket of the local S3 endpoint. A fixed name, so that its routes are
/// literal paths that cannot shadow the API's on a shared listener.
pub const BUCKET: &str = "cubeblob-local";

/// How long presigned download URLs live, as the real service's do.
pub const DOWNLOAD_URL_SECS: u64 = 7 * 24 * 3600;

pub type SharedState = Arc<AppState>;

pub struct AppState {
    pub app_id: u64,
    pub auth_key: String,
    pub auth_secret: String,
    pub token_ttl: Duration,
    pub form_ttl: Duration,
    pub max_size: u64,
    pub db: Db,
    pub data: DataDir,
    pub keys: S3Keys,
    /// `HOST:PORT` of the S3 endpoint as the server itself advertises it.
    pub s3_host: String,
    /// The port of a separate S3 listener; `None` when the API's listener serves S3.
    pub s3_port: Option<u16>,
    /// Where file contents live.
    pub store: Store,
    /// `serve --s3-tamper`: how to spoil the upload forms, for tests.
    pub tamper: Option<Tamper>,
}

impl AppState {
    /// The S3 endpoint's `HOST:PORT` for the client that sent `headers`: the host it
    /// reached us by (a Docker service name, a LAN address, `localhost`), so that the
    /// forms and download URLs we hand out work from where it is. Presigned GETs sign
    /// this host, and the client sends it back. Without a usable `Host`, our own.
    pub fn s3_host_for(&self, headers: &HeaderMap) -> String {
        let Some(host) = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| is_authority(h))
        else {
            return self.s3_host.clone();
        };
        match self.s3_port {
            None => host.to_string(),
            Some(port) => format!("{}:{port}", hostname_of(host)),
        }
    }

    /// `http://HOST:PORT/{bucket}`: where this client posts upload forms.
    pub fn upload_url(&self, headers: &HeaderMap) -> String {
        format!("http://{}/{BUCKET}", self.s3_host_for(headers))
    }

    /// `/{bucket}/{key}`, the key URI-encoded.
    pub fn object_path(&self, uid: &str) -> String {
        format!("/{BUCKET}/{}", super::sigv4::uri_encode(uid))
    }
}

/// A `Host` value we are willing to put into URLs: a name or address and a port.
fn is_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

/// `name:port` → `name`, `[::1]:port` → `[::1]`.
fn hostname_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    }
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2018-12-10T10:26:01Z`, the API's timestamp format.
pub fn iso(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `2023-09-15 15:44:51 UTC`, the `CB-Token-ExpirationDate` format.
pub fn expiration_header(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// A duration as whole milliseconds for arithmetic on stored times.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split_from_their_ports() {
        assert_eq!(hostname_of("cubeblob:8080"), "cubeblob");
        assert_eq!(hostname_of("[::1]:8080"), "[::1]");
        assert_eq!(hostname_of("localhost"), "localhost");
        assert!(is_authority("10.0.0.7:8080"));
        assert!(!is_authority("evil.com/path"));
        assert!(!is_authority("a b"));
        assert!(!is_authority(""));
    }

    #[test]
    fn formats_times_as_the_contract() {
        assert_eq!(iso(1544437561), "2018-12-10T10:26:01Z");
        assert_eq!(
            expiration_header(1_694_792_691_000),
            "2023-09-15 15:44:51 UTC"
        );
    }
}
