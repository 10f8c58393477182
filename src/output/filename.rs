//! Blob names turned into safe local file names. A name comes from the server and may
//! be anything (`../../evil`, `/etc/passwd`, escape sequences): what this returns is a
//! single path component that stays inside the chosen folder on Unix and Windows.

use std::collections::HashSet;

/// Longest file name we make, in bytes: under the 255 most file systems allow, with
/// room for ` (12)` and `.part`.
pub const MAX_NAME_BYTES: usize = 200;

/// The longest tail after the last dot that is kept as an extension when a name is cut.
const MAX_EXTENSION_BYTES: usize = 16;

/// Names Windows reserves for devices, with any extension.
const WINDOWS_DEVICES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A safe file name for `name`; `fallback` (e.g. `blob-46919`) when nothing usable is left.
pub fn sanitize(name: &str, fallback: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if is_unsafe(c) { '_' } else { c })
        .collect();
    // Windows drops trailing dots and spaces, which would make `a.` and `a` the same file.
    let trimmed = out.trim_end_matches(['.', ' ']).trim_start_matches(' ');
    out = trimmed.to_string();
    // A leading dot hides the file (`.bashrc`) or names a folder (`.`, `..`).
    if out.starts_with('.') {
        let dots = out.len() - out.trim_start_matches('.').len();
        out.replace_range(..dots, &"_".repeat(dots));
    }
    let stem = out.split('.').next().unwrap_or("");
    if WINDOWS_DEVICES
        .iter()
        .any(|d| d.eq_ignore_ascii_case(stem.trim_end()))
    {
        out.insert(0, '_');
    }
    out = truncate_keeping_extension(&out, MAX_NAME_BYTES);
    if out.is_empty() {
        return sanitize_fallback(fallback);
    }
    out
}

fn sanitize_fallback(fallback: &str) -> String {
    let safe: String = fallback
        .chars()
        .map(|c| if is_unsafe(c) || c == '.' { '_' } else { c })
        .collect();
    if safe.is_empty() {
        "blob".into()
    } else {
        truncate_keeping_extension(&safe, MAX_NAME_BYTES)
    }
}

/// Separators, characters Windows forbids, control characters, and the invisible
/// formatting ones (bidi overrides) that make a name read as something else.
fn is_unsafe(c: char) -> bool {
    matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
        || c.is_control()
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// At most `max` bytes, cut on a character boundary, keeping a short extension.
fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        // An extension only while it leaves room for some of the stem.
        Some(dot)
            if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES.min(max.saturating_sub(1)) =>
        {
            name.split_at(dot)
        }
        _ => (name, ""),
    };
    let mut keep = max - ext.len();
    while !stem.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{ext}", &stem[..keep])
}

/// Hands out names within one run so that no two downloads share a file: the second
/// `cat.jpg` becomes `cat (1).jpg`. Case is ignored, as some file systems do.
#[derive(Debug, Default)]
pub struct UniqueNames {
    taken: HashSet<String>,
}

impl UniqueNames {
    pub fn new() -> UniqueNames {
        UniqueNames::default()
    }

    /// `name` if still free, else the first free `stem (N).ext`.
    pub fn claim(&mut self, name: &str) -> String {
        if self.taken.insert(name.to_lowercase()) {
            return name.to_string();
        }
        // A long "extension" is part of the stem, or the number would not fit.
        let (stem, ext) = match name.rfind('.') {
            Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
            _ => (name, ""),
        };
        for n in 1.. {
            let suffix = format!(" ({n}){ext}");
            let stem =
                truncate_keeping_extension(stem, MAX_NAME_BYTES.saturating_sub(suffix.len()));
            let candidate = format!("{stem}{suffix}");
            if self.taken.insert(candidate.to_lowercase()) {
                return candidate;
            }
        }
        unreachable!("some suffix is always free")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The properties every result has, whatever the input.
    fn assert_safe(name: &str) {
        let out = sanitize(name, "blob-7");
        assert!(!out.is_empty(), "{name:?}");
        assert!(
            out.len() <= MAX_NAME_BYTES,
            "{name:?} -> {} bytes",
            out.len()
        );
        assert!(!out.contains(['/', '\\']), "{name:?} -> {out:?}");
        assert!(!out.chars().any(char::is_control), "{name:?} -> {out:?}");
        assert!(!out.starts_with('.') && out != "..", "{name:?} -> {out:?}");
        assert!(!out.ends_with(['.', ' ']), "{name:?} -> {out:?}");
        let path = std::path::Path::new(&out);
        assert_eq!(path.components().count(), 1, "{name:?} -> {out:?}");
        assert!(matches!(
            path.components().next(),
            Some(std::path::Component::Normal(_))
        ));
    }

    #[test]
    fn hostile_names_become_one_plain_component() {
        let long = "é".repeat(150);
        let cases = [
            "../../evil",
            "/etc/passwd",
            "a/b",
            "..",
            ".",
            "",
            " ",
            "...",
            ".bashrc",
            "\x1b[31mred\x1b[0m",
            "a\\b",
            "C:\\Windows\\x",
            "CON",
            "con.txt",
            "nul ",
            "a\u{202E}txt.exe",
            "name.",
            "tab\there",
            "\n",
            &long,
            "x\0y",
        ];
        for name in cases {
            assert_safe(name);
        }
    }

    #[test]
    fn ordinary_names_stay_as_they_are() {
        for name in [
            "cat.jpeg",
            "report 2024 (final).pdf",
            "naïve résumé.txt",
            "a.b.c",
            "日本語.png",
        ] {
            assert_eq!(sanitize(name, "blob-1"), name);
        }
    }

    #[test]
    fn specific_rewrites() {
        assert_eq!(sanitize("../../evil", "b"), "___.._evil");
        assert_eq!(sanitize("/etc/passwd", "b"), "_etc_passwd");
        assert_eq!(sanitize("a/b", "b"), "a_b");
        assert_eq!(sanitize("..", "blob-7"), "blob-7");
        assert_eq!(sanitize("", "blob-7"), "blob-7");
        assert_eq!(sanitize(".bashrc", "b"), "_bashrc");
        assert_eq!(sanitize("\x1b[31mred", "b"), "_[31mred");
        assert_eq!(sanitize("CON.txt", "b"), "_CON.txt");
        assert_eq!(sanitize("console.txt", "b"), "console.txt");
        // The Arabic letter mark reorders text as the other bidi controls do (found by
        // the `names` fuzz target).
        assert_eq!(sanitize("a\u{061c}b.txt", "b"), "a_b.txt");
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary_keeping_the_extension() {
        let name = format!("{}.tar.gz", "ü".repeat(200));
        let out = sanitize(&name, "b");
        assert!(out.len() <= MAX_NAME_BYTES);
        assert!(out.ends_with(".gz"), "{out}");
        let hundred = "x".repeat(100);
        assert_eq!(sanitize(&hundred, "b"), hundred);
    }

    #[test]
    fn collisions_get_numbered() {
        let mut names = UniqueNames::new();
        assert_eq!(names.claim("cat.jpg"), "cat.jpg");
        assert_eq!(names.claim("cat.jpg"), "cat (1).jpg");
        assert_eq!(names.claim("CAT.jpg"), "CAT (2).jpg");
        assert_eq!(names.claim("README"), "README");
        assert_eq!(names.claim("README"), "README (1)");
        let long = "y".repeat(MAX_NAME_BYTES);
        names.claim(&long);
        assert!(names.claim(&long).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn a_long_extension_leaves_room_for_the_number() {
        // Found by the `names` fuzz target: the stem's own short extension outgrew the
        // room left by a long one, and `max - ext.len()` underflowed (a panic in debug
        // builds, a loop without end in release ones).
        let name = format!("ab.{}.{}", "c".repeat(11), "e".repeat(185));
        assert_eq!(sanitize(&name, "b"), name);
        let mut names = UniqueNames::new();
        assert_eq!(names.claim(&name), name);
        for _ in 0..3 {
            let next = names.claim(&name);
            assert!(next.len() <= MAX_NAME_BYTES, "{} bytes", next.len());
            assert!(next.contains(" ("), "{next}");
        }
    }
}
