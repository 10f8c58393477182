//! How `copy` shows its plan and its results: a `--json` line per source blob (its
//! status, the old and the new id and uid), TSV when piped (a line per copy made), a
//! line per copy on a terminal, and the summary.

use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{human, sanitize::escape_for_terminal, Out};
use crate::api::Blob;
use crate::plan::copy::{Action, Kind};

/// One `--json` line, and one entry of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyLine {
    /// `copied`, `skipped` or `failed`; in a dry run, `planned` or `skipped`.
    pub status: String,
    pub name: String,
    /// `null` for a blob whose upload never completed.
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub public: bool,
    /// The source blob.
    pub old_id: u64,
    pub old_uid: String,
    /// The target's blob: the copy made, or the one already there that made it unneeded.
    pub new_id: Option<u64>,
    pub new_uid: Option<String>,
    /// Of the content, when a copy checked it (lowercase hex).
    pub md5: Option<String>,
    /// Why it was skipped (or, with `--skip-existing`, copied).
    pub reason: Option<String>,
    /// Why the copy failed, in one line.
    pub error: Option<String>,
}

impl CopyLine {
    /// The line of an action: planned (`result` none), done, or failed.
    pub fn new(action: &Action, result: Option<Result<(&Blob, &str), String>>) -> CopyLine {
        let blob = &action.blob;
        let (status, new, md5, error) = match (action.kind, result) {
            (Kind::Skip, _) => ("skipped", action.existing.as_ref(), None, None),
            (Kind::Copy, None) => ("planned", None, None, None),
            (Kind::Copy, Some(Ok((new, md5)))) => ("copied", Some(new), Some(md5.into()), None),
            (Kind::Copy, Some(Err(error))) => ("failed", None, None, Some(error)),
        };
        CopyLine {
            status: status.into(),
            name: blob.name.clone(),
            size: blob.size,
            content_type: blob.content_type.clone(),
            public: blob.public,
            old_id: blob.id,
            old_uid: blob.uid.clone(),
            new_id: new.map(|b| b.id),
            new_uid: new.map(|b| b.uid.clone()),
            md5,
            reason: action.reason.map(str::to_string),
            error,
        }
    }
}

/// Prints one line: every one with `--json`; otherwise copies made, and in a dry run
/// (`done` false) every action.
pub fn print_line(out: &Out, line: &CopyLine, done: bool) -> io::Result<()> {
    if out.json {
        return out.json_line(line);
    }
    let size = line.size.unwrap_or(0);
    let id = |id: Option<u64>| id.map(|i| i.to_string()).unwrap_or_default();
    match (line.status.as_str(), done) {
        ("copied", _) if !out.tty => out.tsv_line(&[
            line.old_id.to_string(),
            id(line.new_id),
            line.old_uid.clone(),
            line.new_uid.clone().unwrap_or_default(),
            size.to_string(),
            line.name.clone(),
        ]),
        ("copied", _) => out.data(&format!(
            "copied {}  {} -> {}  {}",
            escape_for_terminal(&line.name),
            line.old_id,
            id(line.new_id),
            human::size(size)
        )),
        (status, false) if !out.tty => out.tsv_line(&[
            if status == "planned" { "copy" } else { "skip" }.to_string(),
            line.old_id.to_string(),
            line.old_uid.clone(),
            size.to_string(),
            id(line.new_id),
            line.reason.clone().unwrap_or_default(),
            line.name.clone(),
        ]),
        (status, false) => {
            let verb = if status == "planned" {
                "would copy"
            } else {
                "skip"
            };
            let mut text = format!(
                "{verb} {}  id {}  {}",
                escape_for_terminal(&line.name),
                line.old_id,
                human::size(size)
            );
            match (&line.reason, line.new_id) {
                (Some(reason), Some(there)) => {
                    text.push_str(&format!("  ({reason}, as blob {there})"))
                }
                (Some(reason), None) => text.push_str(&format!("  ({reason})")),
                _ => {}
            }
            out.data(&text)
        }
        _ => Ok(()),
    }
}

/// The counts of a copy, done or planned.
#[derive(Debug, Default)]
pub struct Tally {
    pub copied: usize,
    pub already: usize,
    pub incomplete: usize,
    pub failed: usize,
    pub bytes: u64,
}

impl Tally {
    pub fn add(&mut self, line: &CopyLine) {
        match line.status.as_str() {
            "copied" | "planned" => {
                self.copied += 1;
                self.bytes += line.size.unwrap_or(0);
            }
            "failed" => self.failed += 1,
            _ if line.new_id.is_some() => self.already += 1,
            _ => self.incomplete += 1,
        }
    }

    /// `3 copied to profile `b`, 1 already there, 1 never completed, 4.1 MiB sent in 1.2 s`
    pub fn summary(&self, profile: &str, took: Duration) -> String {
        let mut text = format!(
            "{} copied to profile `{profile}`, {} already there, {} never completed",
            self.copied, self.already, self.incomplete
        );
        if self.failed > 0 {
            text.push_str(&format!(", {} failed", self.failed));
        }
        text.push_str(&format!(
            ", {} sent in {:.1} s",
            human::size(self.bytes),
            took.as_secs_f64()
        ));
        text
    }

    /// `dry run: would copy 3 (4.1 MiB) to profile `b`; 1 already there, …`
    pub fn plan_summary(&self, profile: &str) -> String {
        format!(
            "dry run: would copy {} ({}) to profile `{profile}`; {} already there, {} never \
             completed; nothing was copied",
            self.copied,
            human::size(self.bytes),
            self.already,
            self.incomplete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::copy::{INCOMPLETE, SAME_NAME};

    fn blob(id: u64, size: Option<u64>) -> Blob {
        serde_json::from_value(serde_json::json!({
            "id": id, "uid": format!("u{id}"), "name": "a.txt", "size": size,
            "content_type": "text/plain", "public": true,
            "blob_status": size.map(|_| "complete"),
        }))
        .unwrap()
    }

    #[test]
    fn each_outcome_has_its_status_and_counts_once() {
        let copy = Action {
            kind: Kind::Copy,
            blob: blob(1, Some(3)),
            reason: None,
            existing: None,
        };
        let there = Action {
            kind: Kind::Skip,
            blob: blob(2, Some(3)),
            reason: Some(SAME_NAME),
            existing: Some(blob(9, Some(3))),
        };
        let half = Action {
            kind: Kind::Skip,
            blob: blob(3, None),
            reason: Some(INCOMPLETE),
            existing: None,
        };
        let new = blob(7, Some(3));
        let lines = [
            CopyLine::new(&copy, Some(Ok((&new, "m")))),
            CopyLine::new(&copy, Some(Err("no".into()))),
            CopyLine::new(&copy, None),
            CopyLine::new(&there, None),
            CopyLine::new(&half, None),
        ];
        let statuses: Vec<&str> = lines.iter().map(|l| l.status.as_str()).collect();
        assert_eq!(
            statuses,
            ["copied", "failed", "planned", "skipped", "skipped"]
        );
        assert_eq!(
            (lines[0].new_id, lines[0].md5.as_deref()),
            (Some(7), Some("m"))
        );
        assert_eq!(lines[1].error.as_deref(), Some("no"));
        assert_eq!(
            (lines[3].new_id, lines[3].new_uid.as_deref()),
            (Some(9), Some("u9"))
        );
        let mut tally = Tally::default();
        lines.iter().for_each(|l| tally.add(l));
        assert_eq!(
            (
                tally.copied,
                tally.failed,
                tally.already,
                tally.incomplete,
                tally.bytes
            ),
            (2, 1, 1, 1, 6)
        );
        assert!(tally.summary("b", Duration::from_millis(1200)).starts_with(
            "2 copied to profile `b`, 1 already there, 1 never completed, 1 failed, "
        ));
    }
}
