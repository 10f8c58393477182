//! The one API client: builds requests, sends the token, retries what is safe,
//! re-creates an expired session when it can, and turns every answer into a typed
//! value or an `ApiError` in one place (`call` and `decode`).

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use url::Url;

use super::error::{error_messages, ApiError, TokenOf};
use super::models::{Blob, BlobChanges, BlobEnvelope, BlobPage, BlobRef, Session, SessionEnvelope};
use super::retry::{is_refused, parse_retry_after, retryable_status, worth_retrying, RetryPolicy};
use crate::exit::InputError;
use crate::secret::Secret;

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    /// Per-request limit for API calls; for transfers, the longest silence allowed.
    pub timeout: Duration,
    pub retries: u32,
    /// Log requests and answers on stderr, secrets redacted.
    pub verbose: bool,
}

impl ClientConfig {
    /// Checks an API URL: http or https, and plain http only for loopback hosts
    /// unless the user said otherwise (the token would travel in clear).
    pub fn parse_url(text: &str, allow_insecure_http: bool) -> Result<Url, InputError> {
        let url = Url::parse(text.trim()).map_err(|e| {
            InputError::Invalid(format!("the API URL `{text}` is not a valid URL: {e}"))
        })?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(&url) => {}
            "http" => {
                return Err(InputError::Invalid(format!(
                    "refusing the plain http API URL `{text}`: the token would travel \
                     unencrypted\nhint: use https, or pass `--allow-insecure-http` if you \
                     accept that"
                )))
            }
            other => {
                return Err(InputError::Invalid(format!(
                    "the API URL `{text}` has scheme `{other}`; use https://"
                )))
            }
        }
        if url.host().is_none() {
            return Err(InputError::Invalid(format!(
                "the API URL `{text}` has no host"
            )));
        }
        Ok(url)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[derive(Debug, Clone)]
pub enum LoginName {
    Login(String),
    Email(String),
}

/// What it takes to create a session (and re-create it when it expires).
#[derive(Debug, Clone)]
pub struct SessionCredentials {
    pub app_id: u64,
    pub auth_key: Secret,
    /// The user and password; `None` makes an application session (read-only).
    pub user: Option<(LoginName, Secret)>,
    /// Sign the request with the legacy HMAC-SHA1 signature.
    pub auth_secret: Option<Secret>,
}

/// Which requests may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Idempotent: retried on connection errors, 5xx and 429.
    Safe,
    /// `POST /blobs`: retried only when the server cannot have acted on it.
    Create,
    /// Session creation: no token, no renewal.
    Login,
}

struct AuthState {
    token: Option<Secret>,
    /// Bumped on each new token, so concurrent 401s renew the session only once.
    generation: u64,
    expires: Option<DateTime<Utc>>,
}

struct Inner {
    http: reqwest::Client,
    /// `http` without the read timeout, for sending request bodies to storage.
    upload_http: reqwest::Client,
    base: Url,
    timeout: Duration,
    retry: RetryPolicy,
    verbose: bool,
    auth: RwLock<AuthState>,
    renew: Option<SessionCredentials>,
    renew_lock: tokio::sync::Mutex<()>,
    /// Whose the first token (generation 0) is: a 401 for one from `CUBEBLOB_TOKEN` is
    /// the variable's to fix, one for a named profile's is that profile's. Sessions
    /// made since are the profile's.
    first_token: std::sync::Mutex<TokenOf>,
    profile: std::sync::Mutex<Option<String>>,
}

/// A cheap handle to the client; clones share the connection pool and the token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// A client with a token (if any) and the credentials to re-create the session
    /// when the server says it is gone (if any).
    pub fn new(
        config: ClientConfig,
        token: Option<Secret>,
        renew: Option<SessionCredentials>,
    ) -> anyhow::Result<Client> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(super::sdk_header())
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(config.timeout)
                .tcp_nodelay(true)
        };
        let http = builder().read_timeout(config.timeout).build()?;
        let upload_http = builder().build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                upload_http,
                base: config.base_url,
                timeout: config.timeout,
                retry: RetryPolicy::new(config.retries),
                verbose: config.verbose,
                auth: RwLock::new(AuthState {
                    token,
                    generation: 0,
                    expires: None,
                }),
                renew,
                renew_lock: tokio::sync::Mutex::new(()),
                first_token: std::sync::Mutex::new(TokenOf::Profile(None)),
                profile: std::sync::Mutex::new(None),
            }),
        })
    }

    /// Notes that the token given to `new` came from `CUBEBLOB_TOKEN`, so that a 401
    /// for it says so (`ApiError::Status::token`).
    pub fn token_from_environment(&self) {
        *self.inner.first_token.lock().unwrap() = TokenOf::Environment;
    }

    /// Notes that the client works for profile `name`, not the default one, so that a
    /// 401 names it in its hint.
    pub fn for_profile(&self, name: &str) {
        *self.inner.profile.lock().unwrap() = Some(name.to_string());
        let mut first = self.inner.first_token.lock().unwrap();
        if *first != TokenOf::Environment {
            *first = TokenOf::Profile(Some(name.to_string()));
        }
    }

    /// Whose token of `generation` is.
    fn token_of(&self, generation: u64) -> TokenOf {
        match generation {
            0 => self.inner.first_token.lock().unwrap().clone(),
            _ => TokenOf::Profile(self.inner.profile.lock().unwrap().clone()),
        }
    }

    /// The HTTP client, for requests to the storage host. Never give it the token.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Like `http`, without a read timeout, for the S3 POST: reqwest starts counting
    /// its read timeout when the request starts, so a large body on a slow link would
    /// time out while its bytes are still flowing (seanmonstar/reqwest#2784). The
    /// transfer engine keeps its own inactivity timeout instead. Never give it the token.
    pub fn upload_http(&self) -> &reqwest::Client {
        &self.inner.upload_http
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    pub fn token(&self) -> Option<Secret> {
        self.inner.auth.read().unwrap().token.clone()
    }

    /// The token's expiry as the server last told it (`CB-Token-ExpirationDate`).
    pub fn token_expiry(&self) -> Option<DateTime<Utc>> {
        self.inner.auth.read().unwrap().expires
    }

    /// The URL of an API path (`/blobs/7`), for display and for the public link.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}{path}"));
        url
    }

    // ----- sessions -----

    /// `POST /session`; the new token replaces the current one.
    pub async fn create_session(&self, creds: &SessionCredentials) -> Result<Session, ApiError> {
        let body = session_body(creds);
        let resp = self
            .call(
                "create session",
                Method::POST,
                "/session",
                Some(body),
                Mode::Login,
            )
            .await?;
        let session: SessionEnvelope = decode("create session", resp).await?;
        let session = session.session;
        let Some(token) = session.token.clone() else {
            return Err(ApiError::Decode {
                what: "create session".into(),
                detail: "the session has no token".into(),
            });
        };
        let mut auth = self.inner.auth.write().unwrap();
        auth.token = Some(token);
        auth.generation += 1;
        if auth.expires.is_none() {
            auth.expires = Some(Utc::now() + chrono::Duration::hours(2));
        }
        Ok(session)
    }

    /// `GET /session`: who the token belongs to.
    pub async fn session(&self) -> Result<Session, ApiError> {
        let resp = self
            .call("get session", Method::GET, "/session", None, Mode::Safe)
            .await?;
        Ok(decode::<SessionEnvelope>("get session", resp)
            .await?
            .session)
    }

    /// `DELETE /session`.
    pub async fn delete_session(&self) -> Result<(), ApiError> {
        self.call(
            "delete session",
            Method::DELETE,
            "/session",
            None,
            Mode::Safe,
        )
        .await?;
        Ok(())
    }

    // ----- blobs -----

    /// `POST /blobs`: a new record with its upload form.
    pub async fn create_blob(
        &self,
        name: &str,
        content_type: &str,
        public: bool,
    ) -> Result<Blob, ApiError> {
        let body = json!({"blob": {"content_type": content_type, "name": name, "public": public}});
        let resp = self
            .call(
                "create blob",
                Method::POST,
                "/blobs",
                Some(body),
                Mode::Create,
            )
            .await?;
        Ok(decode::<BlobEnvelope>("create blob", resp).await?.blob)
    }

    /// `PUT /blobs/{id}/complete` with the size sent.
    pub async fn complete_blob(&self, id: u64, size: u64) -> Result<(), ApiError> {
        let body = json!({"blob": {"size": size}});
        let path = format!("/blobs/{id}/complete");
        self.call("complete blob", Method::PUT, &path, Some(body), Mode::Safe)
            .await?;
        Ok(())
    }

    /// `GET /blobs/{id}`.
    pub async fn blob(&self, id: u64) -> Result<Blob, ApiError> {
        let what = format!("get blob {id}");
        let resp = self
            .call(
                &what,
                Method::GET,
                &format!("/blobs/{id}"),
                None,
                Mode::Safe,
            )
            .await?;
        Ok(decode::<BlobEnvelope>(&what, resp).await?.blob)
    }

    /// `GET /blobs/{uid}/object`, with a presigned download URL if asked.
    pub async fn blob_object(&self, uid: &str, download_url: bool) -> Result<Blob, ApiError> {
        let what = format!("get blob {uid}");
        let path = if download_url {
            format!("/blobs/{uid}/object?download_url=1")
        } else {
            format!("/blobs/{uid}/object")
        };
        let resp = self
            .call(&what, Method::GET, &path, None, Mode::Safe)
            .await?;
        Ok(decode::<BlobEnvelope>(&what, resp).await?.blob)
    }

    /// The record behind an id or a uid.
    pub async fn resolve(&self, blob: &BlobRef) -> Result<Blob, ApiError> {
        match blob {
            BlobRef::Id(id) => self.blob(*id).await,
            BlobRef::Uid(uid) => self.blob_object(uid, false).await,
        }
    }

    /// The record behind an id or a uid, for a download: with the presigned GET when
    /// the same request can give it. For a uid, `GET /blobs/{uid}/object?download_url=1`
    /// does, which saves the download redirect (one request a file less); an id's
    /// record carries no URL, and the redirect is asked for later as before.
    pub async fn resolve_for_download(
        &self,
        blob: &BlobRef,
    ) -> Result<(Blob, Option<Url>), ApiError> {
        let uid = match blob {
            BlobRef::Id(id) => return Ok((self.blob(*id).await?, None)),
            BlobRef::Uid(uid) => uid,
        };
        let mut blob = self.blob_object(uid, true).await?;
        // Taken out, so the record prints as `resolve`'s does. A URL that is not an
        // absolute http(s) one is left to the redirect, which says what is wrong.
        let url = blob
            .blob_object_access
            .take()
            .and_then(|access| access.download_url)
            .and_then(|text| Url::parse(&text).ok())
            .filter(|url| is_storage_url(url) && blob.is_complete());
        Ok((blob, url))
    }

    /// `GET /blobs?page=&per_page=`.
    pub async fn list_blobs(&self, page: u64, per_page: u64) -> Result<BlobPage, ApiError> {
        let what = format!("list page {page}");
        let path = format!("/blobs?page={page}&per_page={per_page}");
        let resp = self
            .call(&what, Method::GET, &path, None, Mode::Safe)
            .await?;
        decode(&what, resp).await
    }

    /// `PUT /blobs/{id}` with a new name.
    pub async fn rename_blob(&self, id: u64, name: &str) -> Result<Blob, ApiError> {
        let what = format!("rename blob {id}");
        let body = json!({"blob": {"name": name}});
        let resp = self
            .call(
                &what,
                Method::PUT,
                &format!("/blobs/{id}"),
                Some(body),
                Mode::Safe,
            )
            .await?;
        Ok(decode::<BlobEnvelope>(&what, resp).await?.blob)
    }

    /// `PUT /blobs/{id}` with the changes; the record as it now is (with an upload
    /// form when `changes.renew`). Safe to send again: a repeated `new` only renews
    /// a blob that has no content yet.
    pub async fn update_blob(&self, id: u64, changes: &BlobChanges) -> Result<Blob, ApiError> {
        let what = if changes.renew {
            format!("replace blob {id}")
        } else {
            format!("edit blob {id}")
        };
        let resp = self
            .call(
                &what,
                Method::PUT,
                &format!("/blobs/{id}"),
                Some(changes.body()),
                Mode::Safe,
            )
            .await?;
        Ok(decode::<BlobEnvelope>(&what, resp).await?.blob)
    }

    /// The id behind an id or a uid: no request for an id, one for a uid (the calls
    /// that change a blob take its id only).
    pub async fn blob_id(&self, blob: &BlobRef) -> Result<u64, ApiError> {
        match blob {
            BlobRef::Id(id) => Ok(*id),
            BlobRef::Uid(uid) => Ok(self.blob_object(uid, false).await?.id),
        }
    }

    /// `DELETE /blobs/{id}`. A 404 after a retry means an earlier try did it.
    pub async fn delete_blob(&self, id: u64) -> Result<(), ApiError> {
        let what = format!("delete blob {id}");
        self.call(
            &what,
            Method::DELETE,
            &format!("/blobs/{id}"),
            None,
            Mode::Safe,
        )
        .await?;
        Ok(())
    }

    /// `GET /blobs/{uid}/download`: the presigned storage URL it redirects to.
    pub async fn download_location(&self, uid: &str) -> Result<Url, ApiError> {
        let what = format!("download blob {uid}");
        let path = format!("/blobs/{uid}/download");
        let resp = self
            .call(&what, Method::GET, &path, None, Mode::Safe)
            .await?;
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let decode_err = |detail: String| ApiError::Decode {
            what: what.clone(),
            detail,
        };
        let location = match location {
            Some(l) if resp.status().is_redirection() => l,
            _ => {
                return Err(decode_err(format!(
                    "expected a redirect to the file, got {}",
                    resp.status()
                )))
            }
        };
        let url = resp
            .url()
            .join(&location)
            .map_err(|e| decode_err(format!("bad redirect location: {e}")))?;
        // Storage is reached over HTTP; anything else (`file://`, `ftp://`) is a broken
        // or hostile server, and no retry makes it right.
        if !is_storage_url(&url) {
            return Err(decode_err(format!(
                "it redirects to `{}`, which is not an http(s) URL",
                redact_url(&url)
            )));
        }
        Ok(url)
    }

    // ----- the one place where requests are sent and answers checked -----

    async fn call(
        &self,
        what: &str,
        method: Method,
        path_and_query: &str,
        body: Option<Value>,
        mode: Mode,
    ) -> Result<Response, ApiError> {
        let url = self.api_url(path_and_query);
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            let (token, generation) = {
                let auth = self.inner.auth.read().unwrap();
                (auth.token.clone(), auth.generation)
            };
            let mut req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .timeout(self.inner.timeout)
                .header("CB-SDK", super::sdk_header());
            if mode != Mode::Login {
                match &token {
                    Some(t) => req = req.header("CB-Token", t.expose()),
                    None if self.inner.renew.is_some() => {
                        self.renew_session(generation).await?;
                        continue;
                    }
                    None => {}
                }
            }
            if let Some(body) = &body {
                req = req.json(body);
            }
            self.log_request(&method, &url, token.is_some() && mode != Mode::Login);
            let started = Instant::now();
            let result = req.send().await;
            let retries_left = attempt < self.inner.retry.retries;
            match result {
                Err(source) => {
                    self.log_line(&format!(
                        "< {source} ({} ms)",
                        started.elapsed().as_millis()
                    ));
                    let retry = match mode {
                        // A request that could not be built (a scheme reqwest refuses)
                        // fails the same way every time.
                        _ if source.is_builder() => false,
                        Mode::Safe | Mode::Login => true,
                        Mode::Create => source.is_connect(),
                    };
                    // Nothing listens there: one more try covers a server restarting,
                    // and a server that is not running is reported at once, not after
                    // every backoff of `--retries`.
                    let retries_left = retries_left
                        && worth_retrying(&source)
                        && !(is_refused(&source) && attempt >= 1);
                    if retry && retries_left {
                        tokio::time::sleep(self.inner.retry.delay(attempt, None)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(ApiError::Transport {
                        what: what.to_string(),
                        url: redact_url(&url),
                        timeout: source.is_timeout().then_some(self.inner.timeout),
                        storage: false,
                        // The URL is shown above, redacted; reqwest's own text has it whole.
                        source: source.without_url(),
                    });
                }
                Ok(resp) => {
                    let status = resp.status();
                    self.log_line(&format!(
                        "< {} ({} ms)",
                        status,
                        started.elapsed().as_millis()
                    ));
                    self.note_expiry(&resp);
                    if status.is_success() || status.is_redirection() {
                        return Ok(resp);
                    }
                    if method == Method::DELETE && status == StatusCode::NOT_FOUND && attempt > 0 {
                        // An earlier try was done but its answer was lost.
                        return Ok(resp);
                    }
                    let retry_after = parse_retry_after(resp.headers().get("retry-after"));
                    // Only the start of an error body is read: it is for a message.
                    let text = match read_body(resp, ERROR_LIMIT).await {
                        Ok(bytes) | Err(BodyError::TooLarge(bytes)) => {
                            String::from_utf8_lossy(&bytes).into_owned()
                        }
                        Err(BodyError::Broken(_)) => String::new(),
                    };
                    let err = ApiError::Status {
                        what: what.to_string(),
                        status: status.as_u16(),
                        messages: error_messages(&text),
                        retry_after,
                        token: match mode == Mode::Login || token.is_none() {
                            true => TokenOf::Profile(self.inner.profile.lock().unwrap().clone()),
                            false => self.token_of(generation),
                        },
                    };
                    if err.is_session_missing()
                        && mode != Mode::Login
                        && !renewed
                        && self.inner.renew.is_some()
                    {
                        renewed = true;
                        self.renew_session(generation).await?;
                        continue;
                    }
                    let retry = match mode {
                        Mode::Safe | Mode::Login => retryable_status(status.as_u16()),
                        // 429 and 503 say the request was turned away, not acted on.
                        Mode::Create => matches!(status.as_u16(), 429 | 503),
                    };
                    if retry && retries_left {
                        tokio::time::sleep(self.inner.retry.delay(attempt, retry_after)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Creates a new session unless another task already did since `seen_generation`.
    async fn renew_session(&self, seen_generation: u64) -> Result<(), ApiError> {
        let Some(creds) = &self.inner.renew else {
            return Err(ApiError::NotLoggedIn("not logged in".into()));
        };
        let _guard = self.inner.renew_lock.lock().await;
        if self.inner.auth.read().unwrap().generation != seen_generation {
            return Ok(());
        }
        self.log_line("* the session is gone: creating a new one");
        Box::pin(self.create_session(creds)).await.map(|_| ())
    }

    fn api_url(&self, path_and_query: &str) -> Url {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut url = self.url(path);
        url.set_query(query);
        url
    }

    fn note_expiry(&self, resp: &Response) {
        let expiry = resp
            .headers()
            .get("CB-Token-ExpirationDate")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_expiry);
        if let Some(expiry) = expiry {
            self.inner.auth.write().unwrap().expires = Some(expiry);
        }
    }

    fn log_request(&self, method: &Method, url: &Url, with_token: bool) {
        if self.inner.verbose {
            let token = if with_token {
                " (CB-Token: <redacted>)"
            } else {
                ""
            };
            self.log_line(&format!("> {method} {}{token}", redact_url(url)));
        }
    }

    /// A line of the `-v` request log on stderr.
    pub fn log_line(&self, line: &str) {
        if self.inner.verbose {
            eprintln!("{line}");
        }
    }

    /// Logs a request to the storage host (made by the transfer engine).
    pub fn log_storage_request(&self, method: &str, url: &Url) {
        if self.inner.verbose {
            self.log_line(&format!("> {method} {}", redact_url(url)));
        }
    }
}

/// The JSON body of `POST /session`, signed when an auth secret is given.
fn session_body(creds: &SessionCredentials) -> Value {
    let mut flat: Vec<(String, String)> = vec![
        ("application_id".into(), creds.app_id.to_string()),
        ("auth_key".into(), creds.auth_key.expose().to_string()),
    ];
    if let Some((name, password)) = &creds.user {
        let (key, value) = match name {
            LoginName::Login(l) => ("login", l),
            LoginName::Email(e) => ("email", e),
        };
        flat.push((format!("user[{key}]"), value.clone()));
        flat.push(("user[password]".into(), password.expose().to_string()));
    }
    let mut body = json!({
        "application_id": creds.app_id,
        "auth_key": creds.auth_key.expose(),
    });
    if let Some((name, password)) = &creds.user {
        let user = match name {
            LoginName::Login(l) => json!({"login": l, "password": password.expose()}),
            LoginName::Email(e) => json!({"email": e, "password": password.expose()}),
        };
        body["user"] = user;
    }
    if let Some(secret) = &creds.auth_secret {
        let nonce: u32 = rand::random::<u32>() % 1_000_000_000;
        let timestamp = Utc::now().timestamp();
        flat.push(("nonce".into(), nonce.to_string()));
        flat.push(("timestamp".into(), timestamp.to_string()));
        body["nonce"] = json!(nonce);
        body["timestamp"] = json!(timestamp);
        body["signature"] = json!(crate::crypto::legacy_session_signature(
            secret.expose(),
            &flat
        ));
    }
    body
}

/// `2023-09-15 15:44:51 UTC`.
fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S UTC").ok()?;
    Some(naive.and_utc())
}

/// A URL for logs and messages: `token` and signature values hidden.
/// Storage is reached over HTTP; anything else (`file://`, `ftp://`) is a broken or
/// hostile server.
fn is_storage_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

pub(crate) fn redact_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = matches!(
                k.to_ascii_lowercase().as_str(),
                // A presigned URL made with temporary credentials carries their
                // session token: as good as the key for as long as it lives.
                "token" | "x-amz-signature" | "signature" | "x-amz-security-token"
            );
            let value = if secret {
                "<redacted>".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

/// The most of a 2xx answer held in memory: a page of 100 records is some 50 KB, so
/// this leaves room to spare while a broken or hostile server cannot fill the memory.
pub const ANSWER_LIMIT: usize = 8 * 1024 * 1024;
/// The most of an error body read: it only makes a message.
const ERROR_LIMIT: usize = 16 * 1024;

enum BodyError {
    /// The body passed the limit: what was read, up to the limit.
    TooLarge(Vec<u8>),
    Broken(reqwest::Error),
}

/// Reads a body chunk by chunk and stops at `limit` bytes, never trusting its size.
async fn read_body(mut resp: Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge(Vec::new()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Broken)? {
        if bytes.len() + chunk.len() > limit {
            bytes.extend_from_slice(&chunk[..limit - bytes.len()]);
            return Err(BodyError::TooLarge(bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads a 2xx JSON body into `T`.
async fn decode<T: DeserializeOwned>(what: &str, resp: Response) -> Result<T, ApiError> {
    let bytes = read_body(resp, ANSWER_LIMIT)
        .await
        .map_err(|e| ApiError::Decode {
            what: what.to_string(),
            detail: match e {
                BodyError::TooLarge(_) => format!(
                    "the answer is larger than the {} MiB limit",
                    ANSWER_LIMIT / (1024 * 1024)
                ),
                BodyError::Broken(e) => format!("the answer broke off: {e}"),
            },
        })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http_except_on_loopback() {
        assert!(ClientConfig::parse_url("https://api.connectycube.com", false).is_ok());
        assert!(ClientConfig::parse_url("http://127.0.0.1:8080", false).is_ok());
        assert!(ClientConfig::parse_url("http://[::1]:8080", false).is_ok());
        assert!(ClientConfig::parse_url("http://localhost:8080", false).is_ok());
        assert!(ClientConfig::parse_url("http://api.example.com", false).is_err());
        assert!(ClientConfig::parse_url("http://api.example.com", true).is_ok());
        assert!(ClientConfig::parse_url("ftp://x", true).is_err());
        assert!(ClientConfig::parse_url("not a url", true).is_err());
    }

    #[test]
    fn reads_the_expiry_header() {
        let t = parse_expiry("2023-09-15 15:44:51 UTC").unwrap();
        assert_eq!(t.to_rfc3339(), "2023-09-15T15:44:51+00:00");
        assert!(parse_expiry("yesterday").is_none());
    }

    #[test]
    fn redacts_tokens_and_signatures_in_urls() {
        let url = Url::parse(
            "http://h/blobs/ab?token=SECRET&X-Amz-Signature=SIG&X-Amz-Security-Token=STS&a=1",
        )
        .unwrap();
        let shown = redact_url(&url);
        assert!(
            !shown.contains("SECRET") && !shown.contains("SIG&") && !shown.contains("STS"),
            "{shown}"
        );
        assert!(shown.contains("a=1"));
    }

    #[test]
    fn signs_the_session_body_when_asked() {
        let creds = SessionCredentials {
            app_id: 12345,
            auth_key: Secret::new("AbCdEfGhIjKlMnO"),
            user: Some((LoginName::Login("john".into()), Secret::new("11111111"))),
            auth_secret: Some(Secret::new("test_auth_secret")),
        };
        let body = session_body(&creds);
        let flat = vec![
            ("application_id".to_string(), "12345".to_string()),
            ("auth_key".into(), "AbCdEfGhIjKlMnO".into()),
            ("user[login]".into(), "john".into()),
            ("user[password]".into(), "11111111".into()),
            ("nonce".into(), body["nonce"].to_string()),
            ("timestamp".into(), body["timestamp"].to_string()),
        ];
        assert_eq!(
            body["signature"].as_str().unwrap(),
            crate::crypto::legacy_session_signature("test_auth_secret", &flat)
        );
        assert_eq!(body["user"]["login"], "john");
    }
}
