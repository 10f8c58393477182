//! Transfer progress on stderr, from the engines' events: indicatif bars per file and
//! in total on a terminal, a plain timestamped line per file every few seconds and at
//! the end otherwise (CI logs), or nothing.

use std::sync::atomic::{AtomicU64, Ordering};
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
    },
    Lines {
        verb: &'static str,
    },
    Off,
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
                Mode::Bars { multi, total }
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

    /// Takes the bars off the screen at the end of the run.
    pub fn finish(&self) {
        if let Mode::Bars { multi, total } = &*self.inner {
            if let Some(total) = total {
                total.finish_and_clear();
            }
            let _ = multi.clear();
        }
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
            Mode::Bars { multi, total: all } => {
                let bar = ProgressBar::new(total.unwrap_or(0));
                let bar = match all {
                    Some(all) => multi.insert_before(all, bar),
                    None => multi.add(bar),
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
                    size: total.unwrap_or(0),
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
    size: u64,
}

impl FileEvents for BarFile {
    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
        if let Some(all) = &self.all {
            all.inc(bytes);
        }
    }

    fn rewound(&self, position: u64) {
        let back = self.bar.position().saturating_sub(position);
        let forward = position.saturating_sub(self.bar.position());
        self.bar.set_position(position);
        if let Some(all) = &self.all {
            all.set_position(all.position().saturating_sub(back) + forward);
        }
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
        self.multi.remove(&self.bar);
        if let Some(all) = &self.all {
            count_done(all);
        }
    }

    fn failed(&self) {
        // The total no longer waits for this file's bytes.
        if let Some(all) = &self.all {
            all.set_position(all.position().saturating_sub(self.bar.position()));
            all.set_length(all.length().unwrap_or(0).saturating_sub(self.size));
            count_done(all);
        }
        self.bar.finish_and_clear();
        self.multi.remove(&self.bar);
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
