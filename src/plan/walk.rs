//! The local side of a collection: the files behind the paths, folders and patterns
//! given, each with the blob name it maps to (the prefix, then its path relative to the
//! folder or pattern base given, with `/` between folders). Reads only metadata: no
//! file is opened here. Symbolic links are followed (a link to a folder is walked, a
//! loop is reported); an entry that cannot be read is kept with its problem, so that
//! the others go on and a sync never deletes the blob of a file it could not see.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::exit::InputError;
use crate::output::sanitize::escape_for_terminal;

/// `--exclude` patterns. One without a `/` is matched against the name of each file
/// and folder (`*.map`, `node_modules`); one with a `/` against the path relative to
/// the folder given (`js/*.map`, `**/tmp/**`), where `*` stays within a folder.
#[derive(Debug, Clone)]
pub struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    pub fn new(patterns: &[String]) -> Result<Excludes, InputError> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_start_matches("./").trim_end_matches('/');
            let glob = glob(trimmed, "--exclude")?;
            if trimmed.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| InputError::Invalid(format!("bad `--exclude` pattern: {e}")))
        };
        Ok(Excludes {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    /// Whether the entry at `rel` (relative, `/`-separated) is left out.
    pub fn excludes(&self, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.names.is_match(name) || self.paths.is_match(rel)
    }
}

/// How inputs turn into files and names.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Folders are walked (without it, a folder given is an error).
    pub recursive: bool,
    pub excludes: Excludes,
    /// Put before every name, as given (`site/` for a folder-like prefix).
    pub prefix: String,
}

/// One local file and the blob name it maps to.
#[derive(Debug)]
pub struct Found {
    /// The path to open.
    pub path: PathBuf,
    /// The blob name: the prefix and the relative path.
    pub name: String,
    /// The path relative to the folder or pattern base given, `/`-separated (for a
    /// file given by itself, its file name).
    pub rel: String,
    /// Why it cannot be used (an unreadable entry, a link to nowhere, a loop).
    pub problem: Option<String>,
}

/// The files of every input, in order, and the inputs that gave none.
#[derive(Debug, Default)]
pub struct Walked {
    pub found: Vec<Found>,
    /// An input that cannot be used at all (a folder without `-r`, a pattern that
    /// matches nothing): its message.
    pub refused: Vec<String>,
}

/// Expands `inputs`: a file stands for itself (named by its file name), a folder for
/// every file under it (with `-r`), a path that does not exist but has glob characters
/// for the files it matches. A path that exists is never taken as a pattern.
pub fn expand(inputs: &[PathBuf], opts: &WalkOptions) -> Result<Walked, InputError> {
    let mut walked = Walked::default();
    for input in inputs {
        match std::fs::metadata(input) {
            Ok(meta) if meta.is_dir() => {
                if opts.recursive {
                    walk(input, None, opts, &mut walked);
                } else {
                    walked.refused.push(format!(
                        "`{}` is a folder\nhint: upload the files under it with `-r`",
                        shown(input)
                    ));
                }
            }
            Err(_) if is_pattern(input) => {
                let before = walked.found.len();
                let (base, matcher) = split_pattern(input)?;
                walk(&base, Some(&matcher), opts, &mut walked);
                if walked.found.len() == before {
                    walked
                        .refused
                        .push(format!("the pattern `{}` matches no file", shown(input)));
                }
            }
            // A file, or a path that does not exist (opening it says why).
            _ => {
                let rel = match input.file_name().and_then(|n| n.to_str()) {
                    Some(n) => n.to_string(),
                    None => {
                        walked.refused.push(format!(
                            "`{}` has no usable file name\nhint: name the blob with `--name NAME`",
                            shown(input)
                        ));
                        continue;
                    }
                };
                if !opts.excludes.excludes(&rel) {
                    walked.found.push(Found {
                        path: input.clone(),
                        name: format!("{}{rel}", opts.prefix),
                        rel,
                        problem: None,
                    });
                }
            }
        }
    }
    Ok(walked)
}

/// Every file under `base` (links followed), sorted by path, less the excluded ones
/// and, with a pattern, only those it matches.
fn walk(base: &Path, pattern: Option<&GlobMatcher>, opts: &WalkOptions, walked: &mut Walked) {
    let relative = |path: &Path| -> Option<String> {
        let parts: Option<Vec<&str>> = path
            .strip_prefix(base)
            .ok()?
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        parts.filter(|p| !p.is_empty()).map(|p| p.join("/"))
    };
    let entries = walkdir::WalkDir::new(base)
        .follow_links(true)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        // Excluded folders are not even entered.
        .filter_entry(|e| relative(e.path()).is_none_or(|rel| !opts.excludes.excludes(&rel)));
    for entry in entries {
        let (path, problem) = match entry {
            Ok(e) if e.file_type().is_dir() => continue,
            Ok(e) => (e.into_path(), None),
            Err(err) => {
                let Some(path) = err.path().map(Path::to_path_buf) else {
                    walked
                        .refused
                        .push(format!("cannot read under `{}`: {err}", shown(base)));
                    continue;
                };
                let why = if err.loop_ancestor().is_some() {
                    "a symbolic link that loops back to a folder above it".to_string()
                } else {
                    match err.io_error().map(|e| e.kind()) {
                        Some(std::io::ErrorKind::NotFound) => {
                            "a symbolic link to nothing (its target does not exist)".into()
                        }
                        Some(std::io::ErrorKind::PermissionDenied) => "permission denied".into(),
                        _ => err.to_string(),
                    }
                };
                let problem = format!("cannot read `{}`: {why}", shown(&path));
                (path, Some(problem))
            }
        };
        let Some(rel) = relative(&path) else {
            walked.refused.push(format!(
                "`{}` has a name that is not valid UTF-8; blob names must be",
                shown(&path)
            ));
            continue;
        };
        if opts.excludes.excludes(&rel) || pattern.is_some_and(|p| !p.is_match(&rel)) {
            continue;
        }
        walked.found.push(Found {
            path,
            name: format!("{}{rel}", opts.prefix),
            rel,
            problem,
        });
    }
}

/// Names that two or more files map to, each with those files: refused before any
/// request, since the second upload would make a second blob of the same name.
pub fn collisions(found: &[Found]) -> Option<InputError> {
    let mut by_name: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for f in found {
        by_name.entry(&f.name).or_default().push(&f.path);
    }
    let lines: Vec<String> = by_name
        .iter()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(name, paths)| {
            let paths: Vec<String> = paths.iter().map(|p| format!("`{}`", shown(p))).collect();
            format!(
                "the blob name `{}` would be given to {}",
                escape_for_terminal(name),
                paths.join(" and ")
            )
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    Some(InputError::Invalid(format!(
        "{}\nhint: give the folder with `-r` so that names keep their paths, or upload the \
         files in separate runs with a different `--prefix`; nothing was uploaded",
        lines.join("\n")
    )))
}

fn is_pattern(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| s.contains(['*', '?', '[', '{']))
}

/// `dist/**/*.js` → the folder `dist` and the pattern `**/*.js` for paths under it.
fn split_pattern(input: &Path) -> Result<(PathBuf, GlobMatcher), InputError> {
    let text = input.to_str().unwrap_or_default();
    let parts: Vec<&str> = text.split('/').collect();
    let literal = parts
        .iter()
        .take_while(|p| !p.contains(['*', '?', '[', '{']))
        .count();
    let base = match parts[..literal].join("/") {
        b if b.is_empty() && text.starts_with('/') => PathBuf::from("/"),
        b if b.is_empty() => PathBuf::from("."),
        b => PathBuf::from(b),
    };
    let rest = parts[literal..].join("/");
    Ok((base, glob(&rest, "pattern")?.compile_matcher()))
}

fn glob(pattern: &str, what: &str) -> Result<Glob, InputError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| InputError::Invalid(format!("bad {what} `{pattern}`: {e}")))
}

fn shown(path: &Path) -> String {
    escape_for_terminal(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excludes(patterns: &[&str]) -> Excludes {
        Excludes::new(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_pattern_without_a_slash_matches_names_one_with_a_slash_paths() {
        let ex = excludes(&["*.map", "node_modules", "js/*.tmp"]);
        assert!(ex.excludes("app.js.map"));
        assert!(ex.excludes("deep/down/app.js.map"));
        assert!(ex.excludes("node_modules"));
        assert!(ex.excludes("a/node_modules"));
        assert!(ex.excludes("js/x.tmp"));
        assert!(!ex.excludes("js/sub/x.tmp"));
        assert!(!ex.excludes("app.js"));
        assert!(Excludes::new(&["a[".into()]).is_err());
    }

    #[test]
    fn a_pattern_splits_into_its_folder_and_the_rest() {
        let (base, m) = split_pattern(Path::new("dist/**/*.js")).unwrap();
        assert_eq!(base, PathBuf::from("dist"));
        assert!(m.is_match("app.js") && m.is_match("js/app.js") && !m.is_match("app.css"));
        let (base, m) = split_pattern(Path::new("*.txt")).unwrap();
        assert_eq!(base, PathBuf::from("."));
        assert!(m.is_match("a.txt") && !m.is_match("sub/a.txt"));
    }
}
