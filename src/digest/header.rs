//! A generic log-line header detector: leading timestamps, dates, pids and level words are
//! recognised by their shape, not by any system's format, and split off the message. The
//! timestamp is kept (as text and as comparable seconds) and the level becomes a severity.

use serde::Serialize;

/// How bad a line is, from its level word or the words in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Error => "ERROR",
            Severity::Critical => "CRIT",
        }
    }
}

/// A line's time: as written, and as seconds that order correctly within one log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogTime<'a> {
    pub text: &'a str,
    pub seconds: f64,
}

/// A line split into its header facts and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Header<'a> {
    /// Where the time is written in the line, if there is one.
    pub time_text: Option<&'a str>,
    pub level: Option<Severity>,
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Leading tokens examined at most: headers are short.
const MAX_HEADER_TOKENS: usize = 8;

/// Maps a level word (any case, without brackets or a trailing colon) to a severity.
pub fn level_word(word: &str) -> Option<Severity> {
    const LEVELS: [(&str, Severity); 27] = [
        ("TRACE", Severity::Debug),
        ("DEBUG", Severity::Debug),
        ("FINE", Severity::Debug),
        ("FINER", Severity::Debug),
        ("FINEST", Severity::Debug),
        ("VERBOSE", Severity::Debug),
        ("D", Severity::Debug),
        ("V", Severity::Debug),
        ("INFO", Severity::Info),
        ("NOTICE", Severity::Info),
        ("I", Severity::Info),
        ("INFORMATION", Severity::Info),
        ("WARN", Severity::Warning),
        ("WARNING", Severity::Warning),
        ("W", Severity::Warning),
        ("ERROR", Severity::Error),
        ("ERR", Severity::Error),
        ("E", Severity::Error),
        ("SEVERE", Severity::Error),
        ("FATAL", Severity::Critical),
        ("CRIT", Severity::Critical),
        ("CRITICAL", Severity::Critical),
        ("EMERG", Severity::Critical),
        ("EMERGENCY", Severity::Critical),
        ("ALERT", Severity::Critical),
        ("PANIC", Severity::Critical),
        ("F", Severity::Critical),
    ];
    let word = word.trim_matches(|c: char| !c.is_ascii_alphabetic());
    if word.is_empty() || word.len() > 11 {
        return None;
    }
    LEVELS
        .iter()
        .filter(|(name, _)| name.len() == word.len())
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, severity)| *severity)
}

/// Splits the header off a line. Allocates nothing: it runs on every line.
pub fn split_header(line: &str) -> Header<'_> {
    let mut level = None;
    let mut message_start = 0;
    let mut time_span: Option<(usize, usize)> = None;
    let mut last_time_part: &str = "";
    let mut offset = 0;
    for examined in 0..MAX_HEADER_TOKENS {
        let rest = &line[offset..];
        let token_start = offset + (rest.len() - rest.trim_start().len());
        let trimmed = &line[token_start..];
        if trimmed.is_empty() {
            break;
        }
        let end = trimmed
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(trimmed.len());
        let token = &trimmed[..end];
        let bare = token.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ':' | ','));
        let after_month = is_month(last_time_part);
        let after_clock = last_time_part.contains(':');
        let is_time_part = is_time_token(bare)
            || is_month_or_weekday(bare)
            // the day after a month name, or the year after a clock (`Dec 04 04:47:44 2005`)
            || (is_number(bare) && ((after_month && bare.len() <= 2) || (after_clock && bare.len() == 4)));
        if is_time_part {
            // `bare` is a slice of `token`, so its offset is a pointer difference.
            let bare_start = token_start + (bare.as_ptr() as usize - token.as_ptr() as usize);
            let bare_end = bare_start + bare.len();
            time_span = Some(match time_span {
                Some((start, _)) => (start, bare_end),
                None => (bare_start, bare_end),
            });
            last_time_part = bare;
        } else if is_number(bare) {
            // pids, sequence numbers and epoch seconds
        } else if let Some(found) = level_word(bare).filter(|_| bare.len() > 1 || examined > 0) {
            level = level.or(Some(found));
        } else {
            break;
        }
        offset = token_start + end;
        message_start = offset;
    }
    let message = line[message_start..].trim_start();
    Header {
        time_text: time_span.map(|(start, end)| &line[start..end]),
        level,
        message: if message.is_empty() {
            line.trim()
        } else {
            message
        },
    }
}

/// Reads the time a header wrote, as comparable seconds.
pub fn parse_time(text: &str) -> Option<LogTime<'_>> {
    let mut year = 1970i64;
    let mut month = 1i64;
    let mut day = 1i64;
    let mut seconds_of_day: Option<f64> = None;
    let mut previous_was_month = false;
    for (i, part) in text.split_ascii_whitespace().enumerate() {
        let part = part.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ','));
        if previous_was_month && part.len() <= 2 && is_number(part) {
            day = part.parse().unwrap_or(day);
            previous_was_month = false;
            continue;
        }
        previous_was_month = false;
        if let Some(m) = MONTHS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(part))
        {
            month = m as i64 + 1;
            previous_was_month = true;
            continue;
        }
        if let Some(colon) = part.find(':') {
            // [date T]HH:MM[:SS[.fff]][zone]
            let (date_and_hours, rest) = (&part[..colon], &part[colon + 1..]);
            let (date, hours) = match date_and_hours.rfind('T') {
                Some(t) => (Some(&date_and_hours[..t]), &date_and_hours[t + 1..]),
                None => (None, date_and_hours),
            };
            let minutes = rest.get(..2).and_then(|m| m.parse::<f64>().ok());
            let secs = rest.get(3..).map(parse_seconds).unwrap_or(0.0);
            if let (Ok(hours), Some(minutes)) = (hours.parse::<f64>(), minutes) {
                seconds_of_day = Some(hours * 3600.0 + minutes * 60.0 + secs);
            }
            if let Some(date) = date.and_then(parse_date) {
                (year, month, day) = date;
            }
            continue;
        }
        if part.len() == 6 && is_number(part) {
            // yymmdd then hhmmss, as HDFS writes them
            let n: i64 = part.parse().ok()?;
            if seconds_of_day.is_none() && i > 0 {
                seconds_of_day = Some(((n / 10000) * 3600 + (n / 100 % 100) * 60 + n % 100) as f64);
            } else {
                (year, month, day) = (2000 + n / 10000, n / 100 % 100, n % 100);
            }
            continue;
        }
        if part.len() == 4 && is_number(part) {
            year = part.parse().unwrap_or(year);
            continue;
        }
        if let Some(date) = parse_date(part) {
            (year, month, day) = date;
        }
    }
    let seconds_of_day = seconds_of_day?;
    let days = days_from_civil(year, month, day);
    Some(LogTime {
        text,
        seconds: days as f64 * 86_400.0 + seconds_of_day,
    })
}

/// `12`, `12.345`, `12,345`, `12.345Z`, `12+0200`: the seconds field of a clock.
fn parse_seconds(text: &str) -> f64 {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    let field = &text[..digits_end];
    let (whole, fraction) = match field.find(['.', ',']) {
        Some(i) => (&field[..i], &field[i + 1..]),
        None => (field, ""),
    };
    let whole: f64 = whole.parse().unwrap_or(0.0);
    let fraction: f64 = if fraction.is_empty() {
        0.0
    } else {
        fraction.parse::<f64>().unwrap_or(0.0) / 10f64.powi(fraction.len() as i32)
    };
    whole + fraction
}

fn is_number(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit())
}

fn is_month(token: &str) -> bool {
    token.len() == 3 && MONTHS.contains(&token.to_ascii_lowercase().as_str())
}

fn is_month_or_weekday(token: &str) -> bool {
    token.len() == 3 && {
        let lower = token.to_ascii_lowercase();
        MONTHS.contains(&lower.as_str()) || WEEKDAYS.contains(&lower.as_str())
    }
}

/// Dates and times: digits with date and time separators, such as `2026-11-28`, `10:11:12,123`,
/// `17/06/09`, `2026-11-28T10:11:12Z`, `2005.06.03`, or six-digit `081109`/`203615`.
fn is_time_token(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.len() < 4 || !bytes[0].is_ascii_digit() {
        return false;
    }
    let (mut digits, mut separators) = (0usize, 0usize);
    for &b in bytes {
        match b {
            b'0'..=b'9' => digits += 1,
            b'-' | b':' | b'/' | b'.' => separators += 1,
            b',' | b'T' | b'Z' | b'+' => {}
            _ => return false,
        }
    }
    digits >= 4 && (separators >= 2 || (digits == 6 && bytes.len() == 6))
}

/// Reads `2026-11-28`, `2026/11/28`, `2005.06.03` and `17/06/09` (yy/mm/dd).
fn parse_date(text: &str) -> Option<(i64, i64, i64)> {
    let fields: Vec<i64> = text
        .split(['-', '/', '.'])
        .take(3)
        .map(|f| f.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    match fields.as_slice() {
        [y, m, d] if *y >= 1000 => Some((*y, *m, *d)),
        [y, m, d] if *y < 100 && *m <= 12 => Some((2000 + *y, *m, *d)),
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The worst severity a message's own words suggest, for lines without a level.
pub fn severity_from_words(message: &str) -> Option<Severity> {
    let mut found = None;
    for word in message.split_ascii_whitespace().take(64) {
        let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let severity = if bare.ends_with("Exception")
            || (bare.ends_with("Error") && bare.len() > 5)
            || bare.eq_ignore_ascii_case("error")
            || bare.eq_ignore_ascii_case("fatal")
        {
            Some(Severity::Error)
        } else if bare.eq_ignore_ascii_case("failed")
            || bare.eq_ignore_ascii_case("failure")
            || bare.eq_ignore_ascii_case("warning")
            || bare.eq_ignore_ascii_case("denied")
            || bare.eq_ignore_ascii_case("timeout")
        {
            Some(Severity::Warning)
        } else {
            None
        };
        found = found.max(severity);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_headers_are_split_generically() {
        let hdfs = split_header(
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
        );
        assert_eq!(hdfs.level, Some(Severity::Info));
        assert_eq!(
            hdfs.message,
            "dfs.DataNode$PacketResponder: PacketResponder 1 terminating"
        );
        assert_eq!(hdfs.time_text, Some("081109 203615"));

        let iso = split_header("2026-11-28T10:11:12.5Z ERROR disk full");
        assert_eq!(iso.level, Some(Severity::Error));
        assert_eq!(iso.message, "disk full");

        let syslog =
            split_header("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown");
        assert_eq!(
            syslog.message,
            "combo sshd(pam_unix)[19939]: check pass; user unknown"
        );
        assert_eq!(syslog.time_text, Some("Jun 14 15:16:01"));

        let apache =
            split_header("[Sun Dec 04 04:47:44 2005] [error] mod_jk child in error state 6");
        assert_eq!(apache.level, Some(Severity::Error));
        assert_eq!(apache.message, "mod_jk child in error state 6");
        assert_eq!(apache.time_text, Some("Sun Dec 04 04:47:44 2005"));

        let hadoop = split_header("2015-10-18 18:01:47,978 WARN [main] org.apache.Foo: bad");
        assert_eq!(hadoop.level, Some(Severity::Warning));
        assert_eq!(hadoop.message, "[main] org.apache.Foo: bad");

        let plain = split_header("just a message");
        assert_eq!(plain.message, "just a message");
        assert_eq!(plain.time_text, None);
    }

    fn time_of(line: &str) -> Option<LogTime<'_>> {
        split_header(line).time_text.and_then(parse_time)
    }

    #[test]
    fn times_order_within_a_log() {
        let a = time_of("2026-11-28 10:00:00 x").expect("time");
        let b = time_of("2026-11-28 10:00:30,5 x").expect("time");
        let c = time_of("2026-11-29 00:00:00 x").expect("time");
        assert!((b.seconds - a.seconds - 30.5).abs() < 1e-6);
        assert!(c.seconds > b.seconds);
        let h1 = time_of("081109 203615 148 INFO x").expect("time");
        let h2 = time_of("081109 203715 148 INFO x").expect("time");
        assert!((h2.seconds - h1.seconds - 60.0).abs() < 1e-6);
        let d10 = time_of("Dec 10 06:55:46 host x").expect("time");
        let d11 = time_of("Dec 11 06:55:46 host x").expect("time");
        assert!((d11.seconds - d10.seconds - 86_400.0).abs() < 1e-6);
    }

    #[test]
    fn words_suggest_a_severity_when_no_level_is_given() {
        assert_eq!(
            severity_from_words("java.io.IOException: broken pipe"),
            Some(Severity::Error)
        );
        assert_eq!(
            severity_from_words("Failed password for root"),
            Some(Severity::Warning)
        );
        assert_eq!(severity_from_words("all good"), None);
    }
}
