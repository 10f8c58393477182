//! Property tests of the pieces that parse what a server sends: the `params` URL of an
//! upload form, S3's XML errors, and blob names turned into file names and terminal
//! text. (The API's `errors` bodies: `api::error`'s own tests, as the parser is
//! private.) 256 cases each, so that they run in CI in a moment.

use std::path::{Component, Path};

use cubeblob::api::{xml_element, StorageError};
use cubeblob::output::filename::{sanitize, MAX_NAME_BYTES};
use cubeblob::output::sanitize::escape_for_terminal;
use cubeblob::transfer::form::UploadForm;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;

/// Characters a `params` URL may carry unencoded in a query value; `+` among them,
/// which must stay `+`.
const RAW: &str = "abcXYZ019-._~+/:,;!*'()@$";

/// A form field as the server might encode it: each character either as it is (when
/// it may be) or percent-encoded, at random.
fn encoded(text: &str, raw_mask: &[bool]) -> String {
    text.chars()
        .zip(raw_mask.iter().cycle())
        .map(|(c, &raw)| {
            if raw && RAW.contains(c) {
                c.to_string()
            } else {
                utf8_percent_encode(&c.to_string(), NON_ALPHANUMERIC).to_string()
            }
        })
        .collect()
}

/// Any text, with the characters that trip parsers up (`+`, `%`, `&`, `=`, `<`,
/// control and bidi characters) far more often than chance would bring them.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        '+', '%', '&', ';', '=', '#', '?', '3', 'x', ' ', '/', '\\', '<', '>', '"', '.', '\0',
        '\n', '\r', '\t', '\x1b', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200b}', 'é', '猫',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), tricky], 0..max_chars)
        .prop_map(|chars| chars.into_iter().collect())
}

fn field() -> impl Strategy<Value = (String, String)> {
    ("[a-zA-Z][a-zA-Z0-9_-]{0,15}", text(64))
}

/// Text as `xml_escape` on the server writes it into an element.
fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn form_fields_come_back_in_order_decoded_once(
        fields in prop::collection::vec(field(), 1..12),
        mask in prop::collection::vec(any::<bool>(), 1..16),
        port in 1u16..,
    ) {
        let query: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encoded(k, &mask), encoded(v, &mask)))
            .collect();
        let base = format!("https://storage.example.com:{port}/bucket");
        let params = format!("{base}?{}", query.join("&"));
        let form = UploadForm::parse(&params).unwrap();
        prop_assert_eq!(&form.fields, &fields);
        prop_assert_eq!(form.url.query(), None);
        let expected = if port == 443 {
            "https://storage.example.com/bucket".to_string()
        } else {
            base
        };
        prop_assert_eq!(form.url.as_str(), expected);
    }

    #[test]
    fn any_params_text_is_parsed_or_refused_without_panic(input in text(200)) {
        let _ = UploadForm::parse(&input);
        let _ = UploadForm::parse(&format!("https://h/b?{input}"));
    }

    #[test]
    fn s3_errors_give_back_their_code_and_message(
        code in "[A-Za-z]{1,30}",
        message in text(200),
        status in 400u16..600,
    ) {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{}</Message><RequestId>x</RequestId></Error>",
            xml_escaped(&message)
        );
        let error = StorageError::parse(status, &body);
        prop_assert_eq!(error.status, status);
        prop_assert_eq!(&error.code, &code);
        prop_assert_eq!(&error.message, message.trim());
    }

    #[test]
    fn any_s3_answer_is_read_without_panic(body in text(400), tag in text(8)) {
        let error = StorageError::parse(503, &body);
        if !body.contains("<Message>") {
            // No message element: the start of the raw text stands in for one.
            let raw: String = body.trim().chars().take(200).collect();
            prop_assert_eq!(error.message, raw);
        }
        let _ = xml_element(&body, &tag);
    }

    #[test]
    fn sanitised_names_are_one_safe_file_inside_the_folder(
        name in text(400),
        fallback in text(16),
    ) {
        let out = sanitize(&name, &fallback);
        prop_assert!(!out.is_empty());
        prop_assert!(out.len() <= MAX_NAME_BYTES, "{} bytes", out.len());
        prop_assert!(!out.contains(['/', '\\']), "{:?}", out);
        prop_assert!(!out.chars().any(char::is_control), "{:?}", out);
        prop_assert!(!out.starts_with('.'), "{:?}", out);
        let folder = Path::new("/srv/downloads");
        let path = folder.join(&out);
        prop_assert_eq!(path.parent(), Some(folder));
        let last = Path::new(&out).components().collect::<Vec<_>>();
        prop_assert!(matches!(last.as_slice(), [Component::Normal(_)]), "{:?}", out);
    }

    #[test]
    fn hostile_looking_names_are_sanitised_too(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "..", ".", "/", "\\", "\0", "\x1b[31m", "\u{202e}", "\u{2066}", "CON",
                "nul", "COM1", "a", "é", " ", ":", "\r\n", "\u{9b}",
            ]),
            0..40,
        ),
    ) {
        let name: String = parts.concat();
        let out = sanitize(&name, "blob-1");
        prop_assert!(!out.is_empty());
        prop_assert!(!out.contains(['/', '\\', ':']), "{:?}", out);
        prop_assert!(!out.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)), "{:?}", out);
        prop_assert!(out != "." && out != ".." && !out.starts_with('.'), "{:?}", out);
        let stem = out.split('.').next().unwrap_or("").trim_end().to_ascii_uppercase();
        prop_assert!(!["CON", "NUL", "COM1"].contains(&stem.as_str()), "{:?}", out);
    }

    #[test]
    fn terminal_text_holds_no_control_or_bidi_character(name in text(200)) {
        let shown = escape_for_terminal(&name);
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        prop_assert!(!shown.chars().any(|c| matches!(c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )), "{:?}", shown);
        if !name.chars().any(|c| c.is_control() || c == '\\') {
            // Printable names without bidi controls pass unchanged.
            let bidi = name.chars().any(|c| matches!(c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'));
            if !bidi {
                prop_assert_eq!(shown, name);
            }
        }
    }
}
