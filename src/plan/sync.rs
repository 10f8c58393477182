//! What `sync` would do: the local files against the blobs whose names start with the
//! prefix. A file with no blob of its name is uploaded; one whose blob differs in size
//! or MD5 replaces the blob's content (same id); the same size and MD5 is skipped.
//! Incomplete blobs under the prefix are deleted (their files uploaded afresh), and
//! with `--delete` so are complete blobs with no local file. Several complete blobs of
//! one name refuse the whole sync. `gather` reads what the decision needs (sizes, and
//! MD5s only where the sizes agree); `decide` is pure.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use futures_util::stream::{self, StreamExt};

use super::walk::Found;
use crate::api::{Blob, Client};
use crate::exit::InputError;
use crate::manifest::{mtime_text, Manifest};
use crate::output::sanitize::escape_for_terminal;
use crate::transfer::etag::remote_md5;
use crate::transfer::source::md5_of;

/// The MD5 of no bytes: a blob and a file of size 0 are equal without asking.
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// A local file that can be sent.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    /// Its modification time, as the manifest keeps it.
    pub mtime: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Upload,
    Replace,
    Delete,
    Skip,
}

/// One thing to do, with why.
#[derive(Debug, Clone)]
pub struct Action {
    pub kind: Kind,
    pub name: String,
    /// The file to send (upload, replace) or that matched (skip).
    pub file: Option<LocalFile>,
    /// The blob replaced, deleted or matched.
    pub blob: Option<Blob>,
    /// The content's MD5 when the plan knows it (always for a skip).
    pub md5: Option<String>,
    pub reason: &'static str,
}

impl Action {
    /// The bytes it sends (upload, replace) or concerns (skip: the file; delete: the blob).
    pub fn size(&self) -> u64 {
        match (&self.file, &self.blob) {
            (Some(f), _) => f.size,
            (None, Some(b)) => b.size.unwrap_or(0),
            _ => 0,
        }
    }
}

/// The plan: actions in the order they are carried out, in three steps (deletes of
/// incomplete records, then uploads and replacements, then deletes of blobs with no
/// file), and the local files that cannot take part, with why.
#[derive(Debug, Default)]
pub struct Plan {
    pub steps: [Vec<Action>; 3],
    pub unusable: Vec<(String, String)>,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.steps.iter().flatten()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.actions().filter(|a| a.kind == kind).count()
    }
}

/// The remote side under the prefix, by name.
#[derive(Debug, Default)]
pub struct Remote {
    pub complete: BTreeMap<String, Blob>,
    pub incomplete: Vec<Blob>,
}

/// Sorts the listing; several complete blobs of one name refuse the sync (which of
/// them should it update?).
pub fn remote_under(prefix: &str, blobs: Vec<Blob>) -> Result<Remote, InputError> {
    let mut remote = Remote::default();
    let mut doubles: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for blob in blobs.into_iter().filter(|b| b.name.starts_with(prefix)) {
        if !blob.is_complete() {
            remote.incomplete.push(blob);
        } else if let Some(first) = remote.complete.get(&blob.name) {
            doubles
                .entry(blob.name.clone())
                .or_insert_with(|| vec![first.id])
                .push(blob.id);
        } else {
            remote.complete.insert(blob.name.clone(), blob);
        }
    }
    if doubles.is_empty() {
        return Ok(remote);
    }
    let lines: Vec<String> = doubles
        .iter()
        .map(|(name, ids)| {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            format!("`{}`: blobs {}", escape_for_terminal(name), ids.join(", "))
        })
        .collect();
    Err(InputError::Invalid(format!(
        "several blobs have the same name, so sync cannot tell which one to keep in step:\n\
         {}\nhint: delete all but one of each with `cubeblob rm ID`, or rename them with \
         `cubeblob rename ID NAME`; nothing was changed",
        lines.join("\n")
    )))
}

/// What `decide` needs to know beyond the listing: the local files that can be read
/// and the MD5s, local and remote, of every name whose sizes agree.
#[derive(Debug, Default)]
pub struct Facts {
    pub files: Vec<LocalFile>,
    pub unusable: Vec<(String, String)>,
    pub local_md5: HashMap<String, String>,
    pub remote_md5: HashMap<String, Option<String>>,
}

/// The local files' metadata: the files that can be read, and why the others cannot.
/// Blocking (a `stat` a file): run it off the async threads.
pub fn read_local(found: Vec<Found>) -> Facts {
    let mut facts = Facts::default();
    for f in found {
        if let Some(problem) = f.problem {
            facts.unusable.push((f.name, problem));
            continue;
        }
        match std::fs::metadata(&f.path) {
            Ok(meta) if meta.is_file() => facts.files.push(LocalFile {
                mtime: meta.modified().ok().map(mtime_text),
                size: meta.len(),
                path: f.path,
                name: f.name,
            }),
            Ok(_) => {
                let why = format!("`{}` is not a regular file", shown(&f.path));
                facts.unusable.push((f.name, why));
            }
            Err(e) => {
                let why = format!("cannot read `{}`: {e}", shown(&f.path));
                facts.unusable.push((f.name, why));
            }
        }
    }
    facts
}

/// Adds to `facts` (from `read_local`), for names whose sizes agree, both MD5s: from
/// the manifest when it knows them, else by reading the file and by a ranged GET.
pub async fn gather(
    client: &Client,
    mut facts: Facts,
    remote: &Remote,
    cache: Option<&Manifest>,
    jobs: usize,
) -> Facts {
    let to_compare: Vec<(&LocalFile, &Blob)> = facts
        .files
        .iter()
        .filter_map(|f| remote.complete.get(&f.name).map(|b| (f, b)))
        .filter(|(f, b)| b.size == Some(f.size) && f.size > 0)
        .collect();
    let results: Vec<_> = stream::iter(to_compare)
        .map(|(file, blob)| async move {
            let cached_local =
                cache.and_then(|m| m.cached_file_md5(&file.name, file.size, file.mtime.as_deref()));
            let local = match cached_local {
                Some(md5) => Ok(md5.to_string()),
                None => md5_of(&file.path).await.map_err(|e| format!("{e:#}")),
            };
            let cached_remote =
                cache.and_then(|m| m.cached_blob_md5(&blob.name, &blob.uid, file.size));
            let remote = match cached_remote {
                Some(md5) => Ok(Some(md5.to_string())),
                None => remote_md5(client, &blob.uid)
                    .await
                    .map_err(|e| e.to_string()),
            };
            (file.name.clone(), local, remote)
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    for (name, local, remote) in results {
        match (local, remote) {
            (Ok(local), Ok(remote)) => {
                facts.local_md5.insert(name.clone(), local);
                facts.remote_md5.insert(name, remote);
            }
            (Err(why), _) | (_, Err(why)) => facts.unusable.push((name, why)),
        }
    }
    facts
        .files
        .retain(|f| !facts.unusable.iter().any(|(n, _)| *n == f.name));
    facts
}

/// The plan, from the facts alone.
pub fn decide(facts: Facts, remote: Remote, delete: bool) -> Plan {
    let mut plan = Plan::default();
    let mut remote = remote;
    let stale_names: Vec<String> = remote.incomplete.iter().map(|b| b.name.clone()).collect();
    for blob in std::mem::take(&mut remote.incomplete) {
        plan.steps[0].push(Action {
            kind: Kind::Delete,
            name: blob.name.clone(),
            file: None,
            blob: Some(blob),
            md5: None,
            reason: "incomplete upload",
        });
    }
    for file in facts.files {
        let name = file.name.clone();
        let local_md5 = facts.local_md5.get(&name).cloned();
        let (kind, reason, blob) = match remote.complete.remove(&name) {
            None if stale_names.contains(&name) => (Kind::Upload, "its blob was incomplete", None),
            None => (Kind::Upload, "new", None),
            Some(b) if b.size != Some(file.size) => (Kind::Replace, "size differs", Some(b)),
            Some(b) if file.size == 0 => (Kind::Skip, "unchanged", Some(b)),
            Some(b) => match facts.remote_md5.get(&name) {
                Some(Some(md5)) if Some(md5) == local_md5.as_ref() => {
                    (Kind::Skip, "unchanged", Some(b))
                }
                Some(Some(_)) => (Kind::Replace, "content differs", Some(b)),
                _ => (Kind::Replace, "the blob's MD5 is unknown", Some(b)),
            },
        };
        let md5 = match (kind, file.size) {
            (Kind::Skip, 0) => Some(EMPTY_MD5.to_string()),
            _ => local_md5,
        };
        plan.steps[1].push(Action {
            kind,
            name,
            file: Some(file),
            blob,
            md5,
            reason,
        });
    }
    // Blobs whose file could not be read stay as they are, whatever `--delete` says.
    for (name, _) in &facts.unusable {
        remote.complete.remove(name);
    }
    if delete {
        for (name, blob) in remote.complete {
            plan.steps[2].push(Action {
                kind: Kind::Delete,
                name,
                file: None,
                blob: Some(blob),
                md5: None,
                reason: "no such file",
            });
        }
    }
    plan.unusable = facts.unusable;
    plan
}

fn shown(path: &std::path::Path) -> String {
    escape_for_terminal(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_blob as blob;
    use super::*;

    fn file(name: &str, size: u64) -> LocalFile {
        LocalFile {
            path: name.into(),
            name: name.into(),
            size,
            mtime: None,
        }
    }

    #[test]
    fn each_file_is_uploaded_replaced_or_skipped_and_the_rest_deleted() {
        let remote = remote_under(
            "p/",
            vec![
                blob(1, "p/same", Some(3)),
                blob(2, "p/edited", Some(3)),
                blob(3, "p/grown", Some(3)),
                blob(4, "p/gone", Some(1)),
                blob(5, "p/half", None),
                blob(6, "other", Some(1)),
                blob(7, "p/empty", Some(0)),
            ],
        )
        .unwrap();
        let mut facts = Facts {
            files: ["same", "edited", "grown", "new", "half", "empty"]
                .iter()
                .map(|n| {
                    file(
                        &format!("p/{n}"),
                        if *n == "grown" {
                            4
                        } else if *n == "empty" {
                            0
                        } else {
                            3
                        },
                    )
                })
                .collect(),
            ..Facts::default()
        };
        for (name, local, remote) in [("p/same", "a", "a"), ("p/edited", "a", "b")] {
            facts.local_md5.insert(name.into(), local.into());
            facts.remote_md5.insert(name.into(), Some(remote.into()));
        }
        let plan = decide(facts, remote, true);
        let got: Vec<(Kind, &str, &str)> = plan
            .actions()
            .map(|a| (a.kind, a.name.as_str(), a.reason))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Delete, "p/half", "incomplete upload"),
                (Kind::Skip, "p/same", "unchanged"),
                (Kind::Replace, "p/edited", "content differs"),
                (Kind::Replace, "p/grown", "size differs"),
                (Kind::Upload, "p/new", "new"),
                (Kind::Upload, "p/half", "its blob was incomplete"),
                (Kind::Skip, "p/empty", "unchanged"),
                (Kind::Delete, "p/gone", "no such file"),
            ]
        );
    }

    #[test]
    fn an_unreadable_file_keeps_its_blob_and_doubles_refuse() {
        let remote = remote_under("", vec![blob(1, "a", Some(1))]).unwrap();
        let facts = Facts {
            unusable: vec![("a".into(), "cannot read".into())],
            ..Facts::default()
        };
        let plan = decide(facts, remote, true);
        assert_eq!(plan.actions().count(), 0);
        assert_eq!(plan.unusable.len(), 1);

        let err = remote_under(
            "",
            vec![
                blob(1, "a", Some(1)),
                blob(2, "a", Some(2)),
                blob(3, "a", None),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`a`: blobs 1, 2"), "{err}");
        assert!(err.contains("hint: delete all but one"), "{err}");
    }
}
