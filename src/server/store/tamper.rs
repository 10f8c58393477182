//! A test aid behind the hidden `serve --s3-tamper`: the server spoils every upload
//! form it hands out in one of the ways S3 must refuse, so that a test can watch a
//! real store's own refusal reach the user (the client never alters a form itself).

use chrono::{DateTime, Duration, Utc};

/// The field that `ExtraField` adds: covered by no policy condition.
pub const EXTRA_FIELD: &str = "x-amz-meta-tampered";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The `Content-Type` field differs from the signed condition.
    ContentType,
    /// A field the policy does not cover.
    ExtraField,
    /// A correctly signed policy that expired a minute before it was handed out.
    Expired,
}

impl Tamper {
    /// The expiry to sign into the policy instead of `expires`.
    pub fn expiry(self, now: DateTime<Utc>, expires: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Tamper::Expired => now - Duration::minutes(1),
            Tamper::ContentType | Tamper::ExtraField => expires,
        }
    }

    /// Alters the signed fields.
    pub fn spoil(self, fields: &mut Vec<(String, String)>) {
        match self {
            Tamper::ContentType => {
                for (name, value) in fields.iter_mut() {
                    if name == "Content-Type" {
                        *value = if value == "text/plain" {
                            "application/octet-stream".to_string()
                        } else {
                            "text/plain".to_string()
                        };
                    }
                }
            }
            // Before the signature, where a hand-edited form would put it.
            Tamper::ExtraField => {
                let at = fields
                    .iter()
                    .position(|(name, _)| name == "x-amz-signature")
                    .unwrap_or(fields.len());
                fields.insert(at, (EXTRA_FIELD.to_string(), "1".to_string()));
            }
            Tamper::Expired => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::errors::S3Error;
    use crate::server::sigv4::{check_post_form, post_form, FormSpec, S3Keys, REGION};

    fn keys() -> S3Keys {
        S3Keys {
            access_key: "AK".into(),
            secret: "SK".into(),
        }
    }

    /// A form spoiled by `tamper`, checked as our own S3 endpoint checks it.
    fn check(tamper: Tamper) -> Result<(), S3Error> {
        let now = Utc::now();
        let mut fields = post_form(
            &keys(),
            &FormSpec {
                bucket: "b",
                key: "ab00",
                content_type: "image/png",
                acl: "private",
                region: REGION,
                now,
                expires: tamper.expiry(now, now + Duration::hours(1)),
            },
        );
        tamper.spoil(&mut fields);
        check_post_form(&keys(), "b", &fields, now).map(|_| ())
    }

    #[test]
    fn every_spoiled_form_is_refused_by_the_policy() {
        let message = |t| check(t).unwrap_err().message;
        assert!(message(Tamper::ContentType).contains("Policy Condition failed"));
        assert_eq!(
            message(Tamper::ExtraField),
            format!("Invalid according to Policy: Extra input fields: {EXTRA_FIELD}")
        );
        assert_eq!(
            message(Tamper::Expired),
            "Invalid according to Policy: Policy expired."
        );
    }
}
