//! The rows the file bars may take: a screenful less the total and the prompt's line,
//! so the total never scrolls off. A file that starts while every row is taken waits
//! (its bytes count in the total all the same) and takes the first row a finished
//! file frees, so the files still going are the ones on screen.

use std::collections::VecDeque;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};

pub struct Screen {
    multi: MultiProgress,
    /// All bytes of the run; only when there is more than one file.
    total: Option<ProgressBar>,
    rows: usize,
    state: Mutex<Rows>,
}

#[derive(Default)]
struct Rows {
    shown: usize,
    /// Files without a row, in the order they started.
    waiting: VecDeque<(Place, ProgressBar)>,
    next: u64,
}

/// Where one file's bar is, for its leaving.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Place(u64);

impl Screen {
    pub fn new(multi: MultiProgress, total: Option<ProgressBar>, rows: usize) -> Screen {
        Screen {
            multi,
            total,
            rows: rows.max(1),
            state: Mutex::new(Rows::default()),
        }
    }

    pub fn multi(&self) -> &MultiProgress {
        &self.multi
    }

    pub fn total(&self) -> Option<&ProgressBar> {
        self.total.as_ref()
    }

    /// A bar of `len` bytes, on screen when a row is free and waiting for one when not.
    pub fn enter(&self, len: u64) -> (Place, ProgressBar) {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        let mut rows = self.state.lock().unwrap();
        let place = Place(rows.next);
        rows.next += 1;
        if rows.shown < self.rows {
            rows.shown += 1;
            self.show(&bar);
        } else {
            rows.waiting.push_back((place, bar.clone()));
        }
        (place, bar)
    }

    /// The file at `place` is done: its bar goes, and its row to the file that has
    /// waited longest.
    pub fn leave(&self, place: Place, bar: &ProgressBar) {
        let mut rows = self.state.lock().unwrap();
        if let Some(at) = rows.waiting.iter().position(|(p, _)| *p == place) {
            rows.waiting.remove(at);
            return;
        }
        bar.finish_and_clear();
        self.multi.remove(bar);
        match rows.waiting.pop_front() {
            Some((_, next)) => {
                self.show(&next);
                // A bar draws on its next change; a file that is completing may have
                // none to come.
                next.tick();
            }
            None => rows.shown -= 1,
        }
    }

    fn show(&self, bar: &ProgressBar) {
        match &self.total {
            Some(total) => self.multi.insert_before(total, bar.clone()),
            None => self.multi.add(bar.clone()),
        };
    }
}
