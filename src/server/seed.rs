//! A test aid, off unless `cubeblob serve --seed-blobs N:LOGIN[:TEMPLATE]` asks for it:
//! at start, N blob records for one user go straight into the database in one
//! transaction, so that a benchmark or a test can list 100,000 blobs without uploading
//! them (seconds instead of minutes). The records are complete, with a size and times,
//! but storage holds nothing for them: their downloads answer 404.
//!
//! Names come from TEMPLATE (default `seed-{n}.{ext}`): `{n}` is the record's number
//! from 1, zero-padded to the width of N; `{ext}` cycles through ten extensions, each
//! with its content type, so one record in ten is a `.png`. Every seventh is public.
//! Creation times count up a second per record to the start, so times follow ids.

use anyhow::{bail, Result};

use super::blob_input::new_uid;
use super::db::{Db, SeedBlob};

/// The extensions `{ext}` cycles through, with the content type each record gets.
const EXTENSIONS: [(&str, &str); 10] = [
    ("png", "image/png"),
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
    ("pdf", "application/pdf"),
    ("json", "application/json"),
    ("csv", "text/csv"),
    ("html", "text/html"),
    ("mp4", "video/mp4"),
    ("zip", "application/zip"),
    ("bin", "application/octet-stream"),
];

const DEFAULT_TEMPLATE: &str = "seed-{n}.{ext}";

/// The most records one option may ask for: enough for any benchmark, and few enough
/// that the rows built in memory before the insert stay small.
const MAX_COUNT: u64 = 10_000_000;

/// The longest name the API accepts.
const MAX_NAME_CHARS: usize = 100;

/// One `--seed-blobs` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSpec {
    pub count: u64,
    pub login: String,
    pub template: String,
}

impl SeedSpec {
    /// `N:LOGIN[:TEMPLATE]`; the template may hold colons.
    pub fn parse(text: &str) -> Result<SeedSpec, String> {
        let usage = || format!("`--seed-blobs` takes N:LOGIN[:TEMPLATE], got `{text}`");
        let mut parts = text.splitn(3, ':');
        let count = parts.next().and_then(|n| n.parse::<u64>().ok());
        let login = parts.next().filter(|l| !l.is_empty());
        let (Some(count), Some(login)) = (count, login) else {
            return Err(usage());
        };
        if count == 0 || count > MAX_COUNT {
            return Err(format!(
                "`--seed-blobs`: N must be 1 to {MAX_COUNT}, not `{count}`"
            ));
        }
        let template = parts.next().unwrap_or(DEFAULT_TEMPLATE).to_string();
        let spec = SeedSpec {
            count,
            login: login.to_string(),
            template,
        };
        if !spec.template.contains("{n}") {
            return Err(format!(
                "`--seed-blobs`: the template `{}` needs `{{n}}`, or every name would be the same",
                spec.template
            ));
        }
        // The longest name it makes: the last number with the longest extension.
        let longest = EXTENSIONS
            .iter()
            .map(|(ext, _)| spec.name(count, ext).chars().count())
            .max()
            .unwrap_or(0);
        if longest > MAX_NAME_CHARS {
            return Err(format!(
                "`--seed-blobs`: the template `{}` makes names longer than {MAX_NAME_CHARS} characters",
                spec.template
            ));
        }
        Ok(spec)
    }

    fn name(&self, n: u64, ext: &str) -> String {
        let width = self.count.to_string().len();
        self.template
            .replace("{n}", &format!("{n:0width$}"))
            .replace("{ext}", ext)
    }

    /// The records, numbered from 1, the last one created at `now`.
    pub fn records(&self, owner_id: i64, now: i64) -> Vec<SeedBlob> {
        (1..=self.count)
            .map(|n| {
                let (ext, content_type) = EXTENSIONS[((n - 1) % EXTENSIONS.len() as u64) as usize];
                SeedBlob {
                    uid: new_uid(),
                    owner_id,
                    name: self.name(n, ext),
                    content_type: content_type.to_string(),
                    public: n % 7 == 0,
                    size: 1024 * (1 + (n % 100) as i64),
                    at: now - (self.count - n) as i64,
                }
            })
            .collect()
    }
}

/// Adds every spec's records (after the users exist), one transaction per spec.
pub async fn seed(db: &Db, specs: &[SeedSpec], now: i64) -> Result<()> {
    for spec in specs {
        let Some(user) = db.user_by_login(&spec.login).await? else {
            bail!(
                "`--seed-blobs`: no user `{}` on this server (add it with --user)",
                spec.login
            );
        };
        let (spec, owner) = (spec.clone(), user.id);
        let rows = tokio::task::spawn_blocking(move || spec.records(owner, now)).await?;
        db.insert_seed(rows).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_a_default_template() {
        let spec = SeedSpec::parse("100000:lister").unwrap();
        assert_eq!(
            (spec.count, spec.login.as_str(), spec.template.as_str()),
            (100_000, "lister", DEFAULT_TEMPLATE)
        );
        let spec = SeedSpec::parse("5:bob:a:b/{n}.{ext}").unwrap();
        assert_eq!(spec.template, "a:b/{n}.{ext}");
        for bad in [
            "",
            "x:bob",
            "10",
            "10:",
            "0:bob",
            "20000000:bob",
            "3:bob:same.png",
        ] {
            assert!(SeedSpec::parse(bad).is_err(), "{bad}");
        }
        // 100 characters is the most a name may have.
        let longest = format!("3:bob:{}{{n}}", "x".repeat(99));
        assert!(SeedSpec::parse(&longest).is_ok());
        let long = format!("10:bob:{}{{n}}", "x".repeat(99));
        assert!(SeedSpec::parse(&long).is_err());
    }

    #[test]
    fn records_mix_extensions_and_count_up_to_now() {
        let spec = SeedSpec::parse("20:bob").unwrap();
        let rows = spec.records(7, 1_000);
        assert_eq!(rows.len(), 20);
        assert_eq!(rows[0].name, "seed-01.png");
        assert_eq!(rows[1].name, "seed-02.txt");
        assert_eq!(rows[10].name, "seed-11.png");
        assert_eq!(rows[0].content_type, "image/png");
        let pngs = rows.iter().filter(|r| r.name.ends_with(".png")).count();
        assert_eq!(pngs, 2);
        assert_eq!((rows[0].at, rows[19].at), (981, 1_000));
        assert!(rows.iter().all(|r| r.owner_id == 7 && r.size >= 1024));
        assert_eq!(rows.iter().filter(|r| r.public).count(), 2);
        let uids: std::collections::HashSet<_> = rows.iter().map(|r| &r.uid).collect();
        assert_eq!(uids.len(), 20);
    }
}
