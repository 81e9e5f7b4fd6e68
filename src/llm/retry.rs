//! Retry policy, as pure functions: which outcomes are worth another attempt and how long to
//! wait before it. The transport applies them; tests pin them down without a network.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First backoff step.
pub const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Largest backoff step before jitter.
pub const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// Largest server-requested wait we honour; a server asking for minutes is effectively down,
/// and the circuit breaker is the right tool for that.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// Returns whether an HTTP status is transient: rate limiting or a server-side failure.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Returns whether the server's `Retry-After` header is meaningful for this status.
pub fn honours_retry_after(status: u16) -> bool {
    status == 429 || status == 503
}

/// Returns the wait before retry number `attempt` (0 for the first retry).
///
/// A server-given `retry_after` wins, capped at [`RETRY_AFTER_CAP`]. Otherwise the wait is
/// exponential backoff with full jitter: `jitter` (in `[0, 1]`, drawn by the caller) times
/// `min(BACKOFF_CAP, BACKOFF_BASE * 2^attempt)`, which spreads concurrent clients apart.
pub fn retry_delay(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(RETRY_AFTER_CAP);
    }
    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
    let ceiling = BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_CAP);
    // A NaN would make `mul_f64` panic; treat a broken draw as "no jitter".
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    ceiling.mul_f64(jitter)
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (IMF-fixdate). A date in the
/// past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`, the only HTTP-date form
/// RFC 9110 lets servers send.
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let (_weekday, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, clock, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    // A server's clock is not trusted with arithmetic: years outside this range are nonsense
    // and would overflow the conversion below.
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let mut clock_parts = clock.split(':').map(|p| p.parse::<u64>().ok());
    let (Some(Some(hour)), Some(Some(minute)), Some(Some(second)), None) = (
        clock_parts.next(),
        clock_parts.next(),
        clock_parts.next(),
        clock_parts.next(),
    ) else {
        return None;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = u64::try_from(days)
        .ok()?
        .checked_mul(86_400)?
        .checked_add(hour * 3600 + minute * 60 + second)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_250ms_up_to_8s_without_jitter() {
        let steps: Vec<u128> = (0..8)
            .map(|attempt| retry_delay(attempt, None, 1.0).as_millis())
            .collect();
        assert_eq!(steps, vec![250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn full_jitter_scales_the_step_between_zero_and_the_ceiling() {
        assert_eq!(retry_delay(2, None, 0.0), Duration::ZERO);
        assert_eq!(retry_delay(2, None, 0.5), Duration::from_millis(500));
        assert_eq!(retry_delay(2, None, 7.0), Duration::from_millis(1000));
        assert_eq!(retry_delay(2, None, -1.0), Duration::ZERO);
        assert_eq!(retry_delay(2, None, f64::NAN), Duration::from_millis(1000));
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        assert_eq!(retry_delay(40, None, 1.0), BACKOFF_CAP);
        assert_eq!(retry_delay(u32::MAX, None, 1.0), BACKOFF_CAP);
    }

    #[test]
    fn retry_after_wins_and_is_capped_at_30s() {
        let one = Some(Duration::from_secs(1));
        assert_eq!(retry_delay(5, one, 0.0), Duration::from_secs(1));
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(retry_delay(0, hour, 1.0), RETRY_AFTER_CAP);
    }

    #[test]
    fn retryable_statuses_are_429_and_5xx_only() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        for status in [200, 400, 401, 403, 404, 408, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
        assert!(honours_retry_after(503) && honours_retry_after(429) && !honours_retry_after(500));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        for absurd in [
            "Sun, 06 Nov 400000000000 08:49:37 GMT",
            "Sun, 06 Nov -5 08:49:37 GMT",
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(absurd, now), None, "{absurd}");
        }
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "soon",
            "-3",
            "1.5",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_dates_convert_to_unix_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1994, 11, 6), 9_075);
    }
}
