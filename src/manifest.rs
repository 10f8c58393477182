//! The manifest that `upload --manifest` and `sync --manifest` write: one JSON
//! document mapping each blob name to where it went (id, uid, public URL) and what it
//! holds (size, MD5, type), for an app build to read; and `copy --manifest`'s, which
//! maps each source blob's id to its copy (`CopyManifest`). Written atomically (a temporary
//! file beside it, renamed over it), so a reader never sees half of one. For `sync`
//! it is also a cache: each entry keeps the local file's size and modification time
//! when its MD5 was taken, so an unchanged file is not read again, and the blob's uid,
//! which changes with every new content, so the blob's MD5 needs no request.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context as _, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::exit::InputError;
use crate::output::copy::CopyLine;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The API the blobs live in.
    pub api_url: String,
    /// When it was written, RFC 3339.
    pub written_at: String,
    /// False when some files failed: only those that succeeded are in it.
    pub complete: bool,
    pub blobs: BTreeMap<String, Entry>,
}

/// One blob, keyed by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    pub uid: String,
    pub size: u64,
    /// Of the content, lowercase hex.
    pub md5: String,
    pub content_type: Option<String>,
    pub public: bool,
    /// `{api}/blobs/{uid}`, which needs no token, for public blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The local file it came from, as found (for people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The local file's modification time when its MD5 was taken (RFC 3339 with
    /// nanoseconds): with the same size and time, the MD5 is trusted unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
}

impl Manifest {
    pub fn new(api_url: String) -> Manifest {
        Manifest {
            api_url,
            written_at: String::new(),
            complete: true,
            blobs: BTreeMap::new(),
        }
    }

    /// The manifest at `path`; `None` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Manifest>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            InputError::Invalid(format!(
                "`{}` is not a cubeblob manifest: {e}\nhint: remove it, or give another \
                 `--manifest` path",
                path.display()
            ))
            .into()
        })
    }

    /// Writes it to `path` through a temporary file in the same folder, renamed over
    /// the old one once complete.
    pub fn write(&mut self, path: &Path) -> Result<()> {
        self.written_at = now();
        write_atomically(path, self)
    }

    /// Whether it says what `old` says, the time it was written aside: then `old`'s
    /// file can stay as it is.
    pub fn same_as(&self, old: &Manifest) -> bool {
        self.api_url == old.api_url && self.complete == old.complete && self.blobs == old.blobs
    }

    /// The MD5 of a local file, when the entry for `name` was taken from a file of
    /// this size and modification time.
    pub fn cached_file_md5(&self, name: &str, size: u64, mtime: Option<&str>) -> Option<&str> {
        let entry = self.blobs.get(name)?;
        (entry.size == size && mtime.is_some() && entry.mtime.as_deref() == mtime)
            .then_some(entry.md5.as_str())
    }

    /// The MD5 of a blob's content, when the entry has its uid (a new content gets a
    /// new uid, so the same uid and size mean the same bytes).
    pub fn cached_blob_md5(&self, name: &str, uid: &str, size: u64) -> Option<&str> {
        let entry = self.blobs.get(name)?;
        (entry.uid == uid && entry.size == size).then_some(entry.md5.as_str())
    }
}

/// `copy --manifest`: where each source blob went, keyed by its id (names may repeat).
/// It holds the copies made and the blobs that `--skip-existing` found already there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyManifest {
    pub source: Account,
    pub target: Account,
    /// When it was written, RFC 3339.
    pub written_at: String,
    /// False when some copies failed or the run was interrupted.
    pub complete: bool,
    pub blobs: BTreeMap<u64, CopyLine>,
}

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub api_url: String,
    pub user_id: Option<u64>,
    /// The profile, for the target (the source may be the environment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl CopyManifest {
    pub fn new(source: Account, target: Account) -> CopyManifest {
        CopyManifest {
            source,
            target,
            written_at: String::new(),
            complete: true,
            blobs: BTreeMap::new(),
        }
    }

    /// Writes it atomically, as `Manifest::write` does.
    pub fn write(&mut self, path: &Path) -> Result<()> {
        self.written_at = now();
        write_atomically(path, self)
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes `value` as pretty JSON to `path` through a temporary file in the same
/// folder, renamed over the old one once complete: a reader never sees half of it.
fn write_atomically(path: &Path, value: &impl Serialize) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let failed = || format!("cannot write the manifest `{}`", path.display());
    let mut temp = tempfile::NamedTempFile::new_in(folder).with_context(failed)?;
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    temp.write_all(&text).with_context(failed)?;
    temp.as_file().sync_all().with_context(failed)?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(failed)?;
    Ok(())
}

/// A modification time as the manifest keeps it.
pub fn mtime_text(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(uid: &str, size: u64, mtime: Option<&str>) -> Entry {
        Entry {
            id: 1,
            uid: uid.into(),
            size,
            md5: "m".into(),
            content_type: None,
            public: false,
            public_url: None,
            file: None,
            mtime: mtime.map(str::to_string),
        }
    }

    #[test]
    fn the_cache_needs_the_same_size_and_time_or_the_same_uid() {
        let mut m = Manifest::new("http://x".into());
        m.blobs.insert("a".into(), entry("u1", 3, Some("t1")));
        assert_eq!(m.cached_file_md5("a", 3, Some("t1")), Some("m"));
        assert_eq!(m.cached_file_md5("a", 3, Some("t2")), None);
        assert_eq!(m.cached_file_md5("a", 4, Some("t1")), None);
        assert_eq!(m.cached_file_md5("a", 3, None), None);
        assert_eq!(m.cached_file_md5("b", 3, Some("t1")), None);
        assert_eq!(m.cached_blob_md5("a", "u1", 3), Some("m"));
        assert_eq!(m.cached_blob_md5("a", "u2", 3), None);
    }

    #[test]
    fn it_is_written_whole_and_read_back() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("m.json");
        assert_eq!(Manifest::read(&path).unwrap(), None);
        let mut m = Manifest::new("http://x".into());
        m.blobs.insert("a/b.txt".into(), entry("u1", 3, None));
        m.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), Some(m));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&path, "{").unwrap();
        assert!(Manifest::read(&path).is_err());
    }
}
