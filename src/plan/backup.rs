//! Where `download --all -o DIR` puts each blob: its name as a relative path
//! (`docs/a.txt` lands at `DIR/docs/a.txt`), each segment made safe with the same
//! sanitising as a single download, so nothing is ever written outside DIR. A second
//! blob with a path already taken gets its id before the extension (`a (5123).txt`):
//! listed in id order, a rerun hands out the same paths, which makes it resumable.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::api::Blob;
use crate::output::filename::sanitize;

/// The paths handed out in one run (compared without case, as some file systems do).
#[derive(Debug, Default)]
pub struct BackupPaths {
    taken: HashSet<String>,
}

impl BackupPaths {
    pub fn new() -> BackupPaths {
        BackupPaths::default()
    }

    /// The path below DIR for `blob`: its own, or with ` (ID)` when already taken.
    pub fn claim(&mut self, blob: &Blob) -> PathBuf {
        let mut segments: Vec<String> = blob
            .name
            .split(['/', '\\'])
            .filter(|s| !s.is_empty())
            .map(|s| sanitize(s, "_"))
            .collect();
        let file = segments.pop().map_or_else(
            || sanitize("", &format!("blob-{}", blob.id)),
            |last| {
                if last == "_" {
                    format!("blob-{}", blob.id)
                } else {
                    last
                }
            },
        );
        let folder = segments.join("/");
        let joined = |file: &str| {
            if folder.is_empty() {
                file.to_string()
            } else {
                format!("{folder}/{file}")
            }
        };
        let mut candidate = joined(&file);
        let mut n = 0;
        while !self.taken.insert(candidate.to_lowercase()) {
            n += 1;
            let (stem, ext) = split_extension(&file);
            let tag = if n == 1 {
                format!(" ({})", blob.id)
            } else {
                format!(" ({}-{n})", blob.id)
            };
            candidate = joined(&format!("{stem}{tag}{ext}"));
        }
        candidate.split('/').collect()
    }
}

/// `a.tar.gz` -> (`a.tar`, `.gz`); no extension for `Makefile` or `_bashrc`.
fn split_extension(file: &str) -> (&str, &str) {
    match file.rfind('.') {
        Some(dot) if dot > 0 && file.len() - dot <= 16 => file.split_at(dot),
        _ => (file, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(id: u64, name: &str) -> Blob {
        serde_json::from_value(serde_json::json!({"id": id, "uid": "u", "name": name})).unwrap()
    }

    #[test]
    fn names_become_safe_relative_paths_and_duplicates_take_their_id() {
        let mut paths = BackupPaths::new();
        let mut claim = |id, name| paths.claim(&blob(id, name)).display().to_string();
        assert_eq!(claim(1, "docs/a.txt"), "docs/a.txt");
        assert_eq!(claim(2, "docs/a.txt"), "docs/a (2).txt");
        assert_eq!(claim(3, "DOCS/A.TXT"), "DOCS/A (3).TXT");
        assert_eq!(claim(4, "../../etc/passwd"), "_/_/etc/passwd");
        assert_eq!(claim(5, "/abs//x"), "abs/x");
        assert_eq!(claim(6, "a/.."), "a/blob-6");
        assert_eq!(claim(7, "Makefile"), "Makefile");
        assert_eq!(claim(8, "Makefile"), "Makefile (8)");
        assert_eq!(claim(9, "docs/a (2).txt"), "docs/a (2) (9).txt");
    }
}
