//! `ApiError`: every way a call to the API or to the storage host can fail, with the
//! exit code and the hint that each calls for.

use std::time::Duration;

use super::retry::Failure;
use crate::exit::Exit;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{what} failed: {status} {}", .messages.join("; "))]
    Status {
        what: String,
        status: u16,
        messages: Vec<String>,
        retry_after: Option<Duration>,
        /// Whose token the request carried, for a 401's hint.
        token: TokenOf,
    },
    /// The request never got an answer (name not resolved, connection refused, TLS
    /// failed, reset, timed out). Its text says which, with the deepest cause; the
    /// causes in between are reqwest's and hyper's words for the same thing.
    #[error("{what} failed: {}", describe_transport(.source, .url, .timeout))]
    Transport {
        what: String,
        url: String,
        timeout: Option<Duration>,
        /// The URL is the storage host's, from the API's answer (an upload form, a
        /// download redirect), not one the user gave: the hints say so.
        storage: bool,
        #[source]
        source: reqwest::Error,
    },
    /// A transfer to or from storage made no progress for the allowed time.
    #[error("{what} failed: no progress for {}s (`{url}`)", .after.as_secs())]
    Stalled {
        what: String,
        url: String,
        after: Duration,
    },
    /// The server answered 2xx with a body we cannot read.
    #[error("{what}: unexpected answer from the server: {detail}")]
    Decode { what: String, detail: String },
    /// The storage (S3) host refused an upload or download.
    #[error("{what} failed: {error}")]
    Storage { what: String, error: StorageError },
    /// No session could be made or used, before any request.
    #[error("{0}")]
    NotLoggedIn(String),
}

/// Whose token a request carried: what makes a new one differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOf {
    /// The variable `CUBEBLOB_TOKEN`'s: only a fresh one there helps.
    Environment,
    /// A profile's stored session, or none yet: the profile's name unless it is the
    /// default one, which a plain `cubeblob login` logs in to.
    Profile(Option<String>),
}

/// The hint for a 401 to the token of `CUBEBLOB_TOKEN`: `cubeblob login` cannot help,
/// since the variable's token is used whatever the profile stores.
pub const ENV_TOKEN_HINT: &str = "the token in CUBEBLOB_TOKEN was refused or has expired: \
                                  set a fresh one, or unset it to use the profile's session";

fn describe_transport(source: &reqwest::Error, url: &str, timeout: &Option<Duration>) -> String {
    if source.is_builder() {
        return format!("cannot send a request to `{url}`: {}", innermost(source));
    }
    match Failure::of(source) {
        Failure::Timeout => match timeout {
            Some(t) => format!("no answer from `{url}` within the {}s timeout", t.as_secs()),
            None => format!("no answer from `{url}` in time"),
        },
        Failure::Resolve => format!(
            "cannot resolve the host name `{}` of `{url}` ({})",
            host(url),
            innermost(source)
        ),
        Failure::Refused => format!("cannot connect to `{url}`: connection refused"),
        Failure::Tls => format!(
            "the TLS handshake with `{url}` failed: {}",
            innermost(source)
        ),
        Failure::Other if source.is_connect() => {
            format!("cannot connect to `{url}`: {}", innermost(source))
        }
        Failure::Other => format!("connection to `{url}` broke: {}", innermost(source)),
    }
}

/// The host of a URL as shown in messages (the URL itself if it has none).
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// The deepest cause's text ("URL scheme is not allowed", rustls's reason).
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(next) = e.source() {
        e = next;
    }
    e.to_string()
}

/// An S3 error: the XML `<Error>` body, or the status alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl StorageError {
    /// Reads an S3 XML error body; falls back to the raw text.
    pub fn parse(status: u16, body: &str) -> StorageError {
        let code = xml_element(body, "Code").unwrap_or_default();
        let message = xml_element(body, "Message").unwrap_or_else(|| {
            let trimmed = body.trim();
            trimmed.chars().take(200).collect()
        });
        StorageError {
            status,
            code,
            message,
        }
    }

    pub fn is_policy_expired(&self) -> bool {
        self.status == 403 && self.message.contains("Policy expired")
    }
}

/// The text of the first `<tag>…</tag>` in a small XML document, entities decoded.
pub fn xml_element(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(decode_entities(body[start..end].trim()))
}

/// XML's five named entities and numeric references, in one pass. Go's encoding/xml
/// writes `"` as `&#34;`, so SeaweedFS and MinIO send `<ETag>&#34;…&#34;</ETag>`; read
/// as text, such an ETag is no MD5, and the upload's checksum went unchecked.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let c = match &rest[1..end] {
                "quot" => '"',
                "apos" => '\'',
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                other => {
                    let number = other.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match entity {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            // Not an entity: keep the `&` as it came.
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Storage { error, .. } => Some(error.status),
            _ => None,
        }
    }

    /// The server says the token is gone: the SDKs re-create the session on exactly this.
    pub fn is_session_missing(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, messages, .. }
            if messages.iter().any(|m| m.contains("Required session does not exist")))
    }

    pub fn exit(&self) -> Exit {
        match self {
            ApiError::Status { status, .. } => match status {
                401 | 403 => Exit::Auth,
                404 => Exit::NotFound,
                400 | 413 | 422 => Exit::Invalid,
                _ => Exit::Network,
            },
            ApiError::NotLoggedIn(_) => Exit::Auth,
            ApiError::Storage { error, .. } if error.code == "EntityTooLarge" => Exit::Invalid,
            ApiError::Transport { .. }
            | ApiError::Stalled { .. }
            | ApiError::Decode { .. }
            | ApiError::Storage { .. } => Exit::Network,
        }
    }

    /// What the user can do about it, where we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            ApiError::Status {
                status: 401,
                token: TokenOf::Environment,
                ..
            } => Some(ENV_TOKEN_HINT.into()),
            ApiError::Status {
                status: 401,
                token: TokenOf::Profile(Some(name)),
                ..
            } => Some(format!(
                "run `cubeblob --profile {name} login`: it makes a new session for the \
                 profile, asking only for the password"
            )),
            ApiError::Status { status: 401, .. } => Some(
                "run `cubeblob login`: with no options it makes a new session for the \
                 profile, asking only for the password (in CI, set CUBEBLOB_APP_ID, \
                 CUBEBLOB_AUTH_KEY, CUBEBLOB_LOGIN and CUBEBLOB_PASSWORD)"
                    .into(),
            ),
            ApiError::NotLoggedIn(_) => Some(
                "run `cubeblob login`, or set CUBEBLOB_APP_ID, CUBEBLOB_AUTH_KEY, \
                 CUBEBLOB_LOGIN and CUBEBLOB_PASSWORD"
                    .into(),
            ),
            ApiError::Status {
                status: 403,
                messages,
                ..
            } if messages.iter().any(|m| m.contains("Need user")) => Some(
                "this token belongs to an application session, which may only read: \
                 log in as a user with `cubeblob login --login NAME`"
                    .into(),
            ),
            // A request that could not be built says nothing about the server.
            ApiError::Transport { source, .. } if source.is_builder() => None,
            ApiError::Transport {
                source,
                url,
                storage: true,
                ..
            } => Some(storage_hint(source, url)),
            ApiError::Transport { source, url, .. } => Some(match Failure::of(source) {
                Failure::Timeout => "raise the limit with `--timeout SECS`".into(),
                Failure::Resolve => format!(
                    "check the host name (in `--api-url`, CUBEBLOB_API_URL or the profile), \
                     and that this machine has a network and DNS; `{}` was not retried",
                    host(url)
                ),
                Failure::Refused => {
                    format!("check that the server at `{url}` is running, or pass `--api-url`")
                }
                Failure::Tls => "the address may not speak https (a local `cubeblob serve` \
                                 is http://), or its certificate is not trusted"
                    .into(),
                Failure::Other => format!(
                    "check the network and that the server at `{url}` is reachable, or pass \
                     `--api-url`"
                ),
            }),
            ApiError::Stalled { .. } => Some(
                "the link may be down or very slow; raise the limit with `--timeout SECS`".into(),
            ),
            _ => None,
        }
    }
}

/// What to check when the storage host failed. Its address came in the API's answer
/// (a redirect or an upload form), so `--api-url` would not change it; a `cubeblob
/// serve` names it from its `--public-url` (or its listen address).
fn storage_hint(source: &reqwest::Error, url: &str) -> String {
    let whose = "the address came in the API's redirect or upload form, so it is the \
                 server's to fix (for `cubeblob serve`, its `--public-url`)";
    match Failure::of(source) {
        Failure::Timeout => "raise the limit with `--timeout SECS`".into(),
        Failure::Resolve => format!(
            "check that this machine has a network and DNS; {whose}; `{}` was not retried",
            host(url)
        ),
        Failure::Refused => format!(
            "nothing answers at the storage host `{}`; {whose}",
            host(url)
        ),
        Failure::Tls => format!(
            "the storage host `{}` may not speak https, or its certificate is not trusted; \
             {whose}",
            host(url)
        ),
        Failure::Other => format!(
            "check the network and that the storage host `{}` is reachable; {whose}",
            host(url)
        ),
    }
}

/// The most messages taken from one `errors` body, and the most characters of each
/// (then `…`): a field name is repeated in each of its messages, so without a bound a
/// hostile body of a few MB would be shown as gigabytes.
pub(crate) const MAX_MESSAGES: usize = 20;
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;

/// The messages of an `errors` body in either shape, else the raw text.
pub(crate) fn error_messages(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        match map.get("errors") {
            Some(serde_json::Value::Object(fields)) => {
                'fields: for (field, value) in fields {
                    for item in one(value) {
                        if out.len() == MAX_MESSAGES {
                            break 'fields;
                        }
                        let text = clip(&value_text(item));
                        out.push(if field == "base" {
                            text
                        } else {
                            clip(&format!("{} {text}", clip(field)))
                        });
                    }
                }
            }
            Some(other) => out.extend(one(other).into_iter().map(|v| clip(&value_text(v)))),
            None => {}
        }
    }
    if out.is_empty() {
        let text = clip(body.trim());
        if !text.is_empty() {
            out.push(text);
        }
    }
    out
}

/// The first values of an array, or a lone value.
fn one(values: &serde_json::Value) -> Vec<&serde_json::Value> {
    match values {
        serde_json::Value::Array(items) => items.iter().take(MAX_MESSAGES).collect(),
        other => vec![other],
    }
}

fn clip(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(MAX_MESSAGE_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_error_shapes_and_raw_text() {
        assert_eq!(
            error_messages(r#"{"errors":["Invalid password"]}"#),
            ["Invalid password"]
        );
        assert_eq!(
            error_messages(r#"{"errors":{"base":["Required session does not exist"]}}"#),
            ["Required session does not exist"]
        );
        assert_eq!(
            error_messages(r#"{"errors":{"name":["is too long (maximum is 100 characters)"]}}"#),
            ["name is too long (maximum is 100 characters)"]
        );
        assert_eq!(
            error_messages("Internal Server Error"),
            ["Internal Server Error"]
        );
        assert!(error_messages("").is_empty());
    }

    #[test]
    fn a_hostile_errors_body_gives_a_bounded_answer() {
        // One long field name with many messages: each message would repeat the name.
        let body = format!(
            r#"{{"errors":{{"{}":[{}1]}}}}"#,
            "k".repeat(100_000),
            "1,".repeat(100_000)
        );
        let messages = error_messages(&body);
        assert_eq!(messages.len(), MAX_MESSAGES);
        for message in &messages {
            assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
            assert!(message.ends_with('…'));
        }
        let list = format!(r#"{{"errors":[{}1]}}"#, r#""m","#.repeat(1000));
        assert_eq!(error_messages(&list).len(), MAX_MESSAGES);
        let raw = "x".repeat(1000);
        assert_eq!(error_messages(&raw), [format!("{}…", "x".repeat(300))]);
    }

    #[test]
    fn reads_s3_xml_errors() {
        let body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code>\
            <Message>Invalid according to Policy: Policy expired.</Message></Error>";
        let e = StorageError::parse(403, body);
        assert_eq!(e.code, "AccessDenied");
        assert!(e.is_policy_expired());
        let e = StorageError::parse(502, "Bad Gateway");
        assert_eq!(e.code, "");
        assert_eq!(e.message, "Bad Gateway");
    }

    #[test]
    fn xml_text_decodes_named_and_numeric_entities() {
        // SeaweedFS's answer to a POST, as it sends it.
        let body =
            "<PostResponse><ETag>&#34;3e4bbc4947521f6ce2be28fe74eb90b0&#34;</ETag></PostResponse>";
        assert_eq!(
            xml_element(body, "ETag").as_deref(),
            Some("\"3e4bbc4947521f6ce2be28fe74eb90b0\"")
        );
        let text = |t: &str| xml_element(&format!("<M>{t}</M>"), "M").unwrap();
        assert_eq!(text("&quot;a&#x22; &lt;b&gt; &apos;"), "\"a\" <b> '");
        // Decoded once: `&amp;lt;` is the text `&lt;`.
        assert_eq!(text("&amp;lt; &amp;#34;"), "&lt; &#34;");
        assert_eq!(
            text("a & b &#xZZ; &unknown; &#1114112;"),
            "a & b &#xZZ; &unknown; &#1114112;"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn either_errors_shape_gives_its_messages(
            messages in proptest::collection::vec(".{0,40}", 1..5),
            field in "[a-z_]{1,12}",
        ) {
            let list = serde_json::json!({"errors": messages}).to_string();
            proptest::prop_assert_eq!(error_messages(&list), messages.clone());
            let fields = serde_json::json!({"errors": {field.as_str(): messages}}).to_string();
            let expected: Vec<String> = messages
                .iter()
                .map(|m| if field == "base" { m.clone() } else { format!("{field} {m}") })
                .collect();
            proptest::prop_assert_eq!(error_messages(&fields), expected);
        }

        #[test]
        fn any_body_gives_a_message_unless_blank(body in "(?s).{0,400}") {
            // Whatever the server sends, the user is told something, unless it sent nothing.
            proptest::prop_assert_eq!(error_messages(&body).is_empty(), body.trim().is_empty());
        }
    }

    #[tokio::test]
    async fn a_refused_scheme_says_so_without_blaming_the_server() {
        let source = reqwest::Client::new()
            .get("file:///etc/passwd")
            .send()
            .await
            .unwrap_err();
        let err = ApiError::Transport {
            what: "download".into(),
            url: "file:///etc/passwd".into(),
            timeout: None,
            storage: true,
            source,
        };
        assert!(
            err.to_string().contains(
                "cannot send a request to `file:///etc/passwd`: URL scheme is not allowed"
            ),
            "{err}"
        );
        assert_eq!(err.hint(), None);
    }

    #[test]
    fn exit_codes_follow_the_status() {
        let e = |status| ApiError::Status {
            what: "x".into(),
            status,
            messages: vec![],
            retry_after: None,
            token: TokenOf::Profile(None),
        };
        assert_eq!(e(401).exit(), Exit::Auth);
        assert_eq!(e(403).exit(), Exit::Auth);
        assert_eq!(e(404).exit(), Exit::NotFound);
        assert_eq!(e(422).exit(), Exit::Invalid);
        assert_eq!(e(503).exit(), Exit::Network);
        assert_eq!(e(429).exit(), Exit::Network);
    }
}
