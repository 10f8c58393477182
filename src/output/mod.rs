//! Everything the user sees: result lines on stdout (a table on a terminal, TSV when
//! piped, JSON Lines with `--json`), chatter and errors on stderr, progress rendering
//! and the sanitising of names that come from the server.

mod account;
mod batch;
mod blob;
pub mod filename;
pub mod human;
pub mod progress;
pub mod sanitize;

pub use account::SessionRecord;
pub use batch::Batch;
pub use blob::{BlobRecord, BlobWriter, Layout};

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::ColorMode;
use crate::commands::Settings;

/// Where results and messages go, decided once from the settings.
#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    pub quiet: bool,
    /// stdout is a terminal: tables, human sizes and times.
    pub tty: bool,
    pub color: bool,
}

impl Out {
    pub fn new(settings: &Settings) -> Out {
        Out {
            json: settings.json,
            quiet: settings.quiet,
            tty: settings.stdout_tty,
            color: settings.color,
        }
    }

    /// One JSON object on its own line.
    pub fn json_line<T: Serialize>(&self, value: &T) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, value)?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }

    /// One tab-separated line; tabs and newlines inside fields become spaces.
    pub fn tsv_line<S: AsRef<str>>(&self, fields: &[S]) -> io::Result<()> {
        let line = fields
            .iter()
            .map(|f| f.as_ref().replace(['\t', '\n', '\r'], " "))
            .collect::<Vec<_>>()
            .join("\t");
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    }

    /// Any text on stdout, as is.
    pub fn data(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()
    }

    /// Success chatter on stderr: only when not quiet and not JSON.
    pub fn status(&self, message: &str) {
        if !self.quiet && !self.json {
            eprintln!("{message}");
        }
    }

    /// A problem with one item of a batch, on stderr; never hidden.
    pub fn warn(&self, message: &str) {
        eprintln!("cubeblob: {message}");
    }
}

/// Whether stderr gets colour.
pub fn stderr_color(mode: ColorMode) -> bool {
    use std::io::IsTerminal;
    crate::commands::color_enabled(mode, io::stderr().is_terminal())
}

/// `cubeblob list | head -1`: a closed stdout is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `cubeblob: error: …: cause`, and a `hint:` line where the fix is known.
pub fn print_error(err: &anyhow::Error, color: bool) {
    let (red, yellow, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut messages: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // thiserror variants often repeat their source's text; say each thing once.
        if !messages.iter().any(|m| m.contains(&text)) {
            messages.push(text);
        }
    }
    let mut text = messages.join(": ");
    let mut hint = hint_for(err);
    // A message may carry its own `hint:` line.
    if let Some((head, tail)) = text.split_once("\nhint: ") {
        hint.get_or_insert_with(|| tail.to_string());
        text = head.to_string();
    }
    eprintln!("cubeblob: {red}error:{reset} {text}");
    if let Some(hint) = hint {
        eprintln!("{yellow}hint:{reset} {hint}");
    }
}

fn hint_for(err: &anyhow::Error) -> Option<String> {
    err.chain()
        .find_map(|c| c.downcast_ref::<crate::api::ApiError>())
        .and_then(|e| e.hint())
}
