//! The `Range` header of a GET, as S3 reads it: one byte range (`a-b`, `a-`, `-n`);
//! anything it cannot use (several ranges, other units, bad syntax) means the whole.

/// What to send for a request's `Range` header against an object of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// 200 with every byte.
    Whole,
    /// 206 with bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// 416: the range starts past the end.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, len: u64) -> Span {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Span::Whole;
    };
    if spec.contains(',') {
        // S3 does not serve multipart/byteranges; it sends the whole object.
        return Span::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Span::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Too many digits for u64 is still a number, just a very large one.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `-n`: the last n bytes.
        return match number(last) {
            None => Span::Whole,
            Some(0) => Span::Unsatisfiable,
            Some(_) if len == 0 => Span::Unsatisfiable,
            Some(suffix) => Span::Part {
                start: len.saturating_sub(suffix),
                end: len - 1,
            },
        };
    }
    // `a-` and `a-b`.
    let Some(start) = number(first) else {
        return Span::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            _ => return Span::Whole,
        }
    };
    if start >= len {
        return Span::Unsatisfiable;
    }
    Span::Part {
        start,
        end: end.map_or(len - 1, |end| end.min(len - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_forms() {
        assert_eq!(
            parse(Some("bytes=0-9"), 100),
            Span::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse(Some("bytes=90-"), 100),
            Span::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-10"), 100),
            Span::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-1000"), 100),
            Span::Part { start: 0, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=50-1000"), 100),
            Span::Part { start: 50, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=5-99999999999999999999999"), 100),
            Span::Part { start: 5, end: 99 }
        );
    }

    #[test]
    fn unsatisfiable_past_the_end() {
        assert_eq!(parse(Some("bytes=100-"), 100), Span::Unsatisfiable);
        assert_eq!(parse(Some("bytes=100-200"), 100), Span::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Span::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Span::Unsatisfiable);
    }

    #[test]
    fn anything_else_is_the_whole() {
        for header in [
            None,
            Some("items=0-9"),
            Some("bytes=0-1,5-6"),
            Some("bytes=9-1"),
            Some("bytes=a-b"),
            Some("bytes=-"),
            Some("bytes=1"),
            Some("bytes=--5"),
        ] {
            assert_eq!(parse(header, 100), Span::Whole, "{header:?}");
        }
    }
}
