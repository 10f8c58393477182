//! AWS Signature V4 as the local S3 endpoint needs it: the browser-style POST
//! policy form (`policy`) and query-signed GETs (`presign`), over the shared pieces
//! here. Pure functions of their inputs (the clock is a parameter), so they test inline.

mod policy;
mod presign;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::errors::S3Error;
use crate::crypto::{hmac_sha256, sigv4_signing_key};

pub use policy::{check_post_form, form_url, post_form, FormSpec};
pub use presign::{presign_get, verify_presigned};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const REGION: &str = "us-east-1";
/// The longest a presigned URL may live, as in S3.
pub const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;

/// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~`, upper-case hex.
const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn uri_encode(text: &str) -> String {
    utf8_percent_encode(text, AWS_ENCODE).to_string()
}

/// The server's S3 credentials: the access key id travels in forms and URLs, the
/// secret never leaves the data folder.
#[derive(Clone)]
pub struct S3Keys {
    pub access_key: String,
    pub secret: String,
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

pub(super) fn amz_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

pub(super) fn short_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d").to_string()
}

pub(crate) fn sign(keys: &S3Keys, date: &str, region: &str, message: &str) -> String {
    let key = sigv4_signing_key(&keys.secret, date, region, "s3");
    hex::encode(hmac_sha256(&key, message.as_bytes()))
}

/// The parts of `x-amz-credential`: `AKID/YYYYMMDD/REGION/s3/aws4_request`.
pub(super) struct Credential<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
}

pub(super) fn parse_credential(text: &str) -> Option<Credential<'_>> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [access_key, date, region, "s3", "aws4_request"]
            if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(Credential {
                access_key,
                date,
                region,
            })
        }
        _ => None,
    }
}

pub(super) fn unknown_access_key() -> S3Error {
    S3Error::new(
        StatusCode::FORBIDDEN,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )
}

/// The example credentials of AWS's SigV4 documentation, whose published
/// signatures the tests reproduce.
#[cfg(test)]
mod testing {
    use super::S3Keys;
    use chrono::{DateTime, Utc};

    pub fn aws_keys() -> S3Keys {
        S3Keys {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    pub fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().into()
    }
}
