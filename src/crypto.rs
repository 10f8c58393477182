//! Signatures shared by the client and the local server: the legacy ConnectyCube
//! session signature (HMAC-SHA1) and the HMAC-SHA256 chain of AWS Signature V4.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The legacy session signature: lowercase hex HMAC-SHA1 over the flattened
/// parameters (`user[login]=...`), sorted by key, joined `k=v` with `&`, not encoded.
pub fn legacy_session_signature(secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let message = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signing key: `"AWS4"+secret` → date (YYYYMMDD) → region → service → `aws4_request`.
pub fn sigv4_signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_signature_matches_the_contract_vector() {
        let params: Vec<(String, String)> = [
            ("user[password]", "11111111"),
            ("application_id", "12345"),
            ("timestamp", "1572434294"),
            ("auth_key", "AbCdEfGhIjKlMnO"),
            ("nonce", "33432"),
            ("user[login]", "john"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            legacy_session_signature("test_auth_secret", &params),
            "c265684cfee73d3bc6fd5e0360815a792dafe573"
        );
    }

    #[test]
    fn sigv4_key_matches_the_aws_example() {
        // From AWS's "Examples of how to derive a signing key for Signature Version 4".
        let key = sigv4_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
