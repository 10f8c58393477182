//! Sizes and times as a person on a terminal reads them: `1.5 MiB`, `3 minutes ago`.
//! Piped output keeps exact bytes and RFC 3339 times instead.

use chrono::{DateTime, Utc};

/// Binary units, one decimal from KiB up: `512 B`, `1.5 KiB`, `100.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Round first, so 1023.96 KiB reads as 1.0 MiB rather than 1024.0 KiB.
    while (value * 10.0).round() / 10.0 >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An RFC 3339 time relative to now (`3 minutes ago`, `in 2 hours`); the text as
/// given when it is not RFC 3339.
pub fn time(rfc3339: &str) -> String {
    match DateTime::parse_from_rfc3339(rfc3339.trim()) {
        Ok(t) => relative(t.with_timezone(&Utc), Utc::now()),
        Err(_) => rfc3339.to_string(),
    }
}

/// `then` as seen from `now`.
pub fn relative(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let future = secs < 0;
    let secs = secs.unsigned_abs();
    if secs < 60 {
        return if future { "in a moment" } else { "just now" }.into();
    }
    let (n, unit) = match secs {
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 30 * 86_400 => (s / 86_400, "day"),
        s if s < 365 * 86_400 => (s / (30 * 86_400), "month"),
        s => (s / (365 * 86_400), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(1_572_864), "1.5 MiB");
        assert_eq!(size(104_857_600), "100.0 MiB");
        assert_eq!(size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn times_are_relative() {
        let now = DateTime::parse_from_rfc3339("2024-05-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(relative(at("2024-05-10T11:59:30Z"), now), "just now");
        assert_eq!(relative(at("2024-05-10T11:57:00Z"), now), "3 minutes ago");
        assert_eq!(relative(at("2024-05-10T11:00:00Z"), now), "1 hour ago");
        assert_eq!(relative(at("2024-05-08T12:00:00Z"), now), "2 days ago");
        assert_eq!(relative(at("2024-02-10T12:00:00Z"), now), "3 months ago");
        assert_eq!(relative(at("2022-05-10T12:00:00Z"), now), "2 years ago");
        assert_eq!(relative(at("2024-05-10T14:00:00Z"), now), "in 2 hours");
    }

    #[test]
    fn a_time_that_is_not_rfc3339_is_shown_as_given() {
        assert_eq!(time("yesterday"), "yesterday");
    }
}
