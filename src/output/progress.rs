//! Transfer progress on stderr, from the engines' events: indicatif bars per file and
//! in total on a terminal, a plain timestamped line per file every few seconds and at
//! the end otherwise (CI logs), or nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{human, sanitize::escape_for_terminal};
use crate::commands::Progress;
use crate::transfer::{Events, FileEvents};

/// The least time between two plain lines about the same file.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Widest file name shown beside a bar, in characters.
const NAME_WIDTH: usize = 24;

/// A file or the total: the bar takes what the terminal width leaves, so a line never
/// wraps (a wrapped line would throw off the redrawing and garble the screen).
const BAR_TEMPLATE: &str =
    "{prefix:<24} [{wide_bar}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}";

/// A file of unknown size.
const SPINNER_TEMPLATE: &str = "{prefix:<24} {spinner} {bytes:>10} {bytes_per_sec:>12}";

/// A file whose bytes are all sent (or received) while the transfer is not done yet:
/// the storage's answer, `complete`, the checksum and the rename are still to come.
const COMPLETING_TEMPLATE: &str =
    "{prefix:<24} [{wide_bar}] {bytes:>10}/{total_bytes:<10}   completing…";

/// Renders the events of one command's transfers.
#[derive(Clone)]
pub struct Renderer {
    inner: Arc<Mode>,
}

enum Mode {
    Bars {
        multi: MultiProgress,
        /// All bytes of the run; only when there is more than one file.
        total: Option<ProgressBar>,
        shared: Arc<Shared>,
    },
    Lines {
        verb: &'static str,
    },
    Off,
}

/// What the bars of one run share: the screen budget and the summary's counts.
struct Shared {
    verb: &'static str,
    files: usize,
    started: Instant,
    /// File bars on screen now, and the most there may be: a screenful less the
    /// total and a line for the prompt, so the total never scrolls off.
    visible: AtomicUsize,
    max_visible: usize,
    done: AtomicUsize,
    done_bytes: AtomicU64,
}

impl Renderer {
    /// `verb` names the work in plain lines (`upload`, `download`); `total` is the sum of
    /// the sizes of all `files`, for the total bar.
    pub fn new(mode: Progress, verb: &'static str, files: usize, total: u64) -> Renderer {
        let inner = match mode {
            Progress::Off => Mode::Off,
            Progress::Lines => Mode::Lines { verb },
            Progress::Bars => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
                let total = (files > 1).then(|| {
                    let bar = multi.add(ProgressBar::new(total));
                    bar.set_style(style(BAR_TEMPLATE));
                    bar.set_message(files.to_string());
                    bar.set_prefix(format!("total 0/{files}"));
                    bar
                });
                let rows = console::Term::stderr()
                    .size_checked()
                    .map_or(24, |(rows, _)| usize::from(rows));
                let shared = Arc::new(Shared {
                    verb,
                    files,
                    started: Instant::now(),
                    visible: AtomicUsize::new(0),
                    max_visible: rows.saturating_sub(2).max(1),
                    done: AtomicUsize::new(0),
                    done_bytes: AtomicU64::new(0),
                });
                Mode::Bars {
                    multi,
                    total,
                    shared,
                }
            }
        };
        Renderer {
            inner: Arc::new(inner),
        }
    }

    /// Runs `print` with the bars out of the way, so result lines on stdout and
    /// messages on stderr never land inside a bar.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &*self.inner {
            Mode::Bars { multi, .. } => multi.suspend(print),
            _ => print(),
        }
    }

    /// Takes the bars off the screen at the end of the run and, for a batch, leaves
    /// one summary line in their place (the terminal's only record of the run when
    /// stdout goes elsewhere).
    pub fn finish(&self) {
        if let Mode::Bars {
            multi,
            total,
            shared,
        } = &*self.inner
        {
            if let Some(total) = total {
                total.finish_and_clear();
            }
            let _ = multi.clear();
            if shared.files > 1 {
                eprintln!("{}", shared.summary());
            }
        }
    }
}

impl Shared {
    /// `uploaded 3 of 3 files, 1.2 MiB in 2.0s (600 KiB/s)`.
    fn summary(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let bytes = self.done_bytes.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let past = match self.verb {
            "upload" => "uploaded",
            "download" => "downloaded",
            "replace" => "replaced",
            "sync" => "sent",
            "copy" => "copied",
            other => other,
        };
        format!(
            "{past} {done} of {} files, {} in {secs:.1}s ({}/s)",
            self.files,
            human::size(bytes),
            human::size((bytes as f64 / secs) as u64)
        )
    }
}

impl Events for Renderer {
    fn started(&self, name: &str, total: Option<u64>) -> Box<dyn FileEvents> {
        let shown = escape_for_terminal(name);
        match &*self.inner {
            Mode::Off => Box::new(crate::transfer::NoEvents),
            Mode::Lines { verb } => Box::new(LineFile {
                verb,
                name: shown,
                total,
                position: AtomicU64::new(0),
                started: Instant::now(),
                last_line: Mutex::new(Instant::now()),
            }),
            Mode::Bars {
                multi,
                total: all,
                shared,
            } => {
                let bar = ProgressBar::new(total.unwrap_or(0));
                // Beyond a screenful the file still counts in the total, without a bar.
                let on_screen = shared
                    .visible
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                        (v < shared.max_visible).then_some(v + 1)
                    })
                    .is_ok();
                let bar = match (on_screen, all) {
                    (false, _) => ProgressBar::hidden(),
                    (true, Some(all)) => multi.insert_before(all, bar),
                    (true, None) => multi.add(bar),
                };
                bar.set_style(style(if total.is_some() {
                    BAR_TEMPLATE
                } else {
                    SPINNER_TEMPLATE
                }));
                bar.set_prefix(fit(&shown, NAME_WIDTH));
                Box::new(BarFile {
                    multi: multi.clone(),
                    bar,
                    all: all.clone(),
                    size: total,
                    counted: AtomicU64::new(0),
                    completing: std::sync::atomic::AtomicBool::new(false),
                    on_screen,
                    shared: shared.clone(),
                })
            }
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the progress templates are valid")
        .progress_chars("=> ")
}

/// At most `width` characters, the end kept (it carries the extension).
fn fit(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    let tail: String = name.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

struct BarFile {
    multi: MultiProgress,
    bar: ProgressBar,
    all: Option<ProgressBar>,
    size: Option<u64>,
    /// This file's bytes in the total: what was sent, short of its size until the
    /// file is done, so the total reaches its end only when every file has.
    counted: AtomicU64,
    completing: std::sync::atomic::AtomicBool,
    on_screen: bool,
    shared: Arc<Shared>,
}

impl BarFile {
    /// Moves this file's share of the total to match the bar.
    fn recount(&self, done: bool) {
        let size = self.size.unwrap_or(0);
        // Sent is not done (the answer, `complete`, the checksum are to come): an
        // unfinished file counts at most 99% of its size, so the total never reads
        // full while files are still going.
        let target = if done {
            size
        } else {
            self.bar
                .position()
                .min(size - (size / 100).max(1).min(size))
        };
        let before = self.counted.swap(target, Ordering::Relaxed);
        if let Some(all) = &self.all {
            all.set_position((all.position() + target).saturating_sub(before));
        }
    }

    fn leave(&self) {
        self.bar.finish_and_clear();
        self.multi.remove(&self.bar);
        if self.on_screen {
            self.shared.visible.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl FileEvents for BarFile {
    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
        self.recount(false);
        let sent_all = self.size.is_some_and(|s| self.bar.position() >= s);
        if sent_all && !self.completing.swap(true, Ordering::Relaxed) {
            self.bar.set_style(style(COMPLETING_TEMPLATE));
            // A new style is drawn on the next change, and none may come until done.
            self.bar.tick();
        }
    }

    fn rewound(&self, position: u64) {
        self.bar.set_position(position);
        if self.completing.swap(false, Ordering::Relaxed) {
            self.bar.set_style(style(BAR_TEMPLATE));
        }
        self.recount(false);
    }

    fn finished(&self) {
        self.recount(true);
        self.shared.done.fetch_add(1, Ordering::Relaxed);
        self.shared
            .done_bytes
            .fetch_add(self.bar.position(), Ordering::Relaxed);
        if let Some(all) = &self.all {
            count_done(all);
        }
        self.leave();
    }

    fn failed(&self) {
        // The total no longer waits for this file's bytes.
        if let Some(all) = &self.all {
            let counted = self.counted.swap(0, Ordering::Relaxed);
            all.set_position(all.position().saturating_sub(counted));
            let size = self.size.unwrap_or(0);
            all.set_length(all.length().unwrap_or(0).saturating_sub(size));
            count_done(all);
        }
        self.leave();
    }
}

/// `total 3/10` → `total 4/10`; the message holds the number of files.
fn count_done(all: &ProgressBar) {
    let prefix = all.prefix();
    let done = prefix
        .strip_prefix("total ")
        .and_then(|p| p.split('/').next())
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(0);
    all.set_prefix(format!("total {}/{}", done + 1, all.message()));
}

struct LineFile {
    verb: &'static str,
    name: String,
    total: Option<u64>,
    position: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl LineFile {
    fn line(&self, text: &str) {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        eprintln!("{now} {} {}: {text}", self.verb, self.name);
    }

    fn rate(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let per_sec = (self.position.load(Ordering::Relaxed) as f64 / secs) as u64;
        format!("{}/s", human::size(per_sec))
    }
}

impl FileEvents for LineFile {
    fn advanced(&self, bytes: u64) {
        let position = self.position.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let mut last = self.last_line.lock().unwrap();
        if last.elapsed() < LINE_EVERY {
            return;
        }
        *last = Instant::now();
        drop(last);
        let done = match self.total {
            Some(total) if total > 0 => format!(
                "{} of {} ({}%)",
                human::size(position),
                human::size(total),
                position * 100 / total
            ),
            _ => human::size(position),
        };
        self.line(&format!("{done}, {}", self.rate()));
    }

    fn rewound(&self, position: u64) {
        self.position.store(position, Ordering::Relaxed);
    }

    fn finished(&self) {
        let bytes = self.position.load(Ordering::Relaxed);
        self.line(&format!(
            "done, {} in {:.1}s ({})",
            human::size(bytes),
            self.started.elapsed().as_secs_f64(),
            self.rate()
        ));
    }

    // No line: the batch prints the file's error line, which says what failed.
    fn failed(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(fit("short.txt", 10), "short.txt");
        let fitted = fit("a-very-long-file-name-indeed.tar.gz", 12);
        assert_eq!(fitted.chars().count(), 12);
        assert!(fitted.starts_with('…') && fitted.ends_with(".tar.gz"));
    }

    #[test]
    fn the_total_counts_files() {
        let bar = ProgressBar::hidden();
        bar.set_message("3");
        bar.set_prefix("total 0/3");
        count_done(&bar);
        count_done(&bar);
        assert_eq!(bar.prefix(), "total 2/3");
    }

    #[test]
    fn every_mode_takes_every_event() {
        for mode in [Progress::Bars, Progress::Lines, Progress::Off] {
            let r = Renderer::new(mode, "upload", 2, 10);
            let a = r.started("a", Some(4));
            a.advanced(4);
            a.rewound(0);
            a.advanced(4);
            a.finished();
            let b = r.started("\u{1b}[31mb", None);
            b.advanced(3);
            b.failed();
            assert_eq!(r.suspend(|| 7), 7);
            r.finish();
        }
    }
}
