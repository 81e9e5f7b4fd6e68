//! The log digest: turns any attached log into the few dozen message templates that matter,
//! with counts, line ranges, severities, times and redacted examples, rendered within a token
//! budget. It feeds the similar-case index, the model prompt, and the evidence shown to people.
//! Only derived text is redacted; stored attachments stay as they came.

pub mod attachments;
pub mod digester;
pub mod header;
pub mod input;
pub mod logs_eval;
pub mod mask;
pub mod miner;
pub mod redact;
pub mod render;

use std::io::Read;

use serde::Serialize;

pub use digester::{DigestOptions, Digester};
pub use header::Severity;
pub use input::InputError;
pub use redact::RedactionCounts;

/// One message template of a log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub id: u32,
    /// The message with its variable parts as `<*>`, redacted.
    pub template: String,
    pub count: u64,
    pub first_line: u64,
    pub last_line: u64,
    pub severity: Severity,
    /// The first line of the template, redacted and shortened.
    pub example: String,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Whether its lines came in a burst, well above its own average rate.
    pub burst: bool,
    /// Stack-trace and other continuation lines folded into this template's lines.
    pub continuation_lines: u64,
}

/// What the digest did not turn into templates, and why. Nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub empty_lines: u64,
    pub invalid_utf8_lines: u64,
    pub truncated_lines: u64,
    /// Lines with more tokens than the miner compares, grouped by their leading tokens.
    pub long_lines: u64,
    pub continuation_lines: u64,
    pub evicted_templates: u64,
    pub evicted_lines: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub lines: u64,
    pub bytes: u64,
    pub gzip: bool,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// In order of first appearance.
    pub templates: Vec<Template>,
    /// How many values of each kind were masked in the shown text.
    pub redactions: RedactionCounts,
    pub skipped: Skipped,
    pub warnings: Vec<String>,
}

/// Digests a whole log from any reader, plain or gzip.
pub fn digest_reader(reader: impl Read, options: DigestOptions) -> Result<Digest, InputError> {
    let mut digester = Digester::new(options);
    let summary = input::for_each_line(reader, options.input, |line| digester.push(line))?;
    Ok(digester.finish(&summary))
}

/// Digests a log held in memory, such as a stored attachment.
pub fn digest_bytes(bytes: &[u8], options: DigestOptions) -> Result<Digest, InputError> {
    digest_reader(bytes, options)
}
