//! An external S3-compatible store (`serve --s3-endpoint`). Clients post their forms to
//! it and download from it directly; the server signs the POST policy (our `sigv4`,
//! since rusty-s3 has no POST policy), presigns GETs, and asks the store itself, with
//! presigned HEAD and DELETE requests sent through reqwest, what it holds.

use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use axum::http::StatusCode;
use reqwest::header::{CONTENT_LENGTH, ETAG};
use rusty_s3::{Bucket, Credentials, S3Action as _, UrlStyle};

use super::{not_uploaded, Renewal};
use crate::secret::Secret;
use crate::server::db::{self, BlobRow};
use crate::server::errors::ApiError;
use crate::server::sigv4::S3Keys;
use crate::server::state::{now, AppState, DOWNLOAD_URL_SECS};

/// How long the presigned HEAD and DELETE the server sends itself stay valid.
const OWN_REQUEST_SECS: u64 = 60;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to reach the store: `--s3-endpoint`, `--s3-bucket`, `--s3-region`
/// and the keys.
#[derive(Debug, Clone)]
pub struct ExternalS3 {
    /// `http(s)://host[:port]`; buckets are addressed path-style under it.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    /// Never leaves the process: it only keys signatures.
    pub secret_key: Secret,
}

/// A connected external store.
pub struct ExternalStore {
    bucket: Bucket,
    credentials: Credentials,
    /// The same credentials, for signing POST policies.
    keys: S3Keys,
    /// `{endpoint}/{bucket}`: where forms are posted.
    upload_url: String,
    http: reqwest::Client,
}

impl ExternalStore {
    /// Checks the settings, then that the bucket answers to the credentials, so that
    /// a mistake shows at start-up and not at the first upload.
    pub async fn connect(config: &ExternalS3) -> Result<ExternalStore> {
        let store = ExternalStore::new(config)?;
        store.check_bucket().await?;
        Ok(store)
    }

    /// The store for `config`, without asking it anything yet.
    fn new(config: &ExternalS3) -> Result<ExternalStore> {
        let endpoint = parse_endpoint(&config.endpoint)?;
        if !is_bucket_name(&config.bucket) {
            bail!(
                "`{}` is not an S3 bucket name (letters, digits, `.`, `-` and `_`)",
                config.bucket.escape_debug()
            );
        }
        let upload_url = format!(
            "{}/{}",
            endpoint.as_str().trim_end_matches('/'),
            config.bucket
        );
        let bucket = Bucket::new(
            endpoint,
            UrlStyle::Path,
            config.bucket.clone(),
            config.region.clone(),
        )
        .with_context(|| format!("cannot address the bucket at `{upload_url}`"))?;
        let credentials = Credentials::new(&config.access_key, config.secret_key.expose());
        let keys = S3Keys {
            access_key: config.access_key.clone(),
            secret: config.secret_key.expose().to_string(),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot set up the HTTP client for the S3 store")?;
        Ok(ExternalStore {
            bucket,
            credentials,
            keys,
            upload_url,
            http,
        })
    }

    async fn check_bucket(&self) -> Result<()> {
        let url = self
            .bucket
            .head_bucket(Some(&self.credentials))
            .sign(Duration::from_secs(OWN_REQUEST_SECS));
        let response = self
            .http
            .head(url)
            .send()
            .await
            // Without the URL: reqwest's text would show its signature.
            .map_err(reqwest::Error::without_url)
            .with_context(|| format!("cannot reach the S3 store at `{}`", self.upload_url))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => bail!(
                "the S3 store has no bucket `{}`; create it first (`{}`)",
                self.bucket.name(),
                self.upload_url
            ),
            StatusCode::FORBIDDEN => bail!(
                "the S3 store at `{}` refused the access key `{}` (403); check \
                 --s3-access-key and --s3-secret-key",
                self.upload_url,
                self.keys.access_key
            ),
            status => bail!(
                "the S3 store at `{}` answered {status} to a check of the bucket; check \
                 --s3-endpoint and --s3-region",
                self.upload_url
            ),
        }
    }

    pub fn keys(&self) -> &S3Keys {
        &self.keys
    }

    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    pub fn region(&self) -> &str {
        self.bucket.region()
    }

    pub fn upload_url(&self) -> &str {
        &self.upload_url
    }

    pub fn download_url(&self, key: &str) -> String {
        self.bucket
            .get_object(Some(&self.credentials), key)
            .sign(Duration::from_secs(DOWNLOAD_URL_SECS))
            .to_string()
    }

    /// The object's size and ETag; `None` when the store has no such object.
    async fn head(&self, key: &str) -> Result<Option<StoredObject>, ApiError> {
        let url = self
            .bucket
            .head_object(Some(&self.credentials), key)
            .sign(Duration::from_secs(OWN_REQUEST_SECS));
        let response = self
            .http
            .head(url)
            .send()
            .await
            .map_err(|err| unreachable_store("read the object's size", err))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            status => return Err(refused("read the object's size", status, "")),
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        // Read from the header: reqwest's own length of a HEAD answer is its empty body.
        let size = header(CONTENT_LENGTH)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                ApiError::Storage("the storage answered a HEAD without a size".into())
            })?;
        let etag = header(ETAG)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        Ok(Some(StoredObject { size, etag }))
    }

    /// Deletes the object; one that is already gone is no error.
    async fn delete_object(&self, key: &str) -> Result<(), ApiError> {
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), key)
            .sign(Duration::from_secs(OWN_REQUEST_SECS));
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(|err| unreachable_store("delete the object", err))?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(refused("delete the object", status, &body))
    }
}

struct StoredObject {
    size: u64,
    /// For a single-part POST, the MD5 of the content in hex.
    etag: String,
}

/// The size the store holds becomes the blob's. The contract's policy carries no
/// `content-length-range`, so the store took any size: the limit is kept here, and
/// an object past it is deleted.
pub async fn complete(
    state: &AppState,
    store: &ExternalStore,
    blob: &BlobRow,
) -> Result<(), ApiError> {
    let object = store.head(&blob.uid).await?.ok_or_else(not_uploaded)?;
    if object.size > state.max_size {
        store.delete_object(&blob.uid).await?;
        return Err(ApiError::invalid(
            "size",
            format!("is too large (maximum is {} bytes)", state.max_size),
        ));
    }
    let (id, uid, at) = (blob.id, blob.uid.clone(), now().timestamp());
    // The store keeps the object's Content-Type itself and serves it.
    let landed = db::Landed {
        size: object.size,
        md5: object.etag,
        content_type: None,
    };
    let recorded = state.db.record_and_complete(id, &uid, landed, at).await?;
    if recorded {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The object goes first: if the store fails, the record stays and the delete can be
/// tried again, instead of an object being left that no record names.
pub async fn delete(
    state: &AppState,
    store: &ExternalStore,
    blob: &BlobRow,
) -> Result<(), ApiError> {
    store.delete_object(&blob.uid).await?;
    let id = blob.id;
    state.db.delete_blob(id, None).await?;
    Ok(())
}

/// The old object goes first, as for a delete: if the store fails, nothing changed
/// and the client may ask again. Presigned URLs of the store cannot be revoked, so
/// removing the object is what makes them dead.
pub async fn renew(
    state: &AppState,
    store: &ExternalStore,
    blob: &BlobRow,
    renewal: Renewal,
) -> Result<BlobRow, ApiError> {
    store.delete_object(&blob.uid).await?;
    let id = blob.id;
    state
        .db
        .renew_blob(id, renewal, None)
        .await?
        .ok_or(ApiError::NotFound)
}

fn unreachable_store(step: &str, err: reqwest::Error) -> ApiError {
    // Without the URL: it carries a (short-lived) signature.
    let err = err.without_url();
    eprintln!("cubeblob serve: the S3 store could not {step}: {err}");
    ApiError::Storage(format!("the storage could not {step}: it did not answer"))
}

fn refused(step: &str, status: StatusCode, body: &str) -> ApiError {
    let code = xml_code(body).map(|c| format!(" {c}")).unwrap_or_default();
    eprintln!("cubeblob serve: the S3 store could not {step}: {status}{code}");
    ApiError::Storage(format!(
        "the storage could not {step}: {}{code}",
        status.as_u16()
    ))
}

/// `<Code>…</Code>` of an S3 error body.
fn xml_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].trim()).filter(|c| !c.is_empty())
}

/// `http(s)://host[:port]` and nothing more: rusty-s3 puts the bucket where a path
/// would be, and a query or credentials in it would be signed into every URL.
fn parse_endpoint(text: &str) -> Result<url::Url> {
    let url = url::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .filter(|u| u.path() == "/" && u.query().is_none() && u.fragment().is_none())
        .filter(|u| u.username().is_empty() && u.password().is_none());
    match url {
        Some(url) => Ok(url),
        // Not echoed: a URL with credentials in it would put them on the screen.
        None => bail!(
            "`--s3-endpoint` takes a scheme, host and port, such as \
             `http://127.0.0.1:8333`, with no path, query or credentials"
        ),
    }
}

fn is_bucket_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_a_scheme_host_and_port() {
        assert_eq!(
            parse_endpoint("http://127.0.0.1:8333").unwrap().as_str(),
            "http://127.0.0.1:8333/"
        );
        assert!(parse_endpoint("https://s3.eu-west-1.amazonaws.com/").is_ok());
        for bad in [
            "127.0.0.1:8333",
            "ftp://h",
            "http://h/prefix",
            "http://h?x=1",
            "http://user:pw@h",
        ] {
            let err = parse_endpoint(bad).unwrap_err().to_string();
            assert!(err.contains("--s3-endpoint"), "{bad}: {err}");
        }
        let err = parse_endpoint("http://user:pw@h").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn bucket_names_stay_one_path_segment() {
        assert!(is_bucket_name("uploads"));
        assert!(is_bucket_name("my.bucket-1"));
        assert!(!is_bucket_name(""));
        assert!(!is_bucket_name("a/b"));
        assert!(!is_bucket_name("a b"));
    }

    #[test]
    fn error_codes_come_from_the_xml() {
        assert_eq!(
            xml_code("<Error><Code>AccessDenied</Code></Error>"),
            Some("AccessDenied")
        );
        assert_eq!(xml_code("plain text"), None);
    }

    fn config() -> ExternalS3 {
        ExternalS3 {
            endpoint: "http://127.0.0.1:8333".into(),
            bucket: "uploads".into(),
            region: "eu-central-1".into(),
            access_key: "AK".into(),
            secret_key: Secret::new("very-secret"),
        }
    }

    #[test]
    fn the_config_never_shows_the_secret() {
        let shown = format!("{:?}", config());
        assert!(
            shown.contains("AK") && !shown.contains("very-secret"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_is_reported_without_the_signature() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = ExternalS3 {
            endpoint: format!("http://127.0.0.1:{port}"),
            ..config()
        };
        let err = ExternalStore::connect(&config)
            .await
            .err()
            .expect("an error");
        let shown = format!("{err:#}");
        assert!(shown.contains("cannot reach the S3 store"), "{shown}");
        assert!(!shown.contains("X-Amz-Signature"), "{shown}");
    }

    #[test]
    fn urls_address_the_bucket_path_style() {
        let store = ExternalStore::new(&config()).unwrap();
        assert_eq!(store.upload_url(), "http://127.0.0.1:8333/uploads");
        let url = url::Url::parse(&store.download_url("ab00")).unwrap();
        assert_eq!(url.path(), "/uploads/ab00");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert!(param("X-Amz-Credential")
            .is_some_and(|c| c.starts_with("AK/") && c.ends_with("/eu-central-1/s3/aws4_request")));
        assert_eq!(param("X-Amz-Expires"), Some("604800"));
        assert!(param("X-Amz-Signature").is_some());
        assert!(!url.as_str().contains("very-secret"));
    }
}
