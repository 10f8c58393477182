//! Transfer progress on stderr, from the engines' events: indicatif bars per file and
//! in total on a terminal, a plain timestamped line per file every few seconds and at
//! the end otherwise (CI logs), or nothing. The rows the bars take are in `screen`,
//! the rates they show in `rate`.

mod rate;
mod screen;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{human, sanitize::escape_for_terminal};
use crate::commands::Progress;
use crate::transfer::{Events, FileEvents};
use rate::Rate;
use screen::{Place, Screen};

/// The least time between two plain lines about the same file.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Widest file name shown beside a bar, in characters.
const NAME_WIDTH: usize = 24;

/// A file or the total: the bar takes what the terminal width leaves, so a line never
/// wraps (a wrapped line would throw off the redrawing and garble the screen).
/// `rate` and `left` are this module's (see `rate`), not indicatif's own estimates.
const BAR_TEMPLATE: &str =
    "{prefix:<24} [{wide_bar}] {bytes:>10}/{total_bytes:<10} {rate:>12} {left:>4}";

/// A file of unknown size.
const SPINNER_TEMPLATE: &str = "{prefix:<24} {spinner} {bytes:>10} {rate:>12}";

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
    Bars(Arc<Shared>),
    Lines { verb: &'static str },
    Off,
}

/// What the bars of one run share: the screen, the total's rate and the summary's
/// counts.
struct Shared {
    screen: Screen,
    total_rate: Arc<Rate>,
    verb: &'static str,
    files: usize,
    started: Instant,
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
                let total_rate = Arc::new(Rate::default());
                let total = (files > 1).then(|| {
                    let bar = multi.add(ProgressBar::new(total));
                    bar.set_style(style(BAR_TEMPLATE, &total_rate));
                    bar.set_message(files.to_string());
                    bar.set_prefix(format!("total 0/{files}"));
                    bar
                });
                let rows = console::Term::stderr()
                    .size_checked()
                    .map_or(24, |(rows, _)| usize::from(rows));
                Mode::Bars(Arc::new(Shared {
                    screen: Screen::new(multi, total, rows.saturating_sub(2)),
                    total_rate,
                    verb,
                    files,
                    started: Instant::now(),
                    done: AtomicUsize::new(0),
                    done_bytes: AtomicU64::new(0),
                }))
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
            Mode::Bars(shared) => shared.screen.multi().suspend(print),
            _ => print(),
        }
    }

    /// Takes the bars off the screen at the end of the run and, for a batch, leaves
    /// one summary line in their place (the terminal's only record of the run when
    /// stdout goes elsewhere).
    pub fn finish(&self) {
        if let Mode::Bars(shared) = &*self.inner {
            if let Some(total) = shared.screen.total() {
                total.finish_and_clear();
            }
            let _ = shared.screen.multi().clear();
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
                rate: Rate::default(),
                started: Instant::now(),
                last_line: Mutex::new(Instant::now()),
            }),
            Mode::Bars(shared) => {
                let rate = Arc::new(Rate::default());
                let (place, bar) = shared.screen.enter(total.unwrap_or(0));
                bar.set_style(style(
                    if total.is_some() {
                        BAR_TEMPLATE
                    } else {
                        SPINNER_TEMPLATE
                    },
                    &rate,
                ));
                bar.set_prefix(fit(&shown, NAME_WIDTH));
                Box::new(BarFile {
                    bar,
                    place,
                    rate,
                    size: total,
                    counted: AtomicU64::new(0),
                    completing: AtomicBool::new(false),
                    shared: shared.clone(),
                })
            }
        }
    }
}

/// A bar's look, its `{rate}` and `{left}` read from `rate`.
fn style(template: &str, rate: &Arc<Rate>) -> ProgressStyle {
    let (for_rate, for_left) = (rate.clone(), rate.clone());
    ProgressStyle::with_template(template)
        .expect("the progress templates are valid")
        .progress_chars("=> ")
        .with_key(
            "rate",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                if let Some(per_sec) = for_rate.per_sec() {
                    let _ = write!(w, "{}/s", human::size(per_sec as u64));
                }
            },
        )
        .with_key(
            "left",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let remaining = state.len().unwrap_or(0).saturating_sub(state.pos());
                if let Some(left) = for_left.time_left(remaining) {
                    let _ = write!(w, "{:#}", HumanDuration(left));
                }
            },
        )
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
    bar: ProgressBar,
    place: Place,
    rate: Arc<Rate>,
    size: Option<u64>,
    /// This file's bytes in the total: what was sent, short of its size until the
    /// file is done, so the total reaches its end only when every file has.
    counted: AtomicU64,
    completing: AtomicBool,
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
        if let Some(all) = self.shared.screen.total() {
            let position = (all.position() + target).saturating_sub(before);
            all.set_position(position);
            self.shared.total_rate.record(position);
        }
    }

    fn leave(&self) {
        self.shared.screen.leave(self.place, &self.bar);
    }
}

impl FileEvents for BarFile {
    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
        self.rate.record(self.bar.position());
        self.recount(false);
        let sent_all = self.size.is_some_and(|s| self.bar.position() >= s);
        if sent_all && !self.completing.swap(true, Ordering::Relaxed) {
            self.bar.set_style(style(COMPLETING_TEMPLATE, &self.rate));
            // A new style is drawn on the next change, and none may come until done.
            self.bar.tick();
        }
    }

    fn rewound(&self, position: u64) {
        self.bar.set_position(position);
        self.rate.record(position);
        if self.completing.swap(false, Ordering::Relaxed) {
            self.bar.set_style(style(BAR_TEMPLATE, &self.rate));
        }
        self.recount(false);
    }

    fn finished(&self) {
        self.recount(true);
        self.shared.done.fetch_add(1, Ordering::Relaxed);
        self.shared
            .done_bytes
            .fetch_add(self.bar.position(), Ordering::Relaxed);
        if let Some(all) = self.shared.screen.total() {
            count_done(all);
        }
        self.leave();
    }

    fn failed(&self) {
        // The total no longer waits for this file's bytes.
        if let Some(all) = self.shared.screen.total() {
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
    rate: Rate,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl LineFile {
    fn line(&self, text: &str) {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        eprintln!("{now} {} {}: {text}", self.verb, self.name);
    }
}

impl FileEvents for LineFile {
    fn advanced(&self, bytes: u64) {
        let position = self.position.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.rate.record(position);
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
        match self.rate.per_sec() {
            Some(per_sec) => self.line(&format!("{done}, {}/s", human::size(per_sec as u64))),
            None => self.line(&done),
        }
    }

    fn rewound(&self, position: u64) {
        self.position.store(position, Ordering::Relaxed);
        self.rate.record(position);
    }

    // Done is when the other end has answered: every byte has arrived, so the average
    // over the whole run is the file's true rate.
    fn finished(&self) {
        let bytes = self.position.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64();
        self.line(&format!(
            "done, {} in {secs:.1}s ({}/s)",
            human::size(bytes),
            human::size((bytes as f64 / secs.max(0.001)) as u64)
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
