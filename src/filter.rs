//! The one filter set of `list`, `stats`, `rm`, `download` and `copy`: built once from
//! the command line (`cli::FilterArgs`), then asked of each blob while the pages stream
//! in, so memory stays flat. The meaning is exact, for scripts: globs are
//! case-sensitive, `*` does not cross `/` and `**` does; repeated `--name` (or `--type`)
//! means any of them; `--since` (inclusive) and `--before` (exclusive) compare
//! `created_at`; both size bounds are strict and a blob with no size matches neither.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::api::Blob;
use crate::cli::FilterArgs;
use crate::exit::InputError;

/// Which blobs a command acts on; the empty filter matches every blob.
#[derive(Debug, Default, Clone)]
pub struct BlobFilter {
    names: Option<GlobSet>,
    types: Option<GlobSet>,
    since: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
    larger_than: Option<u64>,
    smaller_than: Option<u64>,
    public: Option<bool>,
    complete: Option<bool>,
}

impl BlobFilter {
    /// The filter of the command line; durations count back from `now`.
    pub fn new(args: &FilterArgs, now: DateTime<Utc>) -> Result<BlobFilter, InputError> {
        let when = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| parse_when(v, now).map_err(|e| bad(flag, v, &e)))
        };
        let size = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| parse_size(v).map_err(|e| bad(flag, v, &e)))
        };
        Ok(BlobFilter {
            names: globs("--name", &args.name, false)?,
            types: globs("--type", &args.content_type, true)?,
            since: when("--since", &args.since).transpose()?,
            before: when("--before", &args.before).transpose()?,
            larger_than: size("--larger-than", &args.larger_than).transpose()?,
            smaller_than: size("--smaller-than", &args.smaller_than).transpose()?,
            public: flag_pair(args.public, args.private),
            complete: flag_pair(args.complete, args.incomplete),
        })
    }

    /// True when no filter was given: the command acts as without filters.
    pub fn is_empty(&self) -> bool {
        self.names.is_none()
            && self.types.is_none()
            && self.since.is_none()
            && self.before.is_none()
            && self.larger_than.is_none()
            && self.smaller_than.is_none()
            && self.public.is_none()
            && self.complete.is_none()
    }

    pub fn matches(&self, blob: &Blob) -> bool {
        if let Some(names) = &self.names {
            if !names.is_match(&blob.name) {
                return false;
            }
        }
        if let Some(types) = &self.types {
            if !types.is_match(blob.content_type.as_deref().unwrap_or("")) {
                return false;
            }
        }
        if self.since.is_some() || self.before.is_some() {
            let Some(created) = blob.created_at.as_deref().and_then(parse_rfc3339) else {
                return false;
            };
            if self.since.is_some_and(|s| created < s) || self.before.is_some_and(|b| created >= b)
            {
                return false;
            }
        }
        if self.larger_than.is_some() || self.smaller_than.is_some() {
            let Some(size) = blob.size else { return false };
            if self.larger_than.is_some_and(|l| size <= l)
                || self.smaller_than.is_some_and(|s| size >= s)
            {
                return false;
            }
        }
        if self.public.is_some_and(|p| p != blob.public) {
            return false;
        }
        if self.complete.is_some_and(|c| c != blob.is_complete()) {
            return false;
        }
        true
    }
}

/// `--public`/`--private` (clap keeps them apart): which one, if either.
fn flag_pair(yes: bool, no: bool) -> Option<bool> {
    (yes || no).then_some(yes)
}

fn bad(flag: &str, value: &str, why: &str) -> InputError {
    InputError::Invalid(format!("{flag} `{value}`: {why}"))
}

fn globs(flag: &str, patterns: &[String], any_case: bool) -> Result<Option<GlobSet>, InputError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p)
            .literal_separator(true)
            .case_insensitive(any_case)
            .backslash_escape(true)
            .build()
            .map_err(|e| bad(flag, p, &e.kind().to_string()))?;
        set.add(glob);
    }
    set.build()
        .map(Some)
        .map_err(|e| bad(flag, &patterns.join(" "), &e.to_string()))
}

fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// RFC 3339 (`2026-01-31T12:00:00Z`), a date (`2026-01-31`, midnight UTC), or a
/// duration back from now (`90s`, `90m`, `12h`, `30d`, `2w`).
pub fn parse_when(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Some(t) = parse_rfc3339(value) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: i64 = digits.parse().map_err(|_| when_hint())?;
    let ago = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => return Err(when_hint()),
    };
    ago.and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| "too far back".to_string())
}

fn when_hint() -> String {
    "not a time; hint: give RFC 3339 (`2026-01-31T12:00:00Z`), a date (`2026-01-31`) \
     or a duration back from now (`90m`, `12h`, `30d`)"
        .into()
}

/// Bytes (`1500`), or a number with a unit: `K`/`M`/`G`/`T` (also `KB`…) are powers
/// of 1000, `KiB`/`MiB`/`GiB`/`TiB` powers of 1024; units ignore case.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000_u64.pow(2),
        "g" | "gb" => 1000_u64.pow(3),
        "t" | "tb" => 1000_u64.pow(4),
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(size_hint()),
    };
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(scale).ok_or_else(|| "too large".to_string());
    }
    let x: f64 = number.parse().map_err(|_| size_hint())?;
    let bytes = x * scale as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err("too large".into());
    }
    Ok(bytes.round() as u64)
}

fn size_hint() -> String {
    "not a size; hint: give bytes (`1500`) or a number with a unit (`10M`, `1.5GiB`)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(name: &str, size: Option<u64>, created: &str) -> Blob {
        Blob {
            id: 1,
            uid: "u".into(),
            content_type: Some("image/png".into()),
            name: name.into(),
            size,
            public: false,
            created_at: Some(created.into()),
            updated_at: None,
            blob_status: size.map(|_| "complete".into()),
            blob_object_access: None,
        }
    }

    fn filter(f: impl FnOnce(&mut FilterArgs)) -> BlobFilter {
        let mut args = FilterArgs::default();
        f(&mut args);
        let now = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        BlobFilter::new(&args, now).unwrap()
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("10M"), Ok(10_000_000));
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("2KiB"), Ok(2048));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
    }

    #[test]
    fn times_take_rfc3339_dates_and_durations() {
        let now = parse_rfc3339("2026-06-01T12:00:00Z").unwrap();
        let at = |s| parse_when(s, now).unwrap().to_rfc3339();
        assert_eq!(at("90m"), "2026-06-01T10:30:00+00:00");
        assert_eq!(at("1d"), "2026-05-31T12:00:00+00:00");
        assert_eq!(at("2026-01-02"), "2026-01-02T00:00:00+00:00");
        assert_eq!(at("2026-01-02T03:04:05+01:00"), "2026-01-02T02:04:05+00:00");
        assert!(parse_when("yesterday", now).is_err());
    }

    #[test]
    fn star_stays_in_a_folder_and_double_star_crosses() {
        let f = filter(|a| a.name = vec!["*.png".into()]);
        assert!(f.matches(&blob("a.png", Some(1), "2026-01-01T00:00:00Z")));
        assert!(!f.matches(&blob("docs/a.png", Some(1), "2026-01-01T00:00:00Z")));
        assert!(!f.matches(&blob("a.PNG", Some(1), "2026-01-01T00:00:00Z")));
        let f = filter(|a| a.name = vec!["**/*.png".into(), "*.txt".into()]);
        assert!(f.matches(&blob("docs/x/a.png", Some(1), "2026-01-01T00:00:00Z")));
        assert!(f.matches(&blob("b.txt", Some(1), "2026-01-01T00:00:00Z")));
    }

    #[test]
    fn bounds_are_strict_and_sizeless_blobs_match_neither() {
        let f = filter(|a| a.larger_than = Some("10".into()));
        assert!(!f.matches(&blob("a", Some(10), "2026-01-01T00:00:00Z")));
        assert!(f.matches(&blob("a", Some(11), "2026-01-01T00:00:00Z")));
        assert!(!f.matches(&blob("a", None, "2026-01-01T00:00:00Z")));
        let f = filter(|a| a.smaller_than = Some("10".into()));
        assert!(!f.matches(&blob("a", Some(10), "2026-01-01T00:00:00Z")));
        assert!(f.matches(&blob("a", Some(9), "2026-01-01T00:00:00Z")));
        assert!(!f.matches(&blob("a", None, "2026-01-01T00:00:00Z")));
    }

    #[test]
    fn since_is_inclusive_and_before_exclusive() {
        let f = filter(|a| {
            a.since = Some("2026-01-01T00:00:00Z".into());
            a.before = Some("2026-02-01T00:00:00Z".into());
        });
        assert!(f.matches(&blob("a", Some(1), "2026-01-01T00:00:00Z")));
        assert!(!f.matches(&blob("a", Some(1), "2026-02-01T00:00:00Z")));
        assert!(!f.matches(&blob("a", Some(1), "2025-12-31T23:59:59Z")));
    }
}
