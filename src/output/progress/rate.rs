//! The rate beside a bar: bytes over the last few seconds, from the bytes the
//! transfer counted. An upload's first bytes go into the socket's buffers (several MiB
//! on a fast link) at memory speed, long before they reach the other end; a rate over
//! the whole run, or one that weighs the first seconds in, reads far above the link for
//! most of a transfer. Over a window that starts after that first fill, the bytes the
//! buffers take are the bytes the link carries.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far back the rate looks; no rate is shown before a transfer has run this long.
pub const WINDOW: Duration = Duration::from_secs(3);

/// The least time between two kept samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Positions of one transfer (a file, or the total) over time.
#[derive(Default)]
pub struct Rate {
    inner: Mutex<Samples>,
}

#[derive(Default)]
struct Samples {
    /// The first position recorded since the start or a rewind: not a sample, since
    /// the buffers' fill follows it at once.
    first: Option<Instant>,
    /// The latest position and when it came.
    latest: u64,
    /// Positions at least `SAMPLE_EVERY` apart, oldest first, none much older than the
    /// window.
    kept: VecDeque<(Instant, u64)>,
}

impl Rate {
    /// The transfer is at `position` now. A position lower than the last one (a retry
    /// starting over, a failed file leaving the total) starts the window afresh.
    pub fn record(&self, position: u64) {
        self.record_at(position, Instant::now());
    }

    fn record_at(&self, position: u64, now: Instant) {
        let mut s = self.inner.lock().unwrap();
        if position < s.latest {
            *s = Samples::default();
        }
        s.latest = position;
        let Some(first) = s.first else {
            s.first = Some(now);
            return;
        };
        let last = s.kept.back().map_or(first, |&(at, _)| at);
        if now.duration_since(last) >= SAMPLE_EVERY {
            s.kept.push_back((now, position));
        }
        while s
            .kept
            .get(1)
            .is_some_and(|&(at, _)| now.duration_since(at) >= WINDOW)
        {
            s.kept.pop_front();
        }
    }

    /// Bytes a second over the window, once the transfer has run for a window's time.
    pub fn per_sec(&self) -> Option<f64> {
        self.per_sec_at(Instant::now())
    }

    fn per_sec_at(&self, now: Instant) -> Option<f64> {
        let s = self.inner.lock().unwrap();
        if now.duration_since(s.first?) < WINDOW {
            return None;
        }
        // The oldest sample inside the window; with none (nothing came for a whole
        // window), nothing moved.
        let Some(&(since, from)) = s
            .kept
            .iter()
            .find(|&&(at, _)| now.duration_since(at) <= WINDOW)
        else {
            return Some(0.0);
        };
        let secs = now.duration_since(since).as_secs_f64().max(0.001);
        Some((s.latest - from) as f64 / secs)
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
                None => assert!(*at <= WINDOW, "{at:?}"),
                Some(r) => assert!((0.95..=1.05).contains(r), "{r} MiB/s at {at:?}"),
            }
        }
        assert!(shown.iter().filter(|(_, r)| r.is_some()).count() >= 70);
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
