//! Query-signed (presigned) GETs: the download URLs we hand out, and their
//! verification when they come back: signature, then validity window.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::{
    amz_date, parse_credential, short_date, sign, unknown_access_key, uri_encode, S3Keys,
    ALGORITHM, MAX_PRESIGN_SECS, REGION,
};
use crate::crypto::constant_time_eq;
use crate::server::errors::S3Error;
use axum::http::StatusCode;

/// A presigned GET URL for `base_url` + `path` (path already in its final form,
/// e.g. `/bucket/key` with the key URI-encoded), signed for the `host` header.
pub fn presign_get(
    keys: &S3Keys,
    base_url: &str,
    host: &str,
    path: &str,
    now: DateTime<Utc>,
    expires_secs: u64,
) -> String {
    let date = short_date(now);
    let amz = amz_date(now);
    let credential = format!("{}/{date}/{REGION}/s3/aws4_request", keys.access_key);
    let params: Vec<(String, String)> = [
        ("X-Amz-Algorithm", ALGORITHM.to_string()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz.clone()),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let query = canonical_query(&params);
    let request = canonical_request("GET", path, &query, &format!("host:{host}\n"), "host");
    let scope = format!("{date}/{REGION}/s3/aws4_request");
    let signature = sign(keys, &date, REGION, &string_to_sign(&amz, &scope, &request));
    format!("{base_url}{path}?{query}&X-Amz-Signature={signature}")
}

fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &str,
    signed_headers: &str,
) -> String {
    format!("{method}\n{path}\n{query}\n{headers}\n{signed_headers}\nUNSIGNED-PAYLOAD")
}

fn string_to_sign(amz: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz}\n{scope}\n{hash}")
}

/// The canonical form of a request path: each segment decoded once, then encoded.
pub fn canonical_path(raw_path: &str) -> String {
    raw_path
        .split('/')
        .map(|segment| uri_encode(&percent_decode_str(segment).decode_utf8_lossy()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Splits a raw query into decoded pairs; `+` stays `+`, as SigV4 reads it.
pub fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

fn query_error(message: &str) -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "AuthorizationQueryParametersError",
        message,
    )
}

/// Verifies a query-signed request: the signature over the canonical request
/// (method, path, query without the signature, the signed headers, UNSIGNED-PAYLOAD),
/// then its validity window. `header` looks a request header up by lower-case name.
pub fn verify_presigned(
    keys: &S3Keys,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    header: impl Fn(&str) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<(), S3Error> {
    let pairs = query_pairs(raw_query);
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(algorithm), Some(signature)) = (param("X-Amz-Algorithm"), param("X-Amz-Signature"))
    else {
        return Err(S3Error::access_denied("Access Denied"));
    };
    if algorithm != ALGORITHM {
        return Err(query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let credential = param("X-Amz-Credential")
        .and_then(parse_credential)
        .ok_or_else(|| query_error("Error parsing the X-Amz-Credential parameter"))?;
    if credential.access_key != keys.access_key {
        return Err(unknown_access_key());
    }
    let amz = param("X-Amz-Date").unwrap_or("");
    let signed_at = NaiveDateTime::parse_from_str(amz, "%Y%m%dT%H%M%SZ")
        .map(|t| Utc.from_utc_datetime(&t))
        .map_err(|_| query_error("X-Amz-Date must be in the ISO8601 Long Format"))?;
    if short_date(signed_at) != credential.date {
        return Err(query_error(
            "The date of X-Amz-Credential does not match X-Amz-Date",
        ));
    }
    let expires: u64 = param("X-Amz-Expires")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| query_error("X-Amz-Expires must be a whole number of seconds"))?;
    if expires > MAX_PRESIGN_SECS {
        return Err(query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let signed_headers: Vec<String> = param("X-Amz-SignedHeaders")
        .unwrap_or("")
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(query_error("X-Amz-SignedHeaders must include host"));
    }
    let headers: String = signed_headers
        .iter()
        .map(|name| format!("{name}:{}\n", header(name).unwrap_or_default().trim()))
        .collect();
    let unsigned: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .cloned()
        .collect();
    let request = canonical_request(
        method,
        &canonical_path(raw_path),
        &canonical_query(&unsigned),
        &headers,
        &signed_headers.join(";"),
    );
    let scope = format!("{}/{}/s3/aws4_request", credential.date, credential.region);
    let expected = sign(
        keys,
        credential.date,
        credential.region,
        &string_to_sign(amz, &scope, &request),
    );
    if !constant_time_eq(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(S3Error::signature_mismatch());
    }
    // Checked after the signature, so that a tampered expiry reads as tampering.
    let window = chrono::Duration::seconds(expires as i64);
    if now > signed_at + window {
        return Err(S3Error::access_denied("Request has expired")
            .with("X-Amz-Expires", expires.to_string())
            .with("Expires", (signed_at + window).to_rfc3339())
            .with("ServerTime", now.to_rfc3339()));
    }
    if signed_at > now + chrono::Duration::minutes(15) {
        return Err(S3Error::access_denied("Request is not valid yet"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::sigv4::testing::{at, aws_keys};

    #[test]
    fn presigns_the_aws_documentation_example() {
        let url = presign_get(
            &aws_keys(),
            "https://examplebucket.s3.amazonaws.com",
            "examplebucket.s3.amazonaws.com",
            "/test.txt",
            at("2013-05-24T00:00:00Z"),
            86400,
        );
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    fn verify(url: &str, host: &str, now: &str) -> Result<(), S3Error> {
        let (path, query) = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .and_then(|p| p.split_once('?'))
            .unwrap();
        let host = host.to_string();
        verify_presigned(
            &aws_keys(),
            "GET",
            path,
            query,
            |name| (name == "host").then(|| host.clone()),
            at(now),
        )
    }

    #[test]
    fn verifies_presigned_urls_and_refuses_tampering() {
        let url = presign_get(
            &aws_keys(),
            "http://127.0.0.1:9000",
            "127.0.0.1:9000",
            "/bucket/abc00",
            at("2024-01-01T00:00:00Z"),
            3600,
        );
        assert_eq!(
            verify(&url, "127.0.0.1:9000", "2024-01-01T00:30:00Z"),
            Ok(())
        );
        // Another key, another expiry, another host, another signature.
        for bad in [
            url.replace("/abc00", "/abd00"),
            url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"),
            url.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
        ] {
            assert_eq!(
                verify(&bad, "127.0.0.1:9000", "2024-01-01T00:30:00Z")
                    .unwrap_err()
                    .code,
                "SignatureDoesNotMatch",
                "{bad}"
            );
        }
        assert_eq!(
            verify(&url, "localhost:9000", "2024-01-01T00:30:00Z")
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );
        let expired = verify(&url, "127.0.0.1:9000", "2024-01-01T01:00:01Z").unwrap_err();
        assert_eq!(
            (expired.code, expired.message.as_str()),
            ("AccessDenied", "Request has expired")
        );
        let unsigned = "http://127.0.0.1:9000/bucket/abc00?x=1";
        assert_eq!(
            verify(unsigned, "127.0.0.1:9000", "2024-01-01T00:30:00Z")
                .unwrap_err()
                .code,
            "AccessDenied"
        );
    }
}
