//! Builds a `Digest` from lines: splits headers, folds stack traces into the line they belong
//! to, mines templates, and keeps per-template counts, line ranges, severity and times.

use super::header::{Severity, parse_time, severity_from_words, split_header};
use super::input::InputSummary;
use super::miner::{ClusterId, Miner, MinerConfig};
use super::redact::{self, RedactionCounts, RedactionOptions};
use super::{Digest, Skipped, Template};

/// One generic configuration for every log.
#[derive(Debug, Clone, Copy)]
pub struct DigestOptions {
    pub miner: MinerConfig,
    pub input: super::input::InputLimits,
    pub redaction: RedactionOptions,
    /// Characters of an example line kept.
    pub example_chars: usize,
}

impl DigestOptions {
    /// The options the configuration asks for, on top of the defaults.
    pub fn from_config(config: &crate::config::DigestConfig) -> Self {
        let defaults = Self::default();
        Self {
            input: super::input::InputLimits {
                max_input_bytes: config.max_input,
                max_line_bytes: usize::try_from(config.max_line).unwrap_or(usize::MAX),
            },
            redaction: RedactionOptions {
                ips: config.redact_ips,
            },
            ..defaults
        }
    }
}

impl Default for DigestOptions {
    fn default() -> Self {
        Self {
            miner: MinerConfig::default(),
            input: super::input::InputLimits::default(),
            redaction: RedactionOptions::default(),
            example_chars: 400,
        }
    }
}

/// A burst: at least this many lines of one template in one minute...
const BURST_MIN_PER_MINUTE: u32 = 10;
/// ...and this many times the template's average rate over the whole log.
const BURST_FACTOR: f64 = 5.0;

#[derive(Debug, Clone, Default)]
struct Stats {
    count: u64,
    first_line: u64,
    last_line: u64,
    severity: Option<Severity>,
    first_time: Option<String>,
    /// Reused buffer: rewritten only when the time text changes, so no line allocates.
    last_time: String,
    continuation_lines: u64,
    minute: i64,
    in_minute: u32,
    max_per_minute: u32,
}

impl Stats {
    fn absorb(&mut self, other: &Stats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 || other.first_line < self.first_line {
            self.first_line = other.first_line;
            self.first_time = other.first_time.clone().or(self.first_time.take());
        }
        if other.last_line > self.last_line {
            self.last_line = other.last_line;
            if !other.last_time.is_empty() {
                self.last_time.clone_from(&other.last_time);
            }
        }
        self.count += other.count;
        self.severity = self.severity.max(other.severity);
        self.continuation_lines += other.continuation_lines;
        self.max_per_minute = self.max_per_minute.max(other.max_per_minute);
    }
}

pub struct Digester {
    options: DigestOptions,
    miner: Miner,
    stats: Vec<Stats>,
    line_no: u64,
    last: Option<ClusterId>,
    skipped: Skipped,
    first_time: Option<String>,
    last_time: String,
    /// The last time text parsed and its seconds: consecutive lines often share a timestamp.
    time_cache: (String, f64),
    first_seconds: Option<f64>,
    last_seconds: f64,
}

impl Digester {
    pub fn new(options: DigestOptions) -> Self {
        Self {
            miner: Miner::new(options.miner),
            options,
            stats: Vec::new(),
            line_no: 0,
            last: None,
            skipped: Skipped::default(),
            first_time: None,
            last_time: String::new(),
            time_cache: (String::new(), 0.0),
            first_seconds: None,
            last_seconds: 0.0,
        }
    }

    /// Adds the next line of the log, as raw bytes without its ending.
    pub fn push(&mut self, raw: &[u8]) {
        self.line_no += 1;
        match std::str::from_utf8(raw) {
            Ok(text) => self.push_text(text),
            Err(_) => {
                self.skipped.invalid_utf8_lines += 1;
                let text = String::from_utf8_lossy(raw).into_owned();
                self.push_text(&text);
            }
        }
    }

    fn push_text(&mut self, text: &str) {
        if text.trim().is_empty() {
            self.skipped.empty_lines += 1;
            return;
        }
        if let Some(last) = self.last.filter(|_| is_continuation(text)) {
            let stats = &mut self.stats[last as usize];
            stats.continuation_lines += 1;
            stats.last_line = self.line_no;
            stats.severity = stats.severity.max(Some(Severity::Error));
            self.skipped.continuation_lines += 1;
            return;
        }
        let header = split_header(text);
        let severity = header.level.or_else(|| severity_from_words(header.message));
        let id = self.miner.add(header.message);
        if self.stats.len() <= id as usize {
            self.stats.resize(id as usize + 1, Stats::default());
        }
        let seconds = header.time_text.and_then(|text| self.seconds_of(text));
        let stats = &mut self.stats[id as usize];
        if stats.count == 0 {
            stats.first_line = self.line_no;
            stats.first_time = header
                .time_text
                .filter(|_| seconds.is_some())
                .map(str::to_string);
        }
        stats.count += 1;
        stats.last_line = self.line_no;
        stats.severity = stats.severity.max(severity);
        if let (Some(seconds), Some(text)) = (seconds, header.time_text) {
            let minute = (seconds / 60.0).floor() as i64;
            if stats.in_minute > 0 && stats.minute == minute {
                stats.in_minute += 1;
            } else {
                stats.minute = minute;
                stats.in_minute = 1;
            }
            stats.max_per_minute = stats.max_per_minute.max(stats.in_minute);
            if stats.last_time != text {
                stats.last_time.clear();
                stats.last_time.push_str(text);
            }
            if self.first_time.is_none() {
                self.first_time = Some(text.to_string());
                self.first_seconds = Some(seconds);
            }
            if self.last_time != text {
                self.last_time.clear();
                self.last_time.push_str(text);
            }
            self.last_seconds = seconds;
        }
        self.last = Some(id);
    }

    /// Parses a time text, reusing the last result when the text repeats.
    fn seconds_of(&mut self, text: &str) -> Option<f64> {
        if !self.time_cache.0.is_empty() && self.time_cache.0 == text {
            return Some(self.time_cache.1);
        }
        let seconds = parse_time(text)?.seconds;
        self.time_cache.0.clear();
        self.time_cache.0.push_str(text);
        self.time_cache.1 = seconds;
        Some(seconds)
    }

    /// Finishes mining and builds the digest, with every shown text redacted.
    pub fn finish(mut self, input: &InputSummary) -> Digest {
        self.miner.merge_variants();
        let mut folded: Vec<Stats> = vec![Stats::default(); self.stats.len()];
        for (id, stats) in self.stats.iter().enumerate() {
            let target = self.miner.resolve(id as ClusterId) as usize;
            folded[target].absorb(stats);
        }
        let span_minutes = match self.first_seconds {
            Some(first) => ((self.last_seconds - first) / 60.0).max(0.0) + 1.0,
            None => 1.0,
        };
        let redactor = redact::shared(self.options.redaction);
        let mut redactions = RedactionCounts::default();
        let mut templates = Vec::new();
        for (id, cluster) in self.miner.clusters() {
            let Some(stats) = folded.get(id as usize).filter(|s| s.count > 0) else {
                continue;
            };
            let rate = stats.count as f64 / span_minutes;
            let burst = span_minutes >= 5.0
                && stats.max_per_minute >= BURST_MIN_PER_MINUTE
                && f64::from(stats.max_per_minute) >= BURST_FACTOR * rate;
            let example: String = cluster
                .example
                .chars()
                .take(self.options.example_chars)
                .collect();
            templates.push(Template {
                id,
                template: redactor
                    .redact(&cluster.template(), &mut redactions)
                    .into_owned(),
                count: stats.count,
                first_line: stats.first_line,
                last_line: stats.last_line,
                severity: stats.severity.unwrap_or(Severity::Info),
                example: redactor.redact(&example, &mut redactions).into_owned(),
                first_time: stats.first_time.clone(),
                last_time: (!stats.last_time.is_empty()).then(|| stats.last_time.clone()),
                burst,
                continuation_lines: stats.continuation_lines,
            });
        }
        templates.sort_by_key(|t| t.first_line);
        let losses = self.miner.losses();
        let mut skipped = self.skipped;
        skipped.truncated_lines = input.truncated_lines;
        skipped.evicted_templates = losses.evicted_templates;
        skipped.evicted_lines = losses.evicted_lines;
        skipped.long_lines = losses.long_lines;
        let mut warnings = input.warnings.clone();
        if skipped.invalid_utf8_lines * 3 > self.line_no.max(1) {
            warnings.push(format!(
                "{} of {} lines are not UTF-8: the input looks binary; it was read lossily",
                skipped.invalid_utf8_lines, self.line_no
            ));
        }
        if losses.evicted_templates > 0 {
            warnings.push(format!(
                "{} rare templates holding {} lines were evicted to bound memory",
                losses.evicted_templates, losses.evicted_lines
            ));
        }
        Digest {
            lines: self.line_no,
            bytes: input.bytes,
            gzip: input.gzip,
            first_time: self.first_time,
            last_time: (!self.last_time.is_empty()).then_some(self.last_time),
            templates,
            redactions,
            skipped,
            warnings,
        }
    }
}

/// Stack-trace lines and other continuations that belong to the line before them.
fn is_continuation(text: &str) -> bool {
    let trimmed = text.trim_start();
    let indented = trimmed.len() < text.len();
    (indented && (trimmed.starts_with("at ") || trimmed.starts_with("... ")))
        || trimmed.starts_with("Caused by: ")
        || text.starts_with('\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(text: &str) -> Digest {
        super::super::digest_bytes(text.as_bytes(), DigestOptions::default()).expect("reads")
    }

    #[test]
    fn templates_carry_counts_ranges_and_severity() {
        let log = "2026-11-28 10:00:00 INFO started worker 1\n\
                   2026-11-28 10:00:01 INFO started worker 2\n\
                   2026-11-28 10:00:02 ERROR disk /dev/sda1 full\n\
                   2026-11-28 10:00:03 INFO started worker 3\n";
        let digest = digest(log);
        assert_eq!(digest.lines, 4);
        assert_eq!(digest.templates.len(), 2);
        let started = &digest.templates[0];
        assert_eq!(started.template, "started worker <*>");
        assert_eq!(
            (started.count, started.first_line, started.last_line),
            (3, 1, 4)
        );
        assert_eq!(started.severity, Severity::Info);
        assert_eq!(digest.templates[1].severity, Severity::Error);
        assert_eq!(digest.first_time.as_deref(), Some("2026-11-28 10:00:00"));
    }

    #[test]
    fn stack_traces_fold_into_their_first_line() {
        let log = "java.lang.IllegalStateException: boom\n\
                   \tat com.example.A.run(A.java:10)\n\
                   \tat com.example.B.main(B.java:5)\n\
                   Caused by: java.io.IOException: pipe\n\
                   next line\n";
        let digest = digest(log);
        assert_eq!(digest.templates.len(), 2);
        assert_eq!(digest.templates[0].continuation_lines, 3);
        assert_eq!(digest.templates[0].severity, Severity::Error);
        assert_eq!(digest.templates[0].last_line, 4);
    }

    #[test]
    fn examples_and_templates_are_redacted() {
        let digest = digest("login by ann@example.com with password=hunter2 ok\n");
        let shown = format!(
            "{} {}",
            digest.templates[0].template, digest.templates[0].example
        );
        assert!(
            !shown.contains("ann@example.com") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(digest.redactions.total() >= 2);
    }

    #[test]
    fn lines_longer_than_the_miner_compares_are_counted() {
        let long = (0..300)
            .map(|n| format!("w{n}x"))
            .collect::<Vec<_>>()
            .join(" ");
        let digest = digest(&format!("{long}\nshort line\n"));
        assert_eq!(digest.skipped.long_lines, 1);
        assert_eq!(digest.lines, 2);
    }

    #[test]
    fn binary_input_is_read_lossily_and_said_so() {
        let mut bytes = Vec::new();
        for _ in 0..10 {
            bytes.extend_from_slice(&[0xff, 0xfe, 0x00, b'\n']);
        }
        let digest = super::super::digest_bytes(&bytes, DigestOptions::default()).expect("reads");
        assert_eq!(digest.skipped.invalid_utf8_lines, 10);
        assert!(digest.warnings.iter().any(|w| w.contains("binary")));
    }

    #[test]
    fn a_burst_is_flagged() {
        let mut log = String::new();
        for minute in 0..30 {
            log.push_str(&format!("2026-11-28 10:{minute:02}:00 INFO heartbeat ok\n"));
        }
        for second in 0..40 {
            log.push_str(&format!(
                "2026-11-28 10:15:{second:02} ERROR link down on port 7\n"
            ));
        }
        let digest = digest(&log);
        let link = digest
            .templates
            .iter()
            .find(|t| t.template.contains("link"))
            .expect("link");
        let heartbeat = digest
            .templates
            .iter()
            .find(|t| t.template.contains("heartbeat"))
            .expect("hb");
        assert!(link.burst);
        assert!(!heartbeat.burst);
    }
}
