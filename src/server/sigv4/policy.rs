//! The browser-style POST form: its fields and signed policy, as the create call
//! hands them out, and the checks S3 makes when the form comes back.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    amz_date, parse_credential, short_date, sign, unknown_access_key, uri_encode, S3Keys, ALGORITHM,
};
use crate::crypto::constant_time_eq;
use crate::server::errors::S3Error;
use axum::http::StatusCode;

/// What an upload form is for.
pub struct FormSpec<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub acl: &'a str,
    /// The signing region: ours is `us-east-1`; an external store's is its own.
    pub region: &'a str,
    pub now: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// The form fields of a presigned POST, in the order the real service lists them.
pub fn post_form(keys: &S3Keys, spec: &FormSpec<'_>) -> Vec<(String, String)> {
    let date = short_date(spec.now);
    let amz = amz_date(spec.now);
    let credential = format!("{}/{date}/{}/s3/aws4_request", keys.access_key, spec.region);
    let expires_http = spec.expires.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let conditions = json!([
        {"bucket": spec.bucket},
        {"acl": spec.acl},
        {"Content-Type": spec.content_type},
        {"success_action_status": "201"},
        {"Expires": expires_http},
        {"key": spec.key},
        {"x-amz-credential": credential},
        {"x-amz-algorithm": ALGORITHM},
        {"x-amz-date": amz},
    ]);
    // Written by hand so that `expiration` comes first, as in the real policies.
    let policy_json = format!(
        r#"{{"expiration":{},"conditions":{conditions}}}"#,
        json!(spec.expires.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    let policy = base64::engine::general_purpose::STANDARD.encode(policy_json);
    let signature = sign(keys, &date, spec.region, &policy);
    [
        ("Content-Type", spec.content_type.to_string()),
        ("Expires", expires_http),
        ("acl", spec.acl.to_string()),
        ("key", spec.key.to_string()),
        ("policy", policy),
        ("success_action_status", "201".to_string()),
        ("x-amz-algorithm", ALGORITHM.to_string()),
        ("x-amz-credential", credential),
        ("x-amz-date", amz),
        ("x-amz-signature", signature),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `URL?k=v&...`, each key and value percent-encoded once (so `+` travels as `%2B`).
pub fn form_url(upload_url: &str, fields: &[(String, String)]) -> String {
    let query: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect();
    format!("{upload_url}?{}", query.join("&"))
}

/// A POST form that passed every check.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckedForm {
    pub key: String,
    pub success_action_status: Option<String>,
    /// From a `content-length-range` condition, if the policy has one.
    pub length_range: Option<(u64, u64)>,
}

fn invalid_policy(message: impl Into<String>) -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "InvalidPolicyDocument",
        format!("Invalid Policy: {}", message.into()),
    )
}

/// Fields that S3 never requires the policy to cover.
fn needs_no_condition(lower_name: &str) -> bool {
    matches!(lower_name, "policy" | "x-amz-signature" | "file")
        || lower_name.starts_with("x-ignore-")
}

/// Checks the fields that came before `file` as S3 does: the signature over the
/// policy, the policy's expiry, each condition, and that no field goes uncovered.
/// Field names are case-insensitive; values are compared exactly.
pub fn check_post_form(
    keys: &S3Keys,
    bucket: &str,
    fields: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<CheckedForm, S3Error> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (Some(policy), Some(signature)) = (field("policy"), field("x-amz-signature")) else {
        return Err(S3Error::access_denied(
            "Access Denied: the form carries no policy and signature",
        ));
    };
    if field("x-amz-algorithm") != Some(ALGORITHM) {
        return Err(S3Error::invalid_argument(format!(
            "x-amz-algorithm must be {ALGORITHM}"
        )));
    }
    let credential = field("x-amz-credential")
        .and_then(parse_credential)
        .ok_or_else(|| S3Error::invalid_argument("malformed x-amz-credential"))?;
    if credential.access_key != keys.access_key {
        return Err(unknown_access_key());
    }
    let expected = sign(keys, credential.date, credential.region, policy);
    if !constant_time_eq(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(S3Error::signature_mismatch());
    }

    let document: Value = base64::engine::general_purpose::STANDARD
        .decode(policy.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid_policy("Invalid JSON."))?;
    let expiration = document
        .get("expiration")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| invalid_policy("Invalid 'expiration' value."))?;
    if now >= expiration {
        return Err(S3Error::policy("Policy expired."));
    }
    let conditions = document
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_policy("Invalid 'conditions' value: must be a List."))?;

    let mut covered: Vec<String> = Vec::new();
    let mut length_range = None;
    for condition in conditions {
        match parse_condition(condition)? {
            Condition::Match { op, name, expected } => {
                let lower = name.to_ascii_lowercase();
                let actual = if lower == "bucket" {
                    Some(bucket)
                } else {
                    field(&lower)
                };
                let actual = actual.unwrap_or("");
                let ok = match op {
                    MatchOp::Eq => actual == expected,
                    MatchOp::StartsWith => actual.starts_with(&expected),
                };
                if !ok {
                    return Err(S3Error::policy(format!(
                        "Policy Condition failed: [{}, {}, {}]",
                        json!(op.as_str()),
                        json!(format!("${name}")),
                        json!(expected)
                    )));
                }
                covered.push(lower);
            }
            Condition::LengthRange(min, max) => length_range = Some((min, max)),
        }
    }

    for (name, _) in fields {
        let lower = name.to_ascii_lowercase();
        if !needs_no_condition(&lower) && !covered.contains(&lower) {
            return Err(S3Error::policy(format!("Extra input fields: {name}")));
        }
    }

    let key = field("key").filter(|k| !k.is_empty()).ok_or_else(|| {
        S3Error::invalid_argument("Bucket POST must contain a field named 'key'.")
    })?;
    Ok(CheckedForm {
        key: key.to_string(),
        success_action_status: field("success_action_status").map(str::to_string),
        length_range,
    })
}

#[derive(Debug, Clone, Copy)]
enum MatchOp {
    Eq,
    StartsWith,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "eq",
            MatchOp::StartsWith => "starts-with",
        }
    }
}

enum Condition {
    Match {
        op: MatchOp,
        name: String,
        expected: String,
    },
    LengthRange(u64, u64),
}

/// `{"name": "value"}`, `["eq"|"starts-with", "$name", "value"]` or
/// `["content-length-range", min, max]`.
fn parse_condition(condition: &Value) -> Result<Condition, S3Error> {
    let bad = || invalid_policy(format!("Invalid condition: {condition}"));
    match condition {
        Value::Object(map) if map.len() == 1 => {
            let (name, value) = map.iter().next().ok_or_else(bad)?;
            Ok(Condition::Match {
                op: MatchOp::Eq,
                name: name.clone(),
                expected: value.as_str().ok_or_else(bad)?.to_string(),
            })
        }
        Value::Array(items) => match items.as_slice() {
            [Value::String(op), Value::String(name), Value::String(value)] => {
                let op = match op.to_ascii_lowercase().as_str() {
                    "eq" => MatchOp::Eq,
                    "starts-with" => MatchOp::StartsWith,
                    _ => return Err(bad()),
                };
                let name = name.strip_prefix('$').ok_or_else(bad)?;
                Ok(Condition::Match {
                    op,
                    name: name.to_string(),
                    expected: value.clone(),
                })
            }
            [Value::String(op), min, max] if op.eq_ignore_ascii_case("content-length-range") => {
                let number = |v: &Value| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                };
                match (number(min), number(max)) {
                    (Some(min), Some(max)) => Ok(Condition::LengthRange(min, max)),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::sigv4::presign::query_pairs;
    use crate::server::sigv4::testing::{at, aws_keys};

    #[test]
    fn checks_the_aws_post_example() {
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let fields: Vec<(String, String)> = [
            ("key", "user/user1/${filename}"),
            ("acl", "public-read"),
            (
                "success_action_redirect",
                "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
            ),
            ("Content-Type", "image/jpeg"),
            ("x-amz-meta-uuid", "14365123651274"),
            ("x-amz-server-side-encryption", "AES256"),
            (
                "X-Amz-Credential",
                "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
            ),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Date", "20151229T000000Z"),
            ("x-amz-meta-tag", ""),
            ("Policy", policy),
            (
                "X-Amz-Signature",
                "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let checked = check_post_form(
            &aws_keys(),
            "sigv4examplebucket",
            &fields,
            at("2015-12-29T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(checked.key, "user/user1/${filename}");
        let expired = check_post_form(
            &aws_keys(),
            "sigv4examplebucket",
            &fields,
            at("2015-12-30T12:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(
            expired.message,
            "Invalid according to Policy: Policy expired."
        );
        let wrong_bucket = check_post_form(
            &aws_keys(),
            "otherbucket",
            &fields,
            at("2015-12-29T10:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(
            wrong_bucket.message,
            r#"Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "sigv4examplebucket"]"#
        );
    }

    fn our_form(now: DateTime<Utc>) -> Vec<(String, String)> {
        post_form(
            &aws_keys(),
            &FormSpec {
                bucket: "cubeblob",
                key: "0123abcd00",
                content_type: "image/jpeg",
                acl: "private",
                region: crate::server::sigv4::REGION,
                now,
                expires: now + chrono::Duration::hours(1),
            },
        )
    }

    #[test]
    fn our_forms_pass_and_every_change_fails() {
        let now = at("2024-05-01T10:00:00Z");
        let fields = our_form(now);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Expires",
                "acl",
                "key",
                "policy",
                "success_action_status",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-signature"
            ]
        );
        assert_eq!(fields[1].1, "Wed, 01 May 2024 11:00:00 GMT");
        let checked = check_post_form(&aws_keys(), "cubeblob", &fields, now).unwrap();
        assert_eq!(checked.key, "0123abcd00");
        assert_eq!(checked.success_action_status.as_deref(), Some("201"));

        let changed: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| match k.as_str() {
                "Content-Type" => (k.clone(), "text/plain".to_string()),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        assert_eq!(
            check_post_form(&aws_keys(), "cubeblob", &changed, now)
                .unwrap_err()
                .message,
            r#"Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/jpeg"]"#
        );

        let mut extra = fields.clone();
        extra.push(("name".into(), "x".into()));
        assert_eq!(
            check_post_form(&aws_keys(), "cubeblob", &extra, now)
                .unwrap_err()
                .message,
            "Invalid according to Policy: Extra input fields: name"
        );

        let resigned: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| match k.as_str() {
                "x-amz-signature" => (k.clone(), "0".repeat(64)),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        assert_eq!(
            check_post_form(&aws_keys(), "cubeblob", &resigned, now)
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );

        let later = now + chrono::Duration::hours(1);
        assert_eq!(
            check_post_form(&aws_keys(), "cubeblob", &fields, later)
                .unwrap_err()
                .message,
            "Invalid according to Policy: Policy expired."
        );

        // Field names are case-insensitive, as in S3.
        let upper: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
            .collect();
        assert!(check_post_form(&aws_keys(), "cubeblob", &upper, now).is_ok());
    }

    #[test]
    fn form_urls_encode_each_value_once() {
        let fields = vec![
            (
                "Expires".to_string(),
                "Mon, 10 Dec 2018 11:26:01 GMT".to_string(),
            ),
            ("policy".to_string(), "ab+/=".to_string()),
        ];
        assert_eq!(
            form_url("http://h/b", &fields),
            "http://h/b?Expires=Mon%2C%2010%20Dec%202018%2011%3A26%3A01%20GMT&policy=ab%2B%2F%3D"
        );
        assert_eq!(
            query_pairs("policy=ab%2B%2F%3D&x=a+b&flag"),
            [
                ("policy".to_string(), "ab+/=".to_string()),
                ("x".to_string(), "a+b".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }
}
