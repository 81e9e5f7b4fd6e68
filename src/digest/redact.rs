//! Redaction of secrets and personal data in text derived from logs. This module owns the
//! patterns, the order they run in and the placeholders they leave behind. Everything shown to
//! people or sent to a model passes through [`Redactor::redact`] first: raw log text must never
//! leave the service unredacted.
//!
//! The patterns lean towards leaving log noise alone (block ids, timestamps, versions, hashes)
//! while catching the shapes secrets and personal data actually take; where the two conflict for
//! secrets, redaction wins.

use std::borrow::Cow;
use std::net::Ipv6Addr;
use std::ops::Range;

use regex::{Captures, Regex};

/// Kinds of sensitive data; each has a typed placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RedactionKind {
    PrivateKey,
    Jwt,
    Secret,
    AwsKey,
    Email,
    Card,
    Phone,
    Ip,
}

impl RedactionKind {
    /// Every kind, in the order counts list them.
    pub const ALL: [RedactionKind; 8] = [
        Self::PrivateKey,
        Self::Jwt,
        Self::Secret,
        Self::AwsKey,
        Self::Email,
        Self::Card,
        Self::Phone,
        Self::Ip,
    ];

    /// Returns the text that replaces a match of this kind.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::PrivateKey => "<PRIVATE_KEY>",
            Self::Jwt => "<JWT>",
            Self::Secret => "<SECRET>",
            Self::AwsKey => "<AWS_KEY>",
            Self::Email => "<EMAIL>",
            Self::Card => "<CARD>",
            Self::Phone => "<PHONE>",
            Self::Ip => "<IP>",
        }
    }

    /// Returns the stable snake_case name used in counts, metrics and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateKey => "private_key",
            Self::Jwt => "jwt",
            Self::Secret => "secret",
            Self::AwsKey => "aws_key",
            Self::Email => "email",
            Self::Card => "card",
            Self::Phone => "phone",
            Self::Ip => "ip",
        }
    }
}

/// What to redact beyond secrets and personal data, which are always redacted.
#[derive(Debug, Clone, Copy)]
pub struct RedactionOptions {
    /// Whether IPv4 and IPv6 addresses are replaced; some tenants need them to triage.
    pub ips: bool,
}

impl Default for RedactionOptions {
    fn default() -> Self {
        Self { ips: true }
    }
}

/// How many replacements of each kind were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    by_kind: [u64; RedactionKind::ALL.len()],
}

impl RedactionCounts {
    /// Returns the number of replacements of one kind.
    pub fn get(&self, kind: RedactionKind) -> u64 {
        self.by_kind[kind as usize]
    }

    /// Returns the number of replacements of all kinds.
    pub fn total(&self) -> u64 {
        self.by_kind.iter().fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// Adds another set of counts to this one, kind by kind.
    pub fn add(&mut self, other: &RedactionCounts) {
        for (mine, theirs) in self.by_kind.iter_mut().zip(other.by_kind) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// Iterates over the kinds with at least one replacement, in the order of `RedactionKind::ALL`.
    pub fn iter(&self) -> impl Iterator<Item = (RedactionKind, u64)> + '_ {
        RedactionKind::ALL
            .into_iter()
            .map(|kind| (kind, self.get(kind)))
            .filter(|&(_, n)| n > 0)
    }

    fn bump(&mut self, kind: RedactionKind) {
        let n = &mut self.by_kind[kind as usize];
        *n = n.saturating_add(1);
    }
}

// The patterns, in the order they run. Earlier passes win: a private key may contain anything,
// a JWT looks like a generic token, and `user:pw@host` must be a password before it can look
// like an e-mail. No pattern matches inside a placeholder: only values may contain `<` or `>`,
// and values skip placeholders explicitly (see `push_value`).
// `\b` is rewritten to an ASCII word boundary at compile time; see `Pass::new`.

const PRIVATE_KEY: &str = r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)";
const JWT: &str = r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*";
const AWS_KEY: &str = r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b";
/// Group 1: the password between `user:` and `@`.
const URL_PASSWORD: &str = r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:([^\s/?#@]+)@";
/// Group 1: the credentials after an authorization header or the word "bearer".
const AUTH_HEADER: &str = r#"(?i)(?:\bauthorization["']?[ \t]*[:=][ \t]*["']?(?:(?:bearer|basic|digest|token|negotiate|ntlm)[ \t]+)?|\bbearer[ \t]+(?:token[ \t]*[:=]?[ \t]*)?)([^\s"',;]+)"#;
/// Groups 1–3: a double-quoted, single-quoted or bare value after a secret-looking key. The
/// secret word must be a whole segment of the key so `max_tokens` or `tokenizer` do not count.
const KEY_VALUE: &str = r#"(?i)\b(?:[a-z0-9]+[_.-])*(?:passwd|password|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth|credentials?|private[_-]?key)(?:[_.-]?(?:key|value|hash|base)){0,2}["']?[ \t]*[:=]>?[ \t]*(?:"((?:[^"\\\r\n]|\\.)*)"|'((?:[^'\\\r\n]|\\.)*)'|([^\s"',;&)}\]]+))"#;
/// Group 1: a password given in prose ("my password is X"), kept only when it looks like one
/// (see `judge`), so "the password is wrong" stays readable.
const PROSE_SECRET: &str = r#"(?i)\b(?:password|passwort|passcode|pwd|pin|secret)[ \t]+(?:is|was|ist|lautet)[ \t]*:?[ \t]*["']?([^\s"',;]+)"#;
/// Group 1: an OpenAI-style key, which must also look generated (see `judge`).
const TOKEN_SHAPE: &str = r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{10,}|AIza[0-9A-Za-z_-]{35}|(sk-[A-Za-z0-9_-]{20,}))";
/// Group 1: the top-level domain, to tell `icon@2x.png` from an address.
const EMAIL: &str = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.([A-Za-z]{2,24})\b";
/// The usual printed groupings (4-4-4-4, 4-4-4-4-3, Amex/Diners 4-6-5/4-6-4) or one run.
const CARD: &str = r"\b(?:[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}(?:[ -][0-9]{3})?|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5}|[0-9]{13,19})\b";
/// A loose candidate; `Ipv6Addr`'s parser decides.
const IPV6: &str = r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{0,4})(?:%[0-9A-Za-z_-]{1,16})?";
const IPV4: &str = r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\b";
/// An international number, or a North-American one whose separators are groups 1 and 2. The
/// former ends on a digit so a closing parenthesis from the prose around it stays there.
const PHONE: &str = r"\+[0-9](?:[ -]?\(?[0-9]\)?){6,13}[ -]?[0-9]|(?:\b1[ .-])?(?:\([2-9][0-9]{2}\)[ ]?[0-9]{3}[-.]|\b[2-9][0-9]{2}([-.])[0-9]{3}([-.]))[0-9]{4}\b";

/// Values after a secret-looking key or auth scheme that say something about the secret
/// without being one; keeping them keeps the log useful for triage.
const HARMLESS_VALUES: &str = "bearer basic digest token negotiate ntlm realm null none nil \
    undefined true false empty redacted filtered masked hidden required missing invalid expired ok \
    yes no on off enabled disabled";

/// Asset suffixes that follow an `@` in file names such as `icon@2x.png`.
const FILE_SUFFIXES: &str = "png jpg jpeg gif svg webp ico js css";

/// Rounds of all passes before `redact` gives up looking for a fixed point; real text needs two.
const MAX_ROUNDS: usize = 16;

/// Words after which a dotted quad is a version, not an address.
const VERSION_WORDS: &str = "version ver release build firmware";

/// How a pass judges its regex matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The whole match is of this kind.
    Whole(RedactionKind),
    /// Only the value in the first participating group is a secret.
    Value,
    /// A value after "password is": a secret only if it does not read as a plain word.
    ProseSecret,
    TokenShape,
    Email,
    Card,
    Ipv6,
    Ipv4,
    Phone,
}

type Found = Vec<(Range<usize>, RedactionKind)>;

#[derive(Debug, Clone)]
struct Pass {
    rule: Rule,
    regex: Regex,
}

/// Replaces secrets and personal data with typed placeholders.
#[derive(Debug, Clone)]
pub struct Redactor {
    passes: Vec<Pass>,
}

impl Redactor {
    /// Compiles the patterns once; a redactor is meant to be built at start-up and shared.
    pub fn new(options: RedactionOptions) -> Self {
        let mut rules = vec![
            (Rule::Whole(RedactionKind::PrivateKey), PRIVATE_KEY),
            (Rule::Whole(RedactionKind::Jwt), JWT),
            (Rule::Whole(RedactionKind::AwsKey), AWS_KEY),
            (Rule::Value, URL_PASSWORD),
            (Rule::Value, AUTH_HEADER),
            (Rule::Value, KEY_VALUE),
            (Rule::ProseSecret, PROSE_SECRET),
            (Rule::TokenShape, TOKEN_SHAPE),
            (Rule::Email, EMAIL),
            (Rule::Card, CARD),
        ];
        if options.ips {
            // IPv6 first so the IPv4 tail of `::ffff:192.0.2.1` goes with its address.
            rules.extend([(Rule::Ipv6, IPV6), (Rule::Ipv4, IPV4)]);
        }
        // Phones last: by then addresses and card numbers can no longer pass for them.
        rules.push((Rule::Phone, PHONE));
        let passes = rules.iter().map(|&(r, p)| Pass::new(r, p)).collect();
        Self { passes }
    }

    /// Returns the text with every match replaced by its placeholder, counting each replacement.
    /// Text without a match comes back borrowed; already-redacted text comes back unchanged.
    pub fn redact<'a>(&self, text: &'a str, counts: &mut RedactionCounts) -> Cow<'a, str> {
        let mut current = Cow::Borrowed(text);
        // A replacement can join what was apart (a URL may now reach its `@`) or change the
        // neighbour a pattern checks, so the passes repeat until the text is a fixed point: that
        // is what makes redacting twice a no-op. Every change removes letters or digits outside
        // placeholders, so this ends; the cap only guards against a mistake in that argument.
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for pass in &self.passes {
                if let Some(next) = pass.apply(&current, counts) {
                    current = Cow::Owned(next);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        current
    }
}

impl Pass {
    fn new(rule: Rule, pattern: &str) -> Self {
        // Unicode word boundaries make the lazy DFA give up on any non-ASCII text and fall back
        // to a much slower engine, which matters on megabyte lines; ASCII ones are enough here.
        let pattern = pattern.replace(r"\b", r"(?-u:\b)");
        let regex = Regex::new(&pattern).expect("redaction patterns are constants that compile");
        Self { rule, regex }
    }

    /// Returns the rewritten text, or `None` when nothing in it needed redacting.
    fn apply(&self, text: &str, counts: &mut RedactionCounts) -> Option<String> {
        let mut found = Found::new();
        let mut pos = 0;
        while pos <= text.len()
            && let Some(caps) = self.regex.captures_at(text, pos)
        {
            let Some(whole) = caps.get(0) else { break };
            let value = caps.iter().skip(1).flatten().next();
            let before = found.len();
            judge(self.rule, text, &caps, &mut found);
            pos = match (self.rule, value) {
                // Not `whole.end()`: a value's unredacted tail may start the next match.
                _ if found.len() > before => found.last().map_or(whole.end(), |f| f.0.end),
                // These matches are short and bounded, so retrying inside one stays linear and
                // finds `4111…` in `2024 4111 1111 1111 1111`.
                (Rule::Card | Rule::Ipv6 | Rule::Ipv4 | Rule::Phone, _) => whole.start(),
                // A harmless value may start the next match: `bearer bearer xyz`.
                (Rule::Value, Some(value)) => value.start(),
                _ => whole.end(),
            }
            .max(next_char(text, whole.start()));
        }
        if found.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (range, kind) in found {
            out.push_str(&text[last..range.start]);
            out.push_str(kind.placeholder());
            counts.bump(kind);
            last = range.end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

/// Decides what, if anything, of one regex match is replaced; pushes in text order.
fn judge(rule: Rule, text: &str, caps: &Captures<'_>, out: &mut Found) {
    let Some(whole) = caps.get(0) else { return };
    let range = whole.range();
    let group = |i| caps.get(i).map(|m| m.as_str());
    let hit = match rule {
        Rule::Whole(kind) => Some((range, kind)),
        Rule::Value => {
            if let Some(value) = caps.iter().skip(1).flatten().next() {
                push_value(text, value.range(), out);
            }
            None
        }
        Rule::ProseSecret => {
            if let Some(value) = caps.get(1) {
                let word = value.as_str().trim_end_matches(['.', ':']);
                if looks_like_a_password(word) {
                    push_value(text, value.start()..value.start() + word.len(), out);
                }
            }
            None
        }
        // Generated `sk-` keys mix digits and capitals; kebab-case names such as
        // `sk-prod-eu-west-1` do not.
        Rule::TokenShape => group(1)
            .is_none_or(|key| {
                key.contains(char::is_uppercase) && key.contains(|c: char| c.is_ascii_digit())
            })
            .then_some((range, RedactionKind::Secret)),
        Rule::Email => group(1)
            .is_some_and(|tld| !listed(FILE_SUFFIXES, tld))
            .then_some((range, RedactionKind::Email)),
        Rule::Card => is_card(text, &range).then_some((range, RedactionKind::Card)),
        Rule::Ipv6 => ipv6_range(text, range).map(|range| (range, RedactionKind::Ip)),
        Rule::Ipv4 => is_ipv4(text, &range).then_some((range, RedactionKind::Ip)),
        // `555-123.4567` mixes separators the way version and serial numbers do, not phones.
        Rule::Phone => (group(1) == group(2) && number_stands_alone(text, &range))
            .then_some((range, RedactionKind::Phone)),
    };
    out.extend(hit);
}

/// Whether a word after "password is" is a password rather than prose such as "wrong",
/// "expired" or "Incorrect": a digit, a symbol or a capital after the first letter.
fn looks_like_a_password(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
        || word.chars().any(|c| !c.is_alphanumeric())
        || word.chars().skip(1).any(char::is_uppercase)
}

/// Pushes a secret value as `<SECRET>`, except parts that are already placeholders (so a second
/// run changes nothing) and values that carry no secret, such as `null` or `****`.
fn push_value(text: &str, range: Range<usize>, out: &mut Found) {
    let value = &text[range.clone()];
    let placeholders = RedactionKind::ALL.map(RedactionKind::placeholder);
    let mut segment_start = 0;
    for (at, _) in value.match_indices('<') {
        if at < segment_start {
            continue;
        }
        if let Some(placeholder) = placeholders
            .into_iter()
            .find(|p| value[at..].starts_with(p))
        {
            push_segment(text, range.start + segment_start..range.start + at, out);
            segment_start = at + placeholder.len();
        }
    }
    push_segment(text, range.start + segment_start..range.end, out);
}

fn push_segment(text: &str, range: Range<usize>, out: &mut Found) {
    let segment = &text[range.clone()];
    let trimmed = segment.trim();
    // Punctuation and escapes such as the `\n` left after a JSON-embedded key carry no secret.
    let mut previous = ' ';
    let carries_text = trimmed.chars().any(|c| {
        let escaped = previous == '\\';
        previous = c;
        c.is_alphanumeric() && !escaped
    });
    if !carries_text {
        return;
    }
    let word = trimmed.trim_matches(|c: char| !c.is_alphanumeric());
    if listed(HARMLESS_VALUES, word) {
        return;
    }
    let start = range.start + (segment.len() - segment.trim_start().len());
    out.push((start..start + trimmed.len(), RedactionKind::Secret));
}

fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace()
        .any(|item| item.eq_ignore_ascii_case(word))
}

/// The characters on either side of a match, and the one after that.
fn neighbours(text: &str, range: &Range<usize>) -> (Option<char>, Option<char>, Option<char>) {
    let before = text[..range.start].chars().next_back();
    let mut after = text[range.end..].chars();
    (before, after.next(), after.next())
}

/// Whether a run of digits stands alone rather than being a piece of an identifier (`blk_-69…`),
/// a path, a decimal, a version or a longer number.
fn number_stands_alone(text: &str, range: &Range<usize>) -> bool {
    let (before, after, after2) = neighbours(text, range);
    let glued_before = before
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/' | '\\'));
    let glued_after = after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        || (matches!(after, Some('.' | '-' | ':' | '/'))
            && after2.is_some_and(|c| c.is_ascii_digit()));
    !glued_before && !glued_after
}

fn is_card(text: &str, range: &Range<usize>) -> bool {
    let candidate = &text[range.clone()];
    let mut separators = candidate.bytes().filter(|b| !b.is_ascii_digit());
    if let Some(first) = separators.next()
        && separators.any(|b| b != first)
    {
        return false;
    }
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    number_stands_alone(text, range) && plausible_issuer(&digits) && luhn_valid(&digits)
}

/// Card numbers start with 2–6 (Mir and Mastercard's 2-series only from 2200); timestamps,
/// epoch milliseconds and most counters start with 0, 1 or a year below 2200.
fn plausible_issuer(digits: &[u32]) -> bool {
    match digits.first() {
        Some(3..=6) => true,
        Some(2) => {
            let first_four = digits.iter().take(4).fold(0, |n, d| n * 10 + d);
            (2200..=2720).contains(&first_four)
        }
        _ => false,
    }
}

fn luhn_valid(digits: &[u32]) -> bool {
    let doubled = |d: u32| if d > 4 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { doubled(d) } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// Returns the address within a candidate, trimmed of a colon borrowed from the text around it
/// (`addr:fe80::1`, `fe80::1: error`), if it parses and is not code such as `std::vec` or `Foo::bar`.
fn ipv6_range(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let candidate = &text[range.clone()];
    let start =
        range.start + usize::from(candidate.starts_with(':') && !candidate.starts_with("::"));
    let end = range.end - usize::from(candidate.ends_with(':') && !candidate.ends_with("::"));
    let address = text.get(start..end)?;
    let bare = address.split('%').next().unwrap_or(address);
    // Real addresses carry digits; hex-only words joined by `::` are far more often code.
    if !bare.bytes().any(|b| b.is_ascii_digit()) || bare.parse::<Ipv6Addr>().is_err() {
        return None;
    }
    let range = start..end;
    let (before, after, after2) = neighbours(text, &range);
    let before2 = text[..start].chars().nth_back(1);
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // A colon next to the address is prose (`addr:fe80::1`) unless more hex or colons follow it.
    let hexy = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit() || c == ':');
    let glued_colon =
        (before == Some(':') && hexy(before2)) || (after == Some(':') && hexy(after2));
    (!glued(before) && before != Some('.') && !glued(after) && !glued_colon).then_some(range)
}

/// Whether a dotted quad is an address rather than part of an OID or a longer version, or a
/// version named as such: `version 1.2.3.4`, `ver=1.2.3.4`, `Chrome/120.0.0.0`.
fn is_ipv4(text: &str, range: &Range<usize>) -> bool {
    let (before, after, after2) = neighbours(text, range);
    if before == Some('.') || (after == Some('.') && after2.is_some_and(|c| c.is_ascii_digit())) {
        return false;
    }
    let head = &text[..range.start];
    if let Some(before_slash) = head.strip_suffix('/') {
        // A product token (`Chrome/`, `Version/`) is capitalised and not a path segment.
        let rest = before_slash.trim_end_matches(|c: char| c.is_ascii_alphanumeric());
        let product = &before_slash[rest.len()..];
        let is_product = product.starts_with(|c: char| c.is_ascii_uppercase());
        return !is_product || rest.ends_with('/');
    }
    let head = head.trim_end_matches([' ', '\t', ':', '=']);
    !VERSION_WORDS.split(' ').any(|word| {
        let Some(start) = head.len().checked_sub(word.len()) else {
            return false;
        };
        // `server 10.0.0.1` ends in "ver" too; only a whole word counts.
        head.get(start..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(word))
            && !head[..start].ends_with(|c: char| c.is_alphanumeric())
    })
}

fn next_char(text: &str, at: usize) -> usize {
    at + text[at..].chars().next().map_or(1, char::len_utf8)
}

impl serde::Serialize for RedactionCounts {
    /// Writes `{"email": 2, "secret": 1}`: only the kinds that were masked.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(kind, n)| (kind.as_str(), n)))
    }
}

/// Returns a redactor for `options`, compiled once per process: compiling the patterns costs
/// far more than using them.
pub fn shared(options: RedactionOptions) -> &'static Redactor {
    static WITH_IPS: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    static WITHOUT_IPS: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    let cell = if options.ips { &WITH_IPS } else { &WITHOUT_IPS };
    cell.get_or_init(|| Redactor::new(options))
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static REDACTOR: LazyLock<Redactor> =
        LazyLock::new(|| Redactor::new(RedactionOptions::default()));
    static NO_IPS: LazyLock<Redactor> =
        LazyLock::new(|| Redactor::new(RedactionOptions { ips: false }));

    // Token-shaped fixtures are assembled with `concat!` so secret scanners do not flag the file.
    const GITHUB: &str = concat!("ghp", "_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    const GITHUB_PAT: &str = concat!(
        "github",
        "_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
    );
    const SLACK: &str = concat!(
        "xox",
        "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    );
    const STRIPE: &str = concat!("sk", "_live_4eC39HqLyjWDarjtT1zdp7dc");
    const GOOGLE: &str = concat!("AIza", "SyD4x9Qm2Lr7Tb0Vw8Kc5Jn3Hp6Gf1Ze-_a");
    const OPENAI: &str = concat!("sk", "-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z");
    const JWT_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn redact_with(redactor: &Redactor, text: &str) -> (String, RedactionCounts) {
        let mut counts = RedactionCounts::default();
        let out = redactor.redact(text, &mut counts).into_owned();
        (out, counts)
    }

    fn redact(text: &str) -> (String, RedactionCounts) {
        redact_with(&REDACTOR, text)
    }

    /// Asserts each input becomes its expected output with exactly one replacement of `kind`.
    fn assert_one(kind: RedactionKind, cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            let (out, counts) = redact(input);
            assert_eq!(&out, expected, "input: {input}");
            assert_eq!(counts.get(kind), 1, "input: {input}, counts: {counts:?}");
            assert_eq!(counts.total(), 1, "input: {input}, counts: {counts:?}");
        }
    }

    fn assert_untouched_by(redactor: &Redactor, lines: &[&str]) {
        for line in lines {
            let mut counts = RedactionCounts::default();
            let out = redactor.redact(line, &mut counts);
            assert!(matches!(out, Cow::Borrowed(_)), "changed: {line} -> {out}");
            assert_eq!(counts.total(), 0, "{line}");
        }
    }

    fn assert_untouched(lines: &[&str]) {
        assert_untouched_by(&REDACTOR, lines);
    }

    #[test]
    fn pem_private_key_blocks_are_replaced_whole() {
        let log = "loading key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\nq1w2e3r4t5y6\n-----END RSA PRIVATE KEY-----\nkey loaded";
        let (out, counts) = redact(log);
        assert_eq!(out, "loading key\n<PRIVATE_KEY>\nkey loaded");
        assert_eq!(counts.get(RedactionKind::PrivateKey), 1);
        assert_eq!(counts.total(), 1);

        assert_one(
            RedactionKind::PrivateKey,
            &[
                (
                    r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"}"#,
                    r#"{"type":"service_account","private_key":"<PRIVATE_KEY>\n"}"#,
                ),
                (
                    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----",
                    "<PRIVATE_KEY>",
                ),
                (
                    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY----- ok",
                    "<PRIVATE_KEY> ok",
                ),
            ],
        );
    }

    #[test]
    fn passwords_given_in_prose_are_masked_but_prose_about_them_is_not() {
        assert_one(
            RedactionKind::Secret,
            &[
                (
                    "my password is hunter2-Secret-Pw",
                    "my password is <SECRET>",
                ),
                (
                    "Das Passwort lautet Sommer2026!",
                    "Das Passwort lautet <SECRET>",
                ),
                ("the PIN is 4711.", "the PIN is <SECRET>."),
                (
                    "password was: \"Tr0ub4dor\" yesterday",
                    "password was: \"<SECRET>\" yesterday",
                ),
            ],
        );
        assert_untouched(&[
            "the password is wrong",
            "Password is expired.",
            "user says the password was Incorrect",
            "secret is missing",
        ]);
    }

    #[test]
    fn pem_block_without_end_runs_to_end_of_text() {
        assert_one(
            RedactionKind::PrivateKey,
            &[(
                "cfg dump: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrY\n(truncated)",
                "cfg dump: <PRIVATE_KEY>",
            )],
        );
        assert_untouched(&[
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
        ]);
    }

    #[test]
    fn jwts_are_replaced_before_generic_secrets() {
        assert_one(
            RedactionKind::Jwt,
            &[
                (
                    &format!("GET /api/v2/tickets Authorization: Bearer {JWT_TOKEN}"),
                    "GET /api/v2/tickets Authorization: Bearer <JWT>",
                ),
                (
                    &format!("callback?id_token={JWT_TOKEN}&state=xyz"),
                    "callback?id_token=<JWT>&state=xyz",
                ),
                (
                    &format!(r#"{{"access_token": "{JWT_TOKEN}", "expires_in": 3600}}"#),
                    r#"{"access_token": "<JWT>", "expires_in": 3600}"#,
                ),
            ],
        );
    }

    #[test]
    fn bearer_and_authorization_credentials_are_secrets() {
        assert_one(
            RedactionKind::Secret,
            &[
                (
                    "curl -H 'Authorization: Bearer abc123.def456' https://api",
                    "curl -H 'Authorization: Bearer <SECRET>' https://api",
                ),
                (
                    "using bearer xyz for retry",
                    "using bearer <SECRET> for retry",
                ),
                (
                    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                    "Authorization: Basic <SECRET>",
                ),
                (
                    "sent Bearer token 9f8e7d6c5b4a",
                    "sent Bearer token <SECRET>",
                ),
                (
                    "Proxy-Authorization: 0a1b2c3d4e5f",
                    "Proxy-Authorization: <SECRET>",
                ),
            ],
        );
        assert_untouched(&[
            r#"WWW-Authenticate: Bearer realm="api", error="invalid_token""#,
            "401: bearer token expired",
            "Authorization: Bearer",
        ]);
    }

    #[test]
    fn secret_values_keep_their_key() {
        assert_one(
            RedactionKind::Secret,
            &[
                (
                    "db connect failed password=hunter2 retrying",
                    "db connect failed password=<SECRET> retrying",
                ),
                (
                    r#"{"user":"svc","password":"p@ss w0rd\"x","port":5432}"#,
                    r#"{"user":"svc","password":"<SECRET>","port":5432}"#,
                ),
                (
                    "MYSQL_ROOT_PASSWORD=s3cr3t!",
                    "MYSQL_ROOT_PASSWORD=<SECRET>",
                ),
                ("client_secret: 'AbC123xyz'", "client_secret: '<SECRET>'"),
                ("X-Api-Key: 0123456789abcdef", "X-Api-Key: <SECRET>"),
                (
                    "GET /v1/items?apikey=abcd1234&page=2",
                    "GET /v1/items?apikey=<SECRET>&page=2",
                ),
                (
                    "spring.datasource.passwd = changeme",
                    "spring.datasource.passwd = <SECRET>",
                ),
                (
                    "refresh_token=rt_5f3a9c;path=/",
                    "refresh_token=<SECRET>;path=/",
                ),
                ("SECRET_KEY_BASE=9a8b7c6d", "SECRET_KEY_BASE=<SECRET>"),
                ("auth=c2VjcmV0 mode=ldap", "auth=<SECRET> mode=ldap"),
                ("credentials: svc:Winter2026", "credentials: <SECRET>"),
                ("private_key => 'MIIEvQ'", "private_key => '<SECRET>'"),
                ("pwd=Tr0ub4dor&3", "pwd=<SECRET>&3"),
                (
                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "aws_secret_access_key = <SECRET>",
                ),
            ],
        );
        assert_untouched(&[
            "password: null, token: none, auth: ok",
            "password=****",
            r#""credentials": {"type": "service_account"}"#,
            "max_tokens=4096 tokenizer=cl100k token_count=12 tokens: 7",
            "password reset requested; passwordless=true; auth_method=ldap",
            "Password:",
            r#"password="""#,
        ]);
    }

    #[test]
    fn url_passwords_keep_the_user_and_are_not_emails() {
        assert_one(
            RedactionKind::Secret,
            &[
                (
                    "connecting to postgres://app:s3cr3t@db.internal:5432/app",
                    "connecting to postgres://app:<SECRET>@db.internal:5432/app",
                ),
                (
                    "redis://:Sup3r$ecret@cache.example.com:6379/0",
                    "redis://:<SECRET>@cache.example.com:6379/0",
                ),
                (
                    "https://bob:pw@example.com/path",
                    "https://bob:<SECRET>@example.com/path",
                ),
            ],
        );
        assert_untouched(&[
            "http://example.com:8080/health",
            "jdbc:mysql://db:3306/app?useSSL=false",
        ]);
    }

    #[test]
    fn well_known_token_shapes_are_secrets() {
        for token in [GITHUB, GITHUB_PAT, SLACK, STRIPE, GOOGLE, OPENAI] {
            let (out, counts) = redact(&format!("push rejected: token {token} revoked"));
            assert_eq!(out, "push rejected: token <SECRET> revoked", "{token}");
            assert_eq!(counts.get(RedactionKind::Secret), 1, "{token}");
        }
        assert_untouched(&[
            "scaled sk-prod-eu-west-1-cluster-01 to 3 replicas",
            "task-runner disk-0123456789012345678901",
        ]);
    }

    #[test]
    fn aws_access_key_ids_are_typed() {
        assert_one(
            RedactionKind::AwsKey,
            &[
                (
                    "aws_access_key_id=AKIAIOSFODNN7EXAMPLE",
                    "aws_access_key_id=<AWS_KEY>",
                ),
                (
                    "assumed role, session key ASIAY34FZKBOKMUTVV7A expires",
                    "assumed role, session key <AWS_KEY> expires",
                ),
            ],
        );
        assert_untouched(&["XAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPL"]);
    }

    #[test]
    fn email_addresses() {
        assert_one(
            RedactionKind::Email,
            &[
                (
                    "mail to bob.smith+alerts@example.co.uk bounced",
                    "mail to <EMAIL> bounced",
                ),
                ("From: <ops-team@mail.example.com>", "From: <<EMAIL>>"),
                ("mailto:jane_doe@example.org.", "mailto:<EMAIL>."),
            ],
        );
        assert_untouched(&[
            "loaded icon@2x.png",
            "object com.example.Cache@1b6d3586 evicted",
            "npm i left-pad@1.3.0",
            "user@localhost",
        ]);
    }

    #[test]
    fn luhn_valid_card_numbers() {
        assert_one(
            RedactionKind::Card,
            &[
                (
                    "payment declined card=4111 1111 1111 1111 amount=10.00",
                    "payment declined card=<CARD> amount=10.00",
                ),
                ("pan 5500-0000-0000-0004 exp 12/29", "pan <CARD> exp 12/29"),
                ("charge 4111111111111111.", "charge <CARD>."),
                ("amex 3782 822463 10005", "amex <CARD>"),
                ("card: 6011111111111117, retry", "card: <CARD>, retry"),
                ("mc2 2223003122003222", "mc2 <CARD>"),
                ("batch 2024 4111 1111 1111 1111", "batch 2024 <CARD>"),
            ],
        );
    }

    #[test]
    fn long_numbers_that_are_not_cards_survive() {
        assert_untouched(&[
            "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: size 67108864 is added to blk_-6952295868487656571",
            "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
            "build 20171223223448 finished",
            "checksum 30569309025906 mismatch",
            "seq=4111111111111112 epoch_ms=1764324672000",
            "4111-1111 1111-1111",
            "id 41111111111111110000 order 4111111111111111x",
        ]);
    }

    #[test]
    fn phone_numbers() {
        assert_one(
            RedactionKind::Phone,
            &[
                (
                    "callback requested +1 (555) 123-4567 asap",
                    "callback requested <PHONE> asap",
                ),
                ("tel: +44 20 7946 0958", "tel: <PHONE>"),
                ("sms to +4915112345678 failed", "sms to <PHONE> failed"),
                ("(call +33-1-23-45-67-89)", "(call <PHONE>)"),
                ("contact (555) 123-4567", "contact <PHONE>"),
                ("contact 555-123-4567.", "contact <PHONE>."),
                ("contact 555.123.4567", "contact <PHONE>"),
                ("dial 1-800-555-0199", "dial <PHONE>"),
            ],
        );
    }

    #[test]
    fn timestamps_versions_and_counters_are_not_phones() {
        let lines = [
            "2026-11-28 10:11:12,345 INFO started",
            "2026-11-28T10:11:12.345+01:00 tick 10:11:12",
            "Date: Sat, 28 Nov 2026 10:11:12 +0200",
            "upgrade 1.2.3.4 -> 1.2.4.0 on 192.168.1.100 port 8443",
            "took 1234567 ms, 12345678901 bytes, exit code 255",
            "req-555-123-4567 and 555-123.4567 and 100-200-3000",
            "a+12345678901 sum 1+2345678901",
        ];
        assert_untouched_by(&NO_IPS, &lines);
    }

    #[test]
    fn ipv4_addresses() {
        assert_one(
            RedactionKind::Ip,
            &[
                (
                    "081109 203518 143 INFO dfs.DataNode$DataXceiver: Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106",
                    "081109 203518 143 INFO dfs.DataNode$DataXceiver: Receiving block blk_-1608999687919862906 src: /<IP>:54106",
                ),
                ("allow 192.168.0.0/16", "allow <IP>/16"),
                ("server 8.8.8.8 unreachable.", "server <IP> unreachable."),
                ("GET /api/hosts/10.1.2.3 404", "GET /api/hosts/<IP> 404"),
                ("open /var/Log/10.1.2.3", "open /var/Log/<IP>"),
            ],
        );
    }

    #[test]
    fn ipv6_addresses() {
        assert_one(
            RedactionKind::Ip,
            &[
                ("bind fe80::1 failed", "bind <IP> failed"),
                ("listening on fe80::1.", "listening on <IP>."),
                ("listening on ::1", "listening on <IP>"),
                ("peer 2001:db8::8a2e:370:7334 reset", "peer <IP> reset"),
                ("GET http://[2001:db8::1]:443/", "GET http://[<IP>]:443/"),
                ("mapped ::ffff:192.0.2.1", "mapped <IP>"),
                ("iface fe80::1%eth0 up", "iface <IP> up"),
                (
                    "addr:fe80::a00:27ff:fe4e:66a1: unreachable",
                    "addr:<IP>: unreachable",
                ),
                ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "full <IP>"),
            ],
        );
    }

    #[test]
    fn versions_times_and_code_are_not_ips() {
        assert_untouched(&[
            "openssl 1.1.1 kernel 5.15.0-91-generic app v1.2.3.4 (version 2.4.1.0) ver=10.0.0.1",
            "UA Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36",
            "OID 1.3.6.1.4.1.9.9.42 value 300.1.2.3 Windows 10.0.19045.2965",
            "tick 10:11:12 then 23:59:59.999",
            "MAC 00:1a:2b:3c:4d:5e link up",
            "std::vector<int>::iterator Foo::bar() dead::beef u8::MAX cafe:babe",
        ]);
    }

    #[test]
    fn ips_can_be_kept() {
        let line = "client 10.0.0.7 via fe80::1 as bob@example.com";
        let (out, counts) = redact_with(&NO_IPS, line);
        assert_eq!(out, "client 10.0.0.7 via fe80::1 as <EMAIL>");
        assert_eq!(counts.get(RedactionKind::Ip), 0);
        assert_eq!(counts.total(), 1);
    }

    #[test]
    fn ordinary_log_lines_survive_untouched() {
        assert_untouched(&[
            "request_id=123e4567-e89b-12d3-a456-426614174000 trace=4bf92f3577b34da6a3ce929d0e0e4736",
            "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ok",
            r"wrote /var/lib/app/2026/11/28/report-20261128.csv and C:\ProgramData\App\logs\1.2.3\app.log",
            "at org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)",
            "java.lang.NullPointerException at com.example.billing.InvoiceService$$EnhancerBySpringCGLIB$$7a3f.render(InvoiceService.java:42)",
            "Nov 28 10:11:12 host sshd[4242]: Server listening on port 22, retry in 30s, listening on :8080",
            "ticket #5500 assigned to queue 7; 3 of 12 tasks done (25.0%)",
            // Mined templates mark their variable parts with `<*>`.
            "Accepted password=<*> token: <*> Bearer <*> for <*>@<*> from /<*>.<*>.<*>.<*>:<*>",
            "",
        ]);
    }

    #[test]
    fn counts_add_up_per_kind() {
        let line = "user=bob@example.com password=hunter2 from 10.0.0.1 card 4111 1111 1111 1111 ip 10.0.0.2";
        let (out, counts) = redact(line);
        assert_eq!(
            out,
            "user=<EMAIL> password=<SECRET> from <IP> card <CARD> ip <IP>"
        );
        let listed: Vec<_> = counts.iter().collect();
        assert_eq!(
            listed,
            [
                (RedactionKind::Secret, 1),
                (RedactionKind::Email, 1),
                (RedactionKind::Card, 1),
                (RedactionKind::Ip, 2)
            ]
        );
        assert_eq!(counts.total(), 5);

        let mut sum = RedactionCounts::default();
        sum.add(&counts);
        sum.add(&counts);
        assert_eq!(sum.get(RedactionKind::Ip), 4);
        assert_eq!(sum.total(), 10);
        assert_eq!(RedactionCounts::default().iter().count(), 0);
    }

    #[test]
    fn kinds_have_distinct_names_and_placeholders() {
        let names: std::collections::BTreeSet<_> =
            RedactionKind::ALL.iter().map(|k| k.as_str()).collect();
        let placeholders: std::collections::BTreeSet<_> =
            RedactionKind::ALL.iter().map(|k| k.placeholder()).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(placeholders.len(), 8);
        assert_eq!(RedactionKind::AwsKey.placeholder(), "<AWS_KEY>");
        assert_eq!(RedactionKind::PrivateKey.as_str(), "private_key");
    }

    fn corpus() -> Vec<String> {
        let mut lines: Vec<String> = [
            "password=hunter2 token: 'abc' auth=<SECRET> secret=\"x <JWT> y\"",
            "postgres://app:s3cr3t@10.0.0.1:5432/db and https://bob:pw@example.com",
            "Authorization: Bearer abc123 / bearer bearer xyz / Authorization: Basic Zm9vOmJhcg==",
            "aws_access_key_id=AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG",
            "card 4111 1111 1111 1111 / 5500-0000-0000-0004 / +1 (555) 123-4567 / 555.123.4567",
            "fe80::1%eth0 ::1 [2001:db8::1]:443 ::ffff:192.0.2.1 192.168.1.1/24",
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n-----BEGIN RSA PRIVATE KEY-----\nxyz",
            "<PRIVATE_KEY><JWT><SECRET><AWS_KEY><EMAIL><CARD><PHONE><IP> token=<SECRET>x user:<SECRET>@<IP>",
            "password=<PRIVATE_KEY>: PRIVATE_KEY=<SECRET> Authorization: <SECRET> <IP>:8080 +<PHONE>",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        lines.push(format!(
            "{JWT_TOKEN} {GITHUB} {SLACK} {STRIPE} {GOOGLE} {OPENAI} {GITHUB_PAT}"
        ));
        lines.push(format!("\"password\": \"Bearer {JWT_TOKEN}\", \"credentials\": \"AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI\""));
        lines
    }

    #[test]
    fn redacting_twice_changes_and_counts_nothing() {
        for line in corpus() {
            let (once, _) = redact(&line);
            let mut counts = RedactionCounts::default();
            let twice = REDACTOR.redact(&once, &mut counts);
            assert!(matches!(twice, Cow::Borrowed(_)), "{line}\n{once}\n{twice}");
            assert_eq!(counts.total(), 0, "{once}: {counts:?}");
        }
    }

    #[test]
    fn placeholders_inside_values_are_not_swallowed() {
        let line = format!(
            r#""password": "Bearer {JWT_TOKEN}", "credentials": "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI""#
        );
        let (out, counts) = redact(&line);
        assert_eq!(
            out,
            r#""password": "Bearer <JWT>", "credentials": "<AWS_KEY> <SECRET>""#
        );
        assert_eq!(counts.get(RedactionKind::Jwt), 1);
        assert_eq!(counts.get(RedactionKind::AwsKey), 1);
        assert_eq!(counts.get(RedactionKind::Secret), 1);
    }

    #[test]
    fn text_without_matches_is_borrowed() {
        let mut counts = RedactionCounts::default();
        assert!(matches!(
            REDACTOR.redact("", &mut counts),
            Cow::Borrowed("")
        ));
        let line = "081109 203615 148 INFO dfs.DataNode: all good";
        assert!(matches!(REDACTOR.redact(line, &mut counts), Cow::Borrowed(s) if s == line));
        assert_eq!(counts, RedactionCounts::default());
    }

    #[test]
    fn arbitrary_unicode_does_not_panic() {
        let (out, counts) =
            redact("пароль password=секрет€ é4111111111111111 ☃fe80::1☃ 日本 bob@例え.jp");
        assert!(out.contains("password=<SECRET>"), "{out}");
        assert_eq!(
            out,
            "пароль password=<SECRET> é4111111111111111 ☃<IP>☃ 日本 bob@例え.jp"
        );
        assert_eq!(counts.total(), 2);

        // Deterministic fuzzing over the characters the patterns care about.
        let pieces = [
            "4111",
            " ",
            "-",
            ".",
            ":",
            "::",
            "@",
            "x",
            "ex.com",
            "password=",
            "+1",
            "(",
            ")",
            "<",
            ">",
            "SECRET",
            "é",
            "10",
            "255",
            "fe80",
            "eyJ",
            "_",
            "/",
            "\n",
            "Bearer ",
            "AKIA",
            "1",
            "0",
            "'",
            "\"",
            "<IP>",
            "☃",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "555-123-4567",
            "(555) ",
            "192.168.1.1",
            "::1",
            "token=",
            "Authorization: ",
            "https://u:",
            "bob@",
            "AKIAIOSFODNN7EXAMPLE",
            JWT_TOKEN,
            "-----BEGIN PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
            "version ",
            "Chrome/",
            "%eth0",
            "blk_-",
            "\\",
            "\t",
            "=",
            ",",
            "<SECRET>",
            "+44 20 7946 0958",
            "ffff:",
            "2001:db8:",
            "<EMAIL>",
            "<CARD>",
            OPENAI,
            "sk-",
            "AIza",
            "auth: ",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let (once, _) = redact(&text);
            let (twice, counts) = redact(&once);
            assert_eq!(once, twice, "input: {text:?}");
            assert_eq!(counts.total(), 0, "input: {text:?}");
        }
    }

    #[test]
    fn megabyte_lines_are_handled() {
        let unit = "081109 203615 148 INFO dfs.DataNode: blk_-6952295868487656571 from /10.250.19.102:50010 password=hunter2 ";
        let line = unit.repeat(1024 * 1024 / unit.len() + 1);
        let (out, counts) = redact(&line);
        let units = (line.len() / unit.len()) as u64;
        assert_eq!(counts.get(RedactionKind::Ip), units);
        assert_eq!(counts.get(RedactionKind::Secret), units);
        assert!(!out.contains("hunter2"));

        // Shapes that make the patterns try, and give up, at every position; smaller so the
        // unoptimised test build stays quick.
        for filler in [
            "7",
            "é",
            "1.",
            ":",
            "a@",
            "4111 ",
            "+1 ",
            "eyJ.",
            "password=",
        ] {
            let text = filler.repeat(128 * 1024 / filler.len());
            let mut counts = RedactionCounts::default();
            let _ = REDACTOR.redact(&text, &mut counts);
        }
        let token = format!("token={}", "x".repeat(1024 * 1024));
        assert_eq!(redact(&token).0, "token=<SECRET>");
    }
}
