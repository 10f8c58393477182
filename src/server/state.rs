//! What every request handler shares: the settings, the store, the S3 keys and the
//! addresses the server advertises; and the clock formats of the contract.

use std::sync::Arc;
use std::time::Duration;

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
    /// `http://HOST:PORT` (or `https://`) of our S3 endpoint as clients are to reach
    /// it: from `--public-url`, else the bound address. Never from a request's `Host`,
    /// which a client (or a proxy) may set to anything.
    pub s3_base: String,
    /// Where file contents live.
    pub store: Store,
    /// `serve --s3-tamper`: how to spoil the upload forms, for tests.
    pub tamper: Option<Tamper>,
}

impl AppState {
    /// `HOST:PORT` of `s3_base`: what presigned URLs sign as the `host` header.
    pub fn s3_authority(&self) -> &str {
        authority_of(&self.s3_base)
    }

    /// `{s3_base}/{bucket}`: where clients post upload forms.
    pub fn upload_url(&self) -> String {
        format!("{}/{BUCKET}", self.s3_base)
    }

    /// `/{bucket}/{key}`, the key URI-encoded.
    pub fn object_path(&self, uid: &str) -> String {
        format!("/{BUCKET}/{}", super::sigv4::uri_encode(uid))
    }
}

/// `http://name:port` → `name:port`.
fn authority_of(base: &str) -> &str {
    base.split_once("://").map_or(base, |(_, rest)| rest)
}

/// `--public-url` made into a base URL: `http` or `https`, a host and maybe a port,
/// nothing else (a path, a query or credentials would not survive into the forms and
/// signatures). `http://files.example.com:8080/` → `http://files.example.com:8080`.
pub fn public_base(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|err| format!("`{text}` is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` must start with http:// or https://"));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("`{text}` has no host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{text}` must not hold credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{text}` must be a scheme, a host and a port only, without a path"
        ));
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// `base` with its port replaced by `port`: the S3 listener's public address when it
/// has a port of its own.
pub fn with_port(base: &str, port: u16) -> String {
    let (scheme, authority) = base.split_once("://").unwrap_or(("http", base));
    let host = hostname_of(authority);
    format!("{scheme}://{host}:{port}")
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
        assert_eq!(
            authority_of("https://files.example.com"),
            "files.example.com"
        );
        assert_eq!(with_port("http://[::1]:8080", 9000), "http://[::1]:9000");
        assert_eq!(with_port("https://cubeblob", 9000), "https://cubeblob:9000");
    }

    #[test]
    fn public_urls_are_a_scheme_a_host_and_a_port() {
        assert_eq!(
            public_base("http://files.example.com:8080/").unwrap(),
            "http://files.example.com:8080"
        );
        assert_eq!(
            public_base("https://files.example.com:443").unwrap(),
            "https://files.example.com"
        );
        assert_eq!(public_base("http://[::1]:80").unwrap(), "http://[::1]");
        for bad in [
            "files.example.com",
            "ftp://files.example.com",
            "http://files.example.com/prefix",
            "http://u:p@files.example.com",
            "http://files.example.com/?a=1",
        ] {
            assert!(public_base(bad).is_err(), "{bad}");
        }
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
