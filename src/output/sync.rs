//! How `sync` shows its plan and its results: a `--json` line per file with its
//! action, TSV when piped, a line per change on a terminal, and the summary.

use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{human, sanitize::escape_for_terminal, Out};
use crate::api::Blob;
use crate::plan::sync::{Action, Kind};

/// One `--json` line: what was done (or, with `done: false`, would be done) to a name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncLine {
    /// `upload`, `replace`, `delete` or `skip`.
    pub action: String,
    pub name: String,
    /// The local file, for uploads, replacements and skips.
    pub file: Option<String>,
    /// Bytes sent (upload, replace), matched (skip) or deleted.
    pub size: u64,
    /// The blob as it now is (or was, for a delete); none for an upload not yet done.
    pub id: Option<u64>,
    pub uid: Option<String>,
    pub reason: String,
    /// False in a `--dry-run`: nothing was sent.
    pub done: bool,
}

/// Prints one action; on a terminal and piped, skips only in a dry run.
pub fn print_action(out: &Out, action: &Action, now: Option<&Blob>, done: bool) -> io::Result<()> {
    let blob = now.or(action.blob.as_ref());
    let line = SyncLine {
        action: kind_word(action.kind).into(),
        name: action.name.clone(),
        file: action.file.as_ref().map(|f| f.path.display().to_string()),
        size: action.size(),
        id: blob.map(|b| b.id),
        uid: blob.map(|b| b.uid.clone()),
        reason: action.reason.into(),
        done,
    };
    if out.json {
        return out.json_line(&line);
    }
    if done && action.kind == Kind::Skip {
        return Ok(());
    }
    if !out.tty {
        return out.tsv_line(&[
            line.action,
            line.name,
            line.id.map(|i| i.to_string()).unwrap_or_default(),
            line.uid.unwrap_or_default(),
            line.size.to_string(),
            line.reason,
        ]);
    }
    let verb = match (action.kind, done) {
        (Kind::Upload, true) => "uploaded",
        (Kind::Replace, true) => "replaced",
        (Kind::Delete, true) => "deleted",
        (Kind::Skip, _) => "unchanged",
        (Kind::Upload, false) => "would upload",
        (Kind::Replace, false) => "would replace",
        (Kind::Delete, false) => "would delete",
    };
    let id = line.id.map(|i| format!("  id {i}")).unwrap_or_default();
    out.data(&format!(
        "{verb} {}  {}{id}  ({})",
        escape_for_terminal(&line.name),
        human::size(line.size),
        line.reason
    ))
}

pub fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Upload => "upload",
        Kind::Replace => "replace",
        Kind::Delete => "delete",
        Kind::Skip => "skip",
    }
}

/// The counts of a sync, done or planned.
#[derive(Debug, Default)]
pub struct Tally {
    pub uploaded: usize,
    pub replaced: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub sent: u64,
}

impl Tally {
    pub fn add(&mut self, action: &Action) {
        match action.kind {
            Kind::Upload => self.uploaded += 1,
            Kind::Replace => self.replaced += 1,
            Kind::Delete => self.deleted += 1,
            Kind::Skip => self.unchanged += 1,
        }
        if matches!(action.kind, Kind::Upload | Kind::Replace) {
            self.sent += action.size();
        }
    }

    /// `3 uploaded, 1 replaced, 2 deleted, 120 unchanged, 4.1 MiB sent in 1.2 s`
    pub fn summary(&self, took: Duration) -> String {
        let mut text = format!(
            "{} uploaded, {} replaced, {} deleted, {} unchanged",
            self.uploaded, self.replaced, self.deleted, self.unchanged
        );
        if self.failed > 0 {
            text.push_str(&format!(", {} failed", self.failed));
        }
        text.push_str(&format!(
            ", {} sent in {:.1} s",
            human::size(self.sent),
            took.as_secs_f64()
        ));
        text
    }

    /// `dry run: would upload 3, replace 1, delete 2; 120 unchanged; nothing was sent`
    pub fn plan_summary(&self) -> String {
        format!(
            "dry run: would upload {}, replace {}, delete {} ({} to send); {} unchanged; \
             nothing was sent",
            self.uploaded,
            self.replaced,
            self.deleted,
            human::size(self.sent),
            self.unchanged
        )
    }
}
