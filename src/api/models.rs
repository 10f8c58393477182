//! Serde models for the shapes of the contract, lenient in what they accept:
//! null sizes, sizes as strings, `download_url` or `dowload_url`, wrapped list items.

use serde::{Deserialize, Deserializer, Serialize};

use crate::exit::InputError;

/// How long a blob name may be, in characters: the service's own limits.
pub const BLOB_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=100;

/// A blob record as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    pub id: u64,
    pub uid: String,
    #[serde(default)]
    pub content_type: Option<String>,
    pub name: String,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub blob_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_object_access: Option<BlobObjectAccess>,
}

impl Blob {
    pub fn is_complete(&self) -> bool {
        self.blob_status.as_deref() == Some("complete")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawObjectAccess")]
pub struct BlobObjectAccess {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub blob_id: Option<u64>,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub object_access_type: Option<String>,
    /// The S3 upload URL with the form fields as its query (write access).
    #[serde(default)]
    pub params: Option<String>,
    /// A presigned GET (read access); the docs spell it `dowload_url`.
    #[serde(default)]
    pub download_url: Option<String>,
}

/// The wire form: a server may send both spellings of the download URL at once,
/// which a serde alias would refuse as a duplicate field.
#[derive(Deserialize)]
struct RawObjectAccess {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    blob_id: Option<u64>,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    object_access_type: Option<String>,
    #[serde(default)]
    params: Option<String>,
    #[serde(default)]
    download_url: Option<String>,
    #[serde(default)]
    dowload_url: Option<String>,
}

impl From<RawObjectAccess> for BlobObjectAccess {
    fn from(raw: RawObjectAccess) -> BlobObjectAccess {
        BlobObjectAccess {
            id: raw.id,
            blob_id: raw.blob_id,
            expires: raw.expires,
            object_access_type: raw.object_access_type,
            params: raw.params,
            download_url: raw.download_url.or(raw.dowload_url),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct BlobEnvelope {
    pub blob: Blob,
}

/// One page of `GET /blobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct BlobPage {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub current_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub per_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_entries: Option<u64>,
    #[serde(default, deserialize_with = "unwrap_items")]
    pub items: Vec<Blob>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
}

/// A session; the token is taken out and wrapped as a `Secret` by the client.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub user_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub application_id: Option<u64>,
    #[serde(default)]
    pub token: Option<crate::secret::Secret>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SessionEnvelope {
    pub session: Session,
}

impl<'de> Deserialize<'de> for crate::secret::Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(crate::secret::Secret::new)
    }
}

/// A number, a numeric string, or null.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(u64),
        Text(String),
        Float(f64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Num(n)) => Some(n),
        Some(Raw::Text(s)) => s.trim().parse().ok(),
        Some(Raw::Float(f)) if f >= 0.0 => Some(f as u64),
        Some(Raw::Float(_)) => None,
    })
}

/// List items come wrapped (`{"blob": {...}}`); accept bare ones too.
fn unwrap_items<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Blob>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Wrapped { blob: Blob },
        Bare(Blob),
    }
    let items = Option::<Vec<Item>>::deserialize(d)?.unwrap_or_default();
    Ok(items
        .into_iter()
        .map(|item| match item {
            Item::Wrapped { blob } | Item::Bare(blob) => blob,
        })
        .collect())
}

/// What `PUT /blobs/{id}` changes; `None` leaves a field as it is. `renew` asks for
/// new content: the blob keeps its id, gets a new uid and an upload form, and its old
/// content is dropped by the service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobChanges {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub renew: bool,
}

impl BlobChanges {
    /// The request body: `{"blob": {...}}` with only what changes (`new` as the
    /// documented `"1"`).
    pub fn body(&self) -> serde_json::Value {
        let mut blob = serde_json::Map::new();
        if let Some(name) = &self.name {
            blob.insert("name".into(), name.clone().into());
        }
        if let Some(content_type) = &self.content_type {
            blob.insert("content_type".into(), content_type.clone().into());
        }
        if self.renew {
            blob.insert("new".into(), "1".into());
        }
        serde_json::json!({ "blob": blob })
    }
}

/// A blob name the service takes (1 to 100 characters), checked before any request.
pub fn check_blob_name(name: &str) -> Result<(), InputError> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err(InputError::Invalid("the new name is empty".into()));
    }
    if chars > *BLOB_NAME_CHARS.end() {
        return Err(InputError::Invalid(format!(
            "the new name has {chars} characters; the most a blob name may have is {}",
            BLOB_NAME_CHARS.end()
        )));
    }
    if has_control(name) {
        return Err(InputError::Invalid(format!(
            "the new name `{}` has a control character; a blob name is one line of text",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// A tab, a newline or another control character: a name with one would break the
/// tab-separated output that scripts read, one record a line.
pub fn has_control(name: &str) -> bool {
    name.chars().any(char::is_control)
}

/// A content type worth sending: `type/subtype`, at most 255 bytes, no control
/// characters. The service checks the rest.
pub fn check_content_type(content_type: &str) -> Result<(), InputError> {
    let valid = content_type.len() <= 255
        && content_type.contains('/')
        && !content_type
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() && c != ' ');
    if valid {
        Ok(())
    } else {
        Err(InputError::Invalid(format!(
            "`{}` is not a content type (like `image/jpeg`)",
            content_type.escape_debug()
        )))
    }
}

/// A blob named on the command line: an id (digits) or a uid (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobRef {
    Id(u64),
    Uid(String),
}

impl BlobRef {
    /// Digits are an id, unless as long as a uid (32 or more); hex is a uid.
    pub fn parse(text: &str) -> Result<BlobRef, InputError> {
        let t = text.trim();
        let bad = || {
            InputError::Invalid(format!(
                "`{}` is neither a blob id (digits) nor a uid (hex)",
                t.escape_debug()
            ))
        };
        if t.is_empty() || t.len() > 128 {
            return Err(bad());
        }
        if t.bytes().all(|b| b.is_ascii_digit()) && t.len() < 32 {
            return match t.parse::<u64>() {
                Ok(0) => Err(InputError::Invalid(
                    "`0` is not a blob id: ids start at 1".into(),
                )),
                Err(_) => Err(bad()),
                Ok(id) => Ok(BlobRef::Id(id)),
            };
        }
        if t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(BlobRef::Uid(t.to_string()));
        }
        Err(bad())
    }

    /// Only an id: for the calls the API offers by id alone.
    pub fn parse_id(text: &str) -> Result<u64, InputError> {
        match BlobRef::parse(text) {
            Ok(BlobRef::Id(id)) => Ok(id),
            _ => Err(InputError::Invalid(format!(
                "`{}` is not a blob id (a positive whole number)",
                text.trim().escape_debug()
            ))),
        }
    }
}

impl std::fmt::Display for BlobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobRef::Id(id) => write!(f, "{id}"),
            BlobRef::Uid(uid) => f.write_str(uid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_create_answer_with_null_size() {
        let body = r#"{"blob": {"id": 46919, "uid": "763ef825ad8748239ed07def2c14555100",
            "content_type": "image/jpeg", "name": "cat.jpeg", "size": null,
            "created_at": "2018-12-10T10:26:01Z", "updated_at": "2018-12-10T10:26:01Z",
            "public": true, "blob_object_access": {"id": 46919, "blob_id": 46919,
            "expires": "2018-12-10T11:26:01Z", "object_access_type": "Write",
            "params": "https://s3.amazonaws.com/cb-shared-s3?key=x"}}}"#;
        let blob: BlobEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(blob.blob.size, None);
        assert!(blob.blob.blob_object_access.unwrap().params.is_some());
    }

    #[test]
    fn accepts_both_spellings_of_download_url_and_string_sizes() {
        let both = r#"{"blob": {"id": 1, "uid": "ab", "name": "n", "blob_object_access":
            {"download_url": "http://s3/x", "dowload_url": "http://s3/x"}}}"#;
        let blob: BlobEnvelope = serde_json::from_str(both).unwrap();
        assert!(blob.blob.blob_object_access.unwrap().download_url.is_some());
        for key in ["download_url", "dowload_url"] {
            let body = format!(
                r#"{{"blob": {{"id": 1, "uid": "ab", "name": "n", "size": "347",
                "blob_object_access": {{"{key}": "http://s3/x"}}}}}}"#
            );
            let blob: BlobEnvelope = serde_json::from_str(&body).unwrap();
            assert_eq!(blob.blob.size, Some(347));
            assert_eq!(
                blob.blob
                    .blob_object_access
                    .unwrap()
                    .download_url
                    .as_deref(),
                Some("http://s3/x")
            );
        }
    }

    #[test]
    fn unwraps_list_items() {
        let body = r#"{"current_page": 1, "per_page": 10, "total_entries": 2,
            "items": [{"blob": {"id": 1, "uid": "a1", "name": "x"}}, {"id": 2, "uid": "b2", "name": "y"}]}"#;
        let page: BlobPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.items.iter().map(|b| b.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(page.total_entries, Some(2));
    }

    #[test]
    fn changes_send_only_what_changes() {
        let rename = BlobChanges {
            name: Some("a.txt".into()),
            ..BlobChanges::default()
        };
        assert_eq!(
            rename.body(),
            serde_json::json!({"blob": {"name": "a.txt"}})
        );
        let replace = BlobChanges {
            content_type: Some("image/png".into()),
            renew: true,
            ..BlobChanges::default()
        };
        assert_eq!(
            replace.body(),
            serde_json::json!({"blob": {"content_type": "image/png", "new": "1"}})
        );
    }

    #[test]
    fn names_and_content_types_are_checked_locally() {
        assert!(check_blob_name("").is_err());
        assert!(check_blob_name("a").is_ok());
        assert!(check_blob_name(&"é".repeat(100)).is_ok());
        assert!(check_blob_name(&"a".repeat(101)).is_err());
        assert!(check_blob_name("a\tb").is_err());
        assert!(check_blob_name("a\nb").is_err());
        assert!(check_content_type("image/png").is_ok());
        assert!(check_content_type("text/plain; charset=utf-8").is_ok());
        assert!(check_content_type("png").is_err());
        assert!(check_content_type("a/b\tc").is_err());
        assert!(check_content_type("a/b\n").is_err());
    }

    #[test]
    fn tells_ids_from_uids() {
        assert_eq!(BlobRef::parse("46919").unwrap(), BlobRef::Id(46919));
        assert_eq!(
            BlobRef::parse("763ef825ad8748239ed07def2c14555100").unwrap(),
            BlobRef::Uid("763ef825ad8748239ed07def2c14555100".into())
        );
        assert_eq!(
            BlobRef::parse("12345678901234567890123456789012").unwrap(),
            BlobRef::Uid("12345678901234567890123456789012".into())
        );
        assert!(BlobRef::parse("0").is_err());
        assert!(BlobRef::parse("../x").is_err());
        assert!(BlobRef::parse("").is_err());
        assert!(BlobRef::parse_id("abc").is_err());
    }
}
