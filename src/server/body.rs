//! Request bodies as the SDKs send them: JSON objects or form-urlencoded flat keys
//! (`blob[name]=x`, Android), both read into one JSON map, and lenient readers for
//! values that arrive as numbers, numeric strings or booleans.

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use super::errors::ApiError;

/// The deepest nesting a body may have: the contract's bodies nest two levels
/// (`{"blob": {"name": ...}}`); the bound keeps hostile bodies from costing a stack
/// frame per level when they are read, walked or dropped.
pub const MAX_DEPTH: usize = 8;

/// The most keys and values a body may carry, all levels together.
pub const MAX_ENTRIES: usize = 1000;

/// The largest API body read, in bytes; the S3 upload POST streams and is bounded by
/// `--max-size` instead.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads a body into a JSON object. An empty body is an empty object.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Ok(Map::new());
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_json = content_type.contains("json");
    // Without a telling content type, a body that opens like JSON is JSON.
    if is_json || (!is_form && matches!(trimmed.first(), Some(b'{' | b'['))) {
        // serde_json stops at 128 levels on its own; ours is stricter, checked after.
        return match serde_json::from_slice::<Value>(trimmed) {
            Ok(Value::Object(map)) => {
                check_shape(&map)?;
                Ok(map)
            }
            Ok(_) => Err(ApiError::BadRequest(
                "the request body must be a JSON object".into(),
            )),
            Err(err) => Err(ApiError::BadRequest(format!("malformed JSON body: {err}"))),
        };
    }
    parse_form(trimmed)
}

/// Reads `a=1&blob[name]=x&blob[size]=3` into `{"a":"1","blob":{"name":"x","size":"3"}}`.
pub fn parse_form(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut map = Map::new();
    for (count, (key, value)) in url::form_urlencoded::parse(body).enumerate() {
        if count >= MAX_ENTRIES {
            return Err(too_many_entries());
        }
        let path = key_path(&key);
        if path.len() > MAX_DEPTH {
            return Err(too_deep());
        }
        insert_path(&mut map, &path, Value::String(value.into_owned()));
    }
    Ok(map)
}

/// Refuses a JSON object nested deeper than `MAX_DEPTH` or with more than
/// `MAX_ENTRIES` keys and values; walked with a stack of our own, not recursion.
fn check_shape(map: &Map<String, Value>) -> Result<(), ApiError> {
    // The top object is level 1; a value's level is its container's.
    let mut pending: Vec<(&Value, usize)> = map.values().map(|v| (v, 1)).collect();
    let mut entries = pending.len();
    while let Some((value, level)) = pending.pop() {
        if entries > MAX_ENTRIES {
            return Err(too_many_entries());
        }
        let children: Vec<&Value> = match value {
            Value::Object(inner) => inner.values().collect(),
            Value::Array(items) => items.iter().collect(),
            _ => continue,
        };
        if level >= MAX_DEPTH {
            return Err(too_deep());
        }
        entries += children.len();
        pending.extend(children.into_iter().map(|child| (child, level + 1)));
    }
    if entries > MAX_ENTRIES {
        return Err(too_many_entries());
    }
    Ok(())
}

fn too_deep() -> ApiError {
    ApiError::BadRequest(format!(
        "the request body nests deeper than {MAX_DEPTH} levels"
    ))
}

fn too_many_entries() -> ApiError {
    ApiError::BadRequest(format!(
        "the request body has more than {MAX_ENTRIES} keys and values"
    ))
}

/// `blob[name]` → `["blob", "name"]`; a key without brackets is itself.
fn key_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let mut path = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            // An unbalanced bracket: keep the key whole rather than guess.
            return vec![key.to_string()];
        };
        path.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    if !rest.is_empty() || path[0].is_empty() {
        return vec![key.to_string()];
    }
    path
}

fn insert_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let (first, rest) = path.split_first().expect("a key path is never empty");
    if rest.is_empty() {
        map.insert(first.clone(), value);
        return;
    }
    let entry = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        // `a=1&a[b]=2`: the nested form wins, as in Rails.
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert_path(inner, rest, value);
    }
}

/// The parameters flattened back to `user[login]=...` pairs, for the legacy signature.
pub fn flatten(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in map {
        flatten_into(key.clone(), value, &mut out);
    }
    out
}

fn flatten_into(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(inner) => {
            for (key, value) in inner {
                flatten_into(format!("{prefix}[{key}]"), value, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten_into(format!("{prefix}[]"), item, out);
            }
        }
        other => out.push((prefix, scalar_text(other).unwrap_or_default())),
    }
}

/// A scalar's text: strings as they are, numbers and booleans as written.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A non-negative whole number given as a number or a numeric string.
/// `Ok(None)` for null or absent; `Err(())` for anything else.
pub fn lenient_u64(value: Option<&Value>) -> Result<Option<u64>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// A boolean given as `true`/`false`, `1`/`0` or their strings.
pub fn lenient_bool(value: Option<&Value>) -> Result<Option<bool>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(()),
        },
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" | "" => Ok(Some(false)),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// The `blob` object of a body, or the body itself when the SDK sent its keys flat.
pub fn section<'a>(map: &'a Map<String, Value>, name: &str) -> &'a Map<String, Value> {
    match map.get(name) {
        Some(Value::Object(inner)) => inner,
        _ => map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    #[test]
    fn reads_json_and_forms_alike() {
        let json_body = parse(
            &headers("application/json"),
            br#"{"blob": {"name": "x", "size": 3}}"#,
        )
        .unwrap();
        assert_eq!(
            Value::Object(json_body),
            json!({"blob": {"name": "x", "size": 3}})
        );
        let form = parse(
            &headers("application/x-www-form-urlencoded"),
            b"blob%5Bname%5D=a+b&blob[size]=3&token=t",
        )
        .unwrap();
        assert_eq!(
            Value::Object(form),
            json!({"blob": {"name": "a b", "size": "3"}, "token": "t"})
        );
        // No content type: sniffed.
        let sniffed = parse(&HeaderMap::new(), br#" {"size": "4"} "#).unwrap();
        assert_eq!(Value::Object(sniffed), json!({"size": "4"}));
        assert!(parse(&HeaderMap::new(), b"").unwrap().is_empty());
    }

    #[test]
    fn refuses_malformed_json() {
        assert!(matches!(
            parse(&headers("application/json"), b"{\"blob\": "),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse(&headers("application/json"), b"[1, 2]"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn odd_form_keys_stay_whole() {
        let form = parse_form(b"a[b=1&[x]=2&c[d]e=3&f[g][h]=4").unwrap();
        assert_eq!(
            Value::Object(form),
            json!({"a[b": "1", "[x]": "2", "c[d]e": "3", "f": {"g": {"h": "4"}}})
        );
    }

    #[test]
    fn refuses_deep_or_wide_bodies() {
        let form = headers("application/x-www-form-urlencoded");
        let deep_form = format!("user{}=1", "[x]".repeat(20_000));
        assert!(matches!(
            parse(&form, deep_form.as_bytes()),
            Err(ApiError::BadRequest(m)) if m.contains("nests deeper")
        ));
        let at_limit = format!("a{}=1", "[x]".repeat(MAX_DEPTH - 1));
        assert!(parse(&form, at_limit.as_bytes()).is_ok());
        let wide_form = "a=1&".repeat(MAX_ENTRIES + 1);
        assert!(matches!(
            parse(&form, wide_form.as_bytes()),
            Err(ApiError::BadRequest(m)) if m.contains("more than")
        ));

        let json = headers("application/json");
        let nested = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        assert!(parse(&json, nested(MAX_DEPTH).as_bytes()).is_ok());
        assert!(matches!(
            parse(&json, nested(MAX_DEPTH + 1).as_bytes()),
            Err(ApiError::BadRequest(m)) if m.contains("nests deeper")
        ));
        // Past serde_json's own limit, still a 400 and no overflow.
        assert!(matches!(
            parse(&json, nested(100_000).as_bytes()),
            Err(ApiError::BadRequest(_))
        ));
        let deep_array = format!("{{\"a\":{}{}}}", "[".repeat(50), "]".repeat(50));
        assert!(parse(&json, deep_array.as_bytes()).is_err());
        let wide_json = format!("{{\"a\":[{}0]}}", "0,".repeat(MAX_ENTRIES));
        assert!(matches!(
            parse(&json, wide_json.as_bytes()),
            Err(ApiError::BadRequest(m)) if m.contains("more than")
        ));
    }

    #[test]
    fn flattens_for_the_legacy_signature() {
        let map = parse(
            &headers("application/json"),
            br#"{"application_id": 12345, "user": {"login": "john", "password": "1"}}"#,
        )
        .unwrap();
        let mut flat = flatten(&map);
        flat.sort();
        assert_eq!(
            flat,
            [
                ("application_id".to_string(), "12345".to_string()),
                ("user[login]".to_string(), "john".to_string()),
                ("user[password]".to_string(), "1".to_string()),
            ]
        );
    }

    #[test]
    fn lenient_numbers_and_booleans() {
        assert_eq!(lenient_u64(Some(&json!(347))), Ok(Some(347)));
        assert_eq!(lenient_u64(Some(&json!(" 347 "))), Ok(Some(347)));
        assert_eq!(lenient_u64(Some(&json!(null))), Ok(None));
        assert_eq!(lenient_u64(None), Ok(None));
        assert_eq!(lenient_u64(Some(&json!(-1))), Err(()));
        assert_eq!(lenient_u64(Some(&json!(1.5))), Err(()));
        assert_eq!(lenient_u64(Some(&json!("12a"))), Err(()));
        assert_eq!(lenient_bool(Some(&json!("true"))), Ok(Some(true)));
        assert_eq!(lenient_bool(Some(&json!(0))), Ok(Some(false)));
        assert_eq!(lenient_bool(Some(&json!("maybe"))), Err(()));
    }

    #[test]
    fn sections_nest_or_not() {
        let nested = json!({"blob": {"size": 1}});
        let flat = json!({"size": 2});
        assert_eq!(section(nested.as_object().unwrap(), "blob")["size"], 1);
        assert_eq!(section(flat.as_object().unwrap(), "blob")["size"], 2);
    }
}
