//! The blob record as every command shows it: one serde struct for `--json` (a
//! stable contract, deserialised by the tests), fixed TSV columns when piped, and a
//! table or a detail view with human units on a terminal.

use std::io;

use serde::{Deserialize, Serialize};

use super::{human, sanitize::escape_for_terminal, Out};
use crate::api::{Blob, Client};

/// One blob, as printed by `info`, `list`, `rename`, `rm --dry-run` and `upload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    pub id: u64,
    pub uid: String,
    pub name: String,
    /// Exact bytes; null while the upload is not complete.
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub public: bool,
    /// The server's `blob_status`: `complete`, or null for an unfinished upload.
    pub status: Option<String>,
    /// RFC 3339, as the server gave it.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// A presigned download URL (`info --url`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `{api}/blobs/{uid}`, which needs no token, for public blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl From<&Blob> for BlobRecord {
    fn from(b: &Blob) -> BlobRecord {
        BlobRecord {
            id: b.id,
            uid: b.uid.clone(),
            name: b.name.clone(),
            size: b.size,
            content_type: b.content_type.clone(),
            public: b.public,
            status: b.blob_status.clone(),
            created_at: b.created_at.clone(),
            updated_at: b.updated_at.clone(),
            url: b
                .blob_object_access
                .as_ref()
                .and_then(|a| a.download_url.clone()),
            public_url: None,
        }
    }
}

impl BlobRecord {
    /// Adds the token-free link of a public blob.
    pub fn with_public_url(mut self, client: &Client) -> BlobRecord {
        if self.public {
            self.public_url = Some(client.url(&format!("/blobs/{}", self.uid)).to_string());
        }
        self
    }

    /// The TSV columns: id, uid, name, size (bytes or empty), content_type,
    /// public (true/false), created_at (RFC 3339); then url when asked for.
    pub fn tsv_fields(&self, with_url: bool) -> Vec<String> {
        let mut fields = vec![
            self.id.to_string(),
            self.uid.clone(),
            self.name.clone(),
            self.size.map(|s| s.to_string()).unwrap_or_default(),
            self.content_type.clone().unwrap_or_default(),
            self.public.to_string(),
            self.created_at.clone().unwrap_or_default(),
        ];
        if with_url {
            fields.push(self.url.clone().unwrap_or_default());
        }
        fields
    }
}

/// How records look on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One table for all records (held until `finish`, for the column widths).
    Table,
    /// A block of `key: value` lines per record, printed at once.
    Detail,
}

/// Prints records as they come: JSON Lines, TSV, or the terminal layout.
pub struct BlobWriter<'a> {
    out: &'a Out,
    layout: Layout,
    with_url: bool,
    rows: Vec<BlobRecord>,
    count: u64,
    total_size: u64,
}

impl<'a> BlobWriter<'a> {
    pub fn new(out: &'a Out, layout: Layout, with_url: bool) -> BlobWriter<'a> {
        BlobWriter {
            out,
            layout,
            with_url,
            rows: Vec::new(),
            count: 0,
            total_size: 0,
        }
    }

    pub fn write(&mut self, record: BlobRecord) -> io::Result<()> {
        // TSV shows only `url`; a table and JSON show both.
        let any = record.url.is_some() || record.public_url.is_some();
        let tsv = !self.out.json && !self.out.tty;
        self.out.url_shown(if tsv {
            self.with_url && record.url.is_some()
        } else {
            any
        });
        self.count += 1;
        self.total_size += record.size.unwrap_or(0);
        if self.out.json {
            self.out.json_line(&record)
        } else if !self.out.tty {
            self.out.tsv_line(&record.tsv_fields(self.with_url))
        } else if self.layout == Layout::Detail {
            self.out.data(&detail(&record, self.count > 1))
        } else {
            self.rows.push(record);
            Ok(())
        }
    }

    /// How many records were written, and their total size in bytes.
    pub fn totals(&self) -> (u64, u64) {
        (self.count, self.total_size)
    }

    /// Prints the held table, and `footer` under it (terminal only).
    pub fn finish(self, footer: Option<&str>) -> io::Result<()> {
        if self.out.json || !self.out.tty || self.layout == Layout::Detail {
            return Ok(());
        }
        if !self.rows.is_empty() {
            self.out
                .data(&super::blob_table::render(&self.rows, self.out.color))?;
        }
        match footer {
            Some(footer) => self.out.data(footer),
            None => Ok(()),
        }
    }
}

pub(super) fn shown_size(r: &BlobRecord) -> String {
    match r.size {
        Some(bytes) => human::size(bytes),
        None if r.status.is_none() => "incomplete".into(),
        None => "-".into(),
    }
}

/// The detail view of one record; `gap` puts a blank line before it.
fn detail(r: &BlobRecord, gap: bool) -> String {
    let mut lines: Vec<(&str, String)> = vec![
        ("id", r.id.to_string()),
        ("uid", escape_for_terminal(&r.uid)),
        ("name", escape_for_terminal(&r.name)),
        (
            "size",
            match r.size {
                Some(bytes) => format!("{} ({bytes} bytes)", human::size(bytes)),
                None => shown_size(r),
            },
        ),
        (
            "type",
            escape_for_terminal(r.content_type.as_deref().unwrap_or("-")),
        ),
        ("public", if r.public { "yes" } else { "no" }.into()),
        (
            "status",
            escape_for_terminal(r.status.as_deref().unwrap_or("incomplete")),
        ),
    ];
    for (key, at) in [("created", &r.created_at), ("updated", &r.updated_at)] {
        if let Some(at) = at {
            let shown = format!("{} ({at})", human::time(at));
            lines.push((key, escape_for_terminal(&shown)));
        }
    }
    if let Some(url) = &r.public_url {
        lines.push(("public url", escape_for_terminal(url)));
    }
    if let Some(url) = &r.url {
        lines.push(("download url", escape_for_terminal(url)));
    }
    let mut text = String::new();
    if gap {
        text.push('\n');
    }
    for (key, value) in lines {
        text.push_str(&format!("{:<13}{value}\n", format!("{key}:")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Blob {
        serde_json::from_str(
            r#"{"id": 7, "uid": "ab12", "name": "a\tb", "size": 347,
                "content_type": "image/jpeg", "public": true, "blob_status": "complete",
                "created_at": "2024-05-10T12:00:00Z", "updated_at": "2024-05-10T12:00:01Z"}"#,
        )
        .unwrap()
    }

    #[test]
    fn tsv_has_the_documented_columns() {
        let r = BlobRecord::from(&blob());
        assert_eq!(
            r.tsv_fields(false),
            [
                "7",
                "ab12",
                "a\tb",
                "347",
                "image/jpeg",
                "true",
                "2024-05-10T12:00:00Z"
            ]
        );
        assert_eq!(r.tsv_fields(true).len(), 8);
    }

    #[test]
    fn json_has_the_documented_keys_and_null_sizes() {
        let mut b = blob();
        b.size = None;
        b.blob_status = None;
        let v = serde_json::to_value(BlobRecord::from(&b)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "content_type",
                "created_at",
                "id",
                "name",
                "public",
                "size",
                "status",
                "uid",
                "updated_at"
            ]
        );
        assert!(v["size"].is_null() && v["status"].is_null());
    }

    #[test]
    fn the_detail_view_escapes_the_name() {
        let text = detail(&BlobRecord::from(&blob()), false);
        assert!(text.contains("name:        a\\tb\n"), "{text}");
        // Every field comes from the server, not only the name.
        let mut hostile = BlobRecord::from(&blob());
        hostile.uid = "ab\u{1b}]0;x\u{7}".into();
        hostile.status = Some("\u{1b}[2J".into());
        hostile.updated_at = Some("\u{9b}1m".into());
        hostile.url = Some("http://h/\u{1b}[8m".into());
        let text = detail(&hostile, false);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        let table = super::super::blob_table::render(&[hostile], false);
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "{table:?}"
        );
        assert!(text.contains("347 bytes"));
    }
}
