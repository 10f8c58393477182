//! The S3 upload form hidden in a blob's `params` URL: where to POST, and the form
//! fields in their order, each percent-decoded exactly once.

use percent_encoding::percent_decode_str;
use url::Url;

/// A presigned browser-style POST form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadForm {
    /// Scheme, host, port and path of `params`; no query.
    pub url: Url,
    /// The query pairs of `params`, in order, decoded once. The `file` part goes after them.
    pub fields: Vec<(String, String)>,
}

impl UploadForm {
    /// Reads a `params` URL. `url::Url::query_pairs` is not used on purpose: it decodes
    /// as `application/x-www-form-urlencoded`, turning `+` into a space, and a base64
    /// `policy` or a `Content-Type` like `image/svg+xml` would then no longer match the
    /// signature.
    pub fn parse(params: &str) -> Result<UploadForm, String> {
        let full = Url::parse(params.trim())
            .map_err(|e| format!("the upload form URL is not a valid URL: {e}"))?;
        if !matches!(full.scheme(), "http" | "https") || full.host().is_none() {
            return Err(format!(
                "the upload form URL has no http(s) host: `{}`",
                full.scheme()
            ));
        }
        let mut fields = Vec::new();
        for pair in full.query().unwrap_or("").split('&') {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            fields.push((decode_once(key)?, decode_once(value)?));
        }
        if fields.is_empty() {
            return Err("the upload form URL carries no form fields".into());
        }
        let mut url = full;
        url.set_query(None);
        url.set_fragment(None);
        Ok(UploadForm { url, fields })
    }
}

fn decode_once(text: &str) -> Result<String, String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the upload form field `{text}` is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_decodes_once_with_plus_kept() {
        let params = "https://s3.amazonaws.com/cb-shared-s3?Content-Type=image%2Fsvg%2Bxml\
            &Expires=Fri%2C+10+Dec+2018&acl=public-read&key=ab%2520cd\
            &policy=eyJ+a%2B%3D%3D&success_action_status=201&x-amz-algorithm=AWS4-HMAC-SHA256";
        let form = UploadForm::parse(params).unwrap();
        assert_eq!(form.url.as_str(), "https://s3.amazonaws.com/cb-shared-s3");
        let keys: Vec<&str> = form.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Content-Type",
                "Expires",
                "acl",
                "key",
                "policy",
                "success_action_status",
                "x-amz-algorithm"
            ]
        );
        let value = |k: &str| form.fields.iter().find(|(f, _)| f == k).unwrap().1.clone();
        assert_eq!(value("Content-Type"), "image/svg+xml");
        // `+` stays `+`; `%2B` becomes `+`; `%2520` becomes `%20`, not a space.
        assert_eq!(value("Expires"), "Fri,+10+Dec+2018");
        assert_eq!(value("policy"), "eyJ+a+==");
        assert_eq!(value("key"), "ab%20cd");
    }

    #[test]
    fn keeps_the_port_and_path_and_drops_the_query() {
        let form = UploadForm::parse("http://127.0.0.1:9000/bucket/?key=a%20b&x=").unwrap();
        assert_eq!(form.url.as_str(), "http://127.0.0.1:9000/bucket/");
        assert_eq!(
            form.fields,
            [("key".into(), "a b".into()), ("x".into(), String::new())]
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_form() {
        assert!(UploadForm::parse("not a url").is_err());
        assert!(UploadForm::parse("ftp://h/x?a=1").is_err());
        assert!(UploadForm::parse("https://h/x").is_err());
        assert!(UploadForm::parse("https://h/x?a=%FF").is_err());
    }
}
