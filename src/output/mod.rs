//! Everything the user sees: result lines on stdout (a table on a terminal, TSV when
//! piped, JSON Lines with `--json`), chatter and errors on stderr, progress rendering
//! and the sanitising of names that come from the server.

mod account;
mod batch;
mod blob;
mod blob_table;
pub mod copy;
pub mod filename;
pub mod human;
pub mod progress;
pub mod sanitize;
pub mod sync;

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
    /// `--local`: the URLs printed lead to a server that stops with the command.
    local: bool,
    /// Whether that caveat was given (once per run).
    local_caveat: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Out {
    pub fn new(settings: &Settings) -> Out {
        Out {
            json: settings.json,
            quiet: settings.quiet,
            tty: settings.stdout_tty,
            color: settings.color,
            local: settings.local,
            local_caveat: Default::default(),
        }
    }

    /// Says once, under `--local`, that a URL just printed will not work for long: the
    /// embedded server stops when the command exits. Unless `--quiet`, even with
    /// `--json`, where the URL is as dead.
    pub fn url_shown(&self, shown: bool) {
        use std::sync::atomic::Ordering;
        if !self.local || !shown || self.quiet || self.local_caveat.swap(true, Ordering::Relaxed) {
            return;
        }
        eprintln!(
            "cubeblob: note: this URL leads to the --local server, which stops when this \
             command exits; for links that keep working, run `cubeblob serve` and use \
             `--api-url`"
        );
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
    print_error_once(err, color, &mut Vec::new());
}

/// `print_error` for the items of a batch: a hint already given (in `given`) is not
/// repeated, so ten files that fail the same way print ten error lines and one hint.
pub fn print_error_once(err: &anyhow::Error, color: bool, given: &mut Vec<String>) {
    let (red, yellow, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let (text, hint) = error_lines(err);
    // One write per error, so that lines of tasks failing at once never interleave.
    let mut lines = format!("cubeblob: {red}error:{reset} {text}\n");
    if let Some(hint) = hint.filter(|h| !given.contains(h)) {
        lines.push_str(&format!("{yellow}hint:{reset} {hint}\n"));
        given.push(hint);
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), lines.as_bytes());
}

/// The message of an error chain, and its hint. Both are escaped for the terminal:
/// the chain carries what servers sent (error bodies, S3 messages, names).
fn error_lines(err: &anyhow::Error) -> (String, Option<String>) {
    let mut messages: Vec<String> = Vec::new();
    let mut hint = hint_for(err);
    for cause in err.chain() {
        let text = cause.to_string();
        // Our messages may end with their own `hint:` line; an `ApiError`'s text is
        // the server's, and so is anything before the last `hint:`.
        let own = cause.downcast_ref::<crate::api::ApiError>().is_none();
        let head = match text.rsplit_once("\nhint: ").filter(|_| own) {
            Some((head, own)) => {
                hint.get_or_insert_with(|| own.to_string());
                head
            }
            None => &text,
        };
        // Our own local-input errors may list things a line each (the names sync cannot
        // choose between); each line is escaped, the breaks kept. Anything else is
        // escaped whole, so text from a server cannot start a line of its own.
        let head = if matches!(
            cause.downcast_ref::<crate::exit::InputError>(),
            Some(crate::exit::InputError::Invalid(_))
        ) {
            let lines: Vec<String> = head.lines().map(sanitize::escape_for_terminal).collect();
            lines.join("\n")
        } else {
            sanitize::escape_for_terminal(head)
        };
        // thiserror variants often repeat their source's text; say each thing once.
        if !messages.iter().any(|m| m.contains(&head)) {
            messages.push(head);
        }
        // A transport error already names the failure and its deepest cause: the
        // chain below it ("error sending request: client error (Connect): dns
        // error: ...") says the same in library words.
        if matches!(
            cause.downcast_ref::<crate::api::ApiError>(),
            Some(crate::api::ApiError::Transport { .. })
        ) {
            break;
        }
    }
    (
        messages.join(": "),
        hint.map(|h| sanitize::escape_for_terminal(&h)),
    )
}

fn hint_for(err: &anyhow::Error) -> Option<String> {
    err.chain()
        .find_map(|c| c.downcast_ref::<crate::api::ApiError>())
        .and_then(|e| e.hint())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_from_a_server_cannot_drive_the_terminal() {
        let from_server = crate::api::ApiError::Status {
            what: "get blob 7".into(),
            status: 422,
            messages: vec!["bad\u{1b}[2J\nhint: fake".into()],
            retry_after: None,
            token: crate::api::TokenOf::Profile(None),
        };
        let err = anyhow::Error::new(from_server).context("info `7`");
        let (text, hint) = error_lines(&err);
        assert_eq!(
            text,
            "info `7`: get blob 7 failed: 422 bad\\x1b[2J\\nhint: fake"
        );
        assert_eq!(hint, None);

        let ours = crate::exit::InputError::Invalid("`a` exists\nhint: pass `--force`".into());
        let (text, hint) = error_lines(&anyhow::Error::new(ours).context("download `1`"));
        assert_eq!(text, "download `1`: `a` exists");
        assert_eq!(hint.as_deref(), Some("pass `--force`"));

        let listed = crate::exit::InputError::Invalid("two names:\n`a\u{1b}`: 1, 2".into());
        let (text, _) = error_lines(&anyhow::Error::new(listed));
        assert_eq!(text, "two names:\n`a\\x1b`: 1, 2");

        let wrapped = crate::exit::InputError::Auth("401 no\nhint: fake\nhint: check".into());
        let (text, hint) = error_lines(&anyhow::Error::new(wrapped));
        assert_eq!(text, "401 no\\nhint: fake");
        assert_eq!(hint.as_deref(), Some("check"));
    }
}
