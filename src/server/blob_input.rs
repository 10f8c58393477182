//! What a request may say about a blob, checked: ids and uids in paths, names,
//! content types, page numbers. Pure, so tested inline; the handlers are in `blobs`.

use serde_json::Value;

use super::body::{lenient_u64, scalar_text};
use super::data::is_uid;
use super::errors::ApiError;

pub const NAME_MAX: usize = 100;
pub const CONTENT_TYPE_MAX: usize = 255;
pub const PER_PAGE_DEFAULT: u64 = 10;
pub const PER_PAGE_MAX: u64 = 100;

/// A blob named in a path: digits are an id, hex is a uid (as the client reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobRef {
    Id(i64),
    Uid(String),
}

pub fn parse_ref(text: &str) -> Option<BlobRef> {
    if !text.is_empty() && text.len() < 32 && text.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for an id is no blob at all.
        return text.parse().ok().filter(|id| *id > 0).map(BlobRef::Id);
    }
    let lower = text.to_ascii_lowercase();
    is_uid(&lower).then_some(BlobRef::Uid(lower))
}

pub fn parse_id(text: &str) -> Result<i64, ApiError> {
    match parse_ref(text) {
        Some(BlobRef::Id(id)) => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

/// A new uid: 32 random hex digits and `00`, like the real ones; never all digits,
/// which would read as an id.
pub fn new_uid() -> String {
    loop {
        let uid = format!("{}00", hex::encode(rand::random::<[u8; 16]>()));
        if !uid.bytes().all(|b| b.is_ascii_digit()) {
            return uid;
        }
    }
}

pub fn check_name(value: Option<&Value>, required: bool) -> Result<Option<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return if required {
            Err(ApiError::invalid("name", "can't be blank"))
        } else {
            Ok(None)
        };
    };
    let name = scalar_text(value).ok_or_else(|| ApiError::invalid("name", "is invalid"))?;
    match name.chars().count() {
        0 => Err(ApiError::invalid(
            "name",
            "is too short (minimum is 1 character)",
        )),
        n if n > NAME_MAX => Err(ApiError::invalid(
            "name",
            format!("is too long (maximum is {NAME_MAX} characters)"),
        )),
        _ => Ok(Some(name)),
    }
}

/// A MIME type `type/subtype[; params]` in printable ASCII: it goes into the signed
/// form and back out as the `Content-Type` of downloads.
pub fn check_content_type(
    value: Option<&Value>,
    required: bool,
) -> Result<Option<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return if required {
            Err(ApiError::invalid("content_type", "can't be blank"))
        } else {
            Ok(None)
        };
    };
    let text = scalar_text(value).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("content_type", "can't be blank"));
    }
    if text.len() > CONTENT_TYPE_MAX {
        return Err(ApiError::invalid(
            "content_type",
            format!("is too long (maximum is {CONTENT_TYPE_MAX} characters)"),
        ));
    }
    let essence = text.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-*'".contains(&b))
    };
    let well_formed = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
        && text.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !well_formed {
        return Err(ApiError::invalid("content_type", "is invalid"));
    }
    Ok(Some(text.to_string()))
}

pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A page number from the query: absent or empty is the default, 0 or text is refused.
pub fn page_param(query: Option<&str>, name: &'static str, default: u64) -> Result<u64, ApiError> {
    let Some(text) = query_param(query, name).filter(|t| !t.trim().is_empty()) else {
        return Ok(default);
    };
    match lenient_u64(Some(&Value::String(text))) {
        Ok(Some(0)) => Err(ApiError::invalid(name, "must be greater than 0")),
        Ok(Some(n)) => Ok(n),
        _ => Err(ApiError::invalid(name, "is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tells_ids_from_uids() {
        assert_eq!(parse_ref("46919"), Some(BlobRef::Id(46919)));
        assert_eq!(
            parse_ref("763EF825ad8748239ed07def2c14555100"),
            Some(BlobRef::Uid("763ef825ad8748239ed07def2c14555100".into()))
        );
        assert_eq!(
            parse_ref("12345678901234567890123456789012"),
            Some(BlobRef::Uid("12345678901234567890123456789012".into()))
        );
        assert_eq!(parse_ref("99999999999999999999"), None, "past i64");
        assert_eq!(parse_ref("0"), None);
        assert_eq!(parse_ref("../etc"), None);
        assert_eq!(parse_ref(""), None);
        assert!(parse_id("abc").is_err());
    }

    #[test]
    fn uids_never_read_as_ids() {
        for _ in 0..100 {
            let uid = new_uid();
            assert_eq!(uid.len(), 34);
            assert_eq!(parse_ref(&uid), Some(BlobRef::Uid(uid.clone())));
        }
    }

    #[test]
    fn names_are_one_to_a_hundred_characters() {
        let ok = json!("é".repeat(100));
        assert_eq!(
            check_name(Some(&ok), true)
                .unwrap()
                .unwrap()
                .chars()
                .count(),
            100
        );
        let long = json!("a".repeat(101));
        assert_eq!(
            check_name(Some(&long), true).unwrap_err().body(),
            json!({"errors": {"name": ["is too long (maximum is 100 characters)"]}})
        );
        assert_eq!(
            check_name(Some(&json!("")), true).unwrap_err().body(),
            json!({"errors": {"name": ["is too short (minimum is 1 character)"]}})
        );
        assert!(check_name(None, true).is_err());
        assert_eq!(check_name(None, false).unwrap(), None);
        assert!(check_name(Some(&json!({"a": 1})), true).is_err());
        assert_eq!(check_name(Some(&json!(42)), true).unwrap().unwrap(), "42");
    }

    #[test]
    fn page_numbers_are_positive_whole_numbers() {
        assert_eq!(page_param(None, "page", 1).unwrap(), 1);
        assert_eq!(page_param(Some("page="), "page", 1).unwrap(), 1);
        assert_eq!(page_param(Some("x=1&page=3"), "page", 1).unwrap(), 3);
        for bad in ["page=0", "page=-1", "page=two", "page=1.5"] {
            assert!(page_param(Some(bad), "page", 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_types_are_mime_types() {
        for good in [
            "image/jpeg",
            "text/plain; charset=utf-8",
            "application/vnd.ms-excel",
        ] {
            assert!(
                check_content_type(Some(&json!(good)), true).is_ok(),
                "{good}"
            );
        }
        for bad in ["jpeg", "image/", "/x", "a b/c", "text/plain\r\nX: y", ""] {
            assert!(
                check_content_type(Some(&json!(bad)), true).is_err(),
                "{bad:?}"
            );
        }
        assert!(check_content_type(None, true).is_err());
    }
}
