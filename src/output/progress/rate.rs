//! The rate beside a bar: bytes over the last few seconds, from the bytes the
//! transfer counted. An upload's first bytes go into the socket's buffers (several MiB
//! on a fast link) at memory speed, long before they reach the other end; a rate over
//! the whole run, or one that weighs the first seconds in, reads far above the link for
//! most of a transfer. Over a window that starts after that first fill (on loopback,
//! about 4.5 MiB at once and more within the first second), the bytes the buffers take
//! are the bytes the link carries, once the buffers stop growing; a rate is counted
//! over two seconds at least, so that what they still grow after the first second (a
//! few hundred KiB on a loaded machine) is spread thin.
//!
//! The buffers take them in bursts, though: on loopback a 1 MiB/s link hands over
//! 1.5 MiB every 1.5 s, each burst in a few milliseconds. A window that ends "now"
//! counts two bursts or three depending on where it falls (a rate swinging by half);
//! one that runs from the end of a burst to the end of another counts exactly what
//! the link carried between them. So positions that come close together make one
//! sample, stamped when the last of them came, and the window ends at the latest
//! sample that is over: a bar is drawn at each position, mid-burst too, and a window
//! ending mid-burst counts part of one.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far back the rate looks; no rate is shown before a transfer has run this long.
pub const WINDOW: Duration = Duration::from_secs(3);

/// Samples this soon after the first position are the buffers' fill: no window
/// starts at one.
const FILL: Duration = Duration::from_secs(1);

/// The shortest stretch a rate is counted over. Where the buffers leave off after a
/// burst varies by a few hundred KiB, too much to count over the second and a half
/// between two bursts on a slow link.
const SPAN: Duration = Duration::from_secs(2);

/// Positions this close after the previous one belong to the same burst.
const BURST_GAP: Duration = Duration::from_millis(25);

/// The longest a sample gathers positions (a steady stream is one long "burst").
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Positions of one transfer (a file, or the total) over time.
#[derive(Default)]
pub struct Rate {
    inner: Mutex<Samples>,
}

#[derive(Default)]
struct Samples {
    /// When the first position since the start or a rewind came: not a sample, since
    /// the buffers' fill follows it at once (see `FILL`).
    first: Option<Instant>,
    /// Samples oldest first, the newest holding the latest position; the oldest kept
    /// is the newest one a whole window before the one before the newest (or older
    /// ones while there is none).
    kept: VecDeque<Sample>,
}

#[derive(Clone, Copy)]
struct Sample {
    /// When the sample's first position came.
    opened: Instant,
    /// When its latest position came, and that position.
    at: Instant,
    position: u64,
}

impl Sample {
    /// Whether a position coming `now` still belongs to this sample (its burst).
    fn gathers(&self, now: Instant) -> bool {
        now.duration_since(self.at) < BURST_GAP && now.duration_since(self.opened) < SAMPLE_EVERY
    }
}

impl Samples {
    fn latest(&self) -> u64 {
        self.kept.back().map_or(0, |s| s.position)
    }
}

impl Rate {
    /// The transfer is at `position` now. A position lower than the last one (a retry
    /// starting over, a failed file leaving the total) starts the window afresh.
    pub fn record(&self, position: u64) {
        self.record_at(position, Instant::now());
    }

    fn record_at(&self, position: u64, now: Instant) {
        let mut s = self.inner.lock().unwrap();
        if position < s.latest() {
            *s = Samples::default();
        }
        if s.first.is_none() {
            s.first = Some(now);
            return;
        }
        match s.kept.back_mut() {
            Some(last) if last.gathers(now) => {
                last.at = now;
                last.position = position;
            }
            _ => s.kept.push_back(Sample {
                opened: now,
                at: now,
                position,
            }),
        }
        while s.kept.len() > 2 && s.kept[1].at + WINDOW <= s.kept[s.kept.len() - 2].at {
            s.kept.pop_front();
        }
    }

    /// Bytes a second over the window, once the transfer has run for a window's time.
    pub fn per_sec(&self) -> Option<f64> {
        self.per_sec_at(Instant::now())
    }

    fn per_sec_at(&self, now: Instant) -> Option<f64> {
        let s = self.inner.lock().unwrap();
        let first = s.first?;
        if now.duration_since(first) < WINDOW {
            return None;
        }
        let last = *s.kept.back()?;
        if now.duration_since(last.at) >= WINDOW {
            // Nothing came for a whole window: nothing moves.
            return Some(0.0);
        }
        // A sample still gathering ends no window: its burst is not over.
        let end = if last.gathers(now) {
            *s.kept.iter().nth_back(1)?
        } else {
            last
        };
        // From the newest sample a window before the end, or the oldest after the fill.
        let mut after_fill = s
            .kept
            .iter()
            .filter(|sample| sample.at >= first + FILL && sample.at < end.at);
        let oldest = *after_fill.next()?;
        let from = after_fill
            .take_while(|sample| sample.at + WINDOW <= end.at)
            .last()
            .copied()
            .unwrap_or(oldest);
        let span = end.at.duration_since(from.at);
        if span < SPAN {
            return None;
        }
        Some((end.position - from.position) as f64 / span.as_secs_f64())
    }

    /// The time left for `remaining` bytes at the current rate.
    pub fn time_left(&self, remaining: u64) -> Option<Duration> {
        let per_sec = self.per_sec()?;
        (per_sec > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / per_sec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const MIB: f64 = 1_048_576.0;

    /// 6 MiB taken at once (the buffers), then 1 MiB a second for ten seconds; the
    /// rate shown at each tenth of a second, in MiB/s.
    fn filled_then_steady(rate: &Rate, start: Instant) -> Vec<(Duration, Option<f64>)> {
        for i in 1..=96u32 {
            rate.record_at(u64::from(i) * 65_536, start + MS * i / 10);
        }
        (1..=100u32)
            .map(|tick| {
                let now = start + 100 * MS * tick;
                rate.record_at(6 * 1_048_576 + u64::from(tick) * 104_858, now);
                (now - start, rate.per_sec_at(now).map(|r| r / MIB))
            })
            .collect()
    }

    #[test]
    fn the_buffers_first_fill_does_not_count() {
        let rate = Rate::default();
        let shown = filled_then_steady(&rate, Instant::now());
        for (at, per_sec) in &shown {
            match per_sec {
                // The first sample after the fill comes a tick after it ends.
                None => assert!(*at <= FILL + SPAN + 100 * MS, "{at:?}"),
                Some(r) => assert!((0.95..=1.05).contains(r), "{r} MiB/s at {at:?}"),
            }
        }
        assert!(shown.iter().filter(|(_, r)| r.is_some()).count() >= 65);
    }

    /// What loopback shows at 1 MiB/s: 4 MiB taken at once, 1.5 MiB at 0.3 s, then
    /// 1.5 MiB every 1.5 s, each burst six positions a millisecond apart; the rate
    /// shown at each position (as a bar is drawn) and every 50 ms between, for fifteen
    /// seconds, in MiB/s.
    fn in_bursts(rate: &Rate, start: Instant) -> Vec<(Duration, Option<f64>)> {
        let mut position = 0;
        let mut shown = Vec::new();
        let mut burst = |shown: &mut Vec<_>, at: Duration, bytes: u64, pieces: u32| {
            for piece in 0..pieces {
                position += bytes / u64::from(pieces);
                let now = at + MS * piece;
                rate.record_at(position, start + now);
                shown.push((now, rate.per_sec_at(start + now).map(|r| r / MIB)));
            }
        };
        burst(&mut shown, Duration::ZERO, 4 * 1_048_576, 16);
        burst(&mut shown, 300 * MS, 1_572_864, 6);
        let mut next_burst = 1500 * MS;
        for tick in 1..=300u32 {
            let now = 50 * MS * tick;
            if now >= next_burst {
                burst(&mut shown, next_burst, 1_572_864, 6);
                next_burst += 1500 * MS;
            }
            let later = now + 10 * MS;
            shown.push((later, rate.per_sec_at(start + later).map(|r| r / MIB)));
        }
        shown
    }

    #[test]
    fn bursts_read_as_the_link_between_them() {
        let rate = Rate::default();
        let shown = in_bursts(&rate, Instant::now());
        let rates: Vec<f64> = shown.iter().filter_map(|(_, r)| *r).collect();
        assert!(rates.len() >= 230, "{shown:?}");
        for (at, per_sec) in &shown {
            if let Some(r) = per_sec {
                assert!((0.95..=1.05).contains(r), "{r} MiB/s at {at:?}");
            }
        }
    }

    /// As loopback showed on a loaded machine at 1 MiB/s: 4.25 MiB taken at once, a
    /// burst of 1 MiB at 1.06 s, one of 2 MiB at 2.48 s (the buffers still growing),
    /// then 1.42 MiB every 1.42 s. Counted over the 1.42 s between the first two
    /// bursts, the rate read 1.4 MiB/s; over two seconds or more, the growth is spread.
    #[test]
    fn a_short_stretch_after_the_fill_is_not_counted() {
        let rate = Rate::default();
        let start = Instant::now();
        let mib = |m: f64| (m * MIB) as u64;
        rate.record_at(0, start);
        rate.record_at(mib(4.25), start + 30 * MS);
        let mut position = mib(5.25);
        let mut at = 1060 * MS;
        let mut shown = Vec::new();
        while at < Duration::from_secs(12) {
            rate.record_at(position, start + at);
            for later in [MS, 100 * MS, 700 * MS, 1400 * MS] {
                shown.push((
                    at + later,
                    rate.per_sec_at(start + at + later).map(|r| r / MIB),
                ));
            }
            position += if at < 2 * WINDOW / 3 {
                mib(2.0)
            } else {
                mib(1.42)
            };
            at += 1420 * MS;
        }
        let rates: Vec<f64> = shown.iter().filter_map(|(_, r)| *r).collect();
        assert!(rates.len() >= 20, "{shown:?}");
        for (at, per_sec) in &shown {
            if let Some(r) = per_sec {
                assert!((0.95..=1.21).contains(r), "{r} MiB/s at {at:?}");
            }
        }
    }

    #[test]
    fn no_rate_before_a_window_and_none_moving_is_zero() {
        let rate = Rate::default();
        let start = Instant::now();
        assert_eq!(rate.per_sec_at(start), None);
        rate.record_at(10, start);
        rate.record_at(20, start + 200 * MS);
        assert_eq!(rate.per_sec_at(start + WINDOW - MS), None);
        assert_eq!(rate.per_sec_at(start + WINDOW * 3), Some(0.0));
    }

    #[test]
    fn going_back_starts_afresh() {
        let rate = Rate::default();
        let start = Instant::now();
        filled_then_steady(&rate, start);
        rate.record_at(0, start + Duration::from_secs(11));
        assert_eq!(rate.per_sec_at(start + Duration::from_secs(12)), None);
    }
}
