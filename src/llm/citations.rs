//! Digest line references ("L1043", "L1043–L1890"): parsing the model's citations and
//! finding which references the digest actually contains. The digest format is not
//! guaranteed, so references are found by shape wherever they occur in its text.

/// An inclusive range of log line numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRange {
    pub start: u64,
    pub end: u64,
}

impl LineRange {
    fn contains(self, other: LineRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// Separators accepted between the two ends of a range: en dash, hyphen, em dash.
const RANGE_SEPARATORS: [char; 3] = ['–', '-', '—'];

/// Returns the range a citation names, or `None` when it is not `L<digits>` optionally
/// followed by a dash and `L<digits>` (ends in ascending order).
pub fn parse_citation(citation: &str) -> Option<LineRange> {
    let (range, rest) = parse_ref_at(citation.trim())?;
    rest.is_empty().then_some(range)
}

/// Returns every line reference found in `digest`, in order of appearance.
pub fn digest_refs(digest: &str) -> Vec<LineRange> {
    let mut refs = Vec::new();
    let mut previous: Option<char> = None;
    // Byte offset up to which the text was consumed by the previous reference, so the end of
    // "L1043–L1890" is not found again as a reference of its own.
    let mut consumed_to = 0;
    for (offset, ch) in digest.char_indices() {
        let at_word_start = previous.is_none_or(|p| !p.is_alphanumeric());
        previous = Some(ch);
        if ch != 'L' || !at_word_start || offset < consumed_to {
            continue;
        }
        if let Some((range, rest)) = parse_ref_at(&digest[offset..]) {
            // "L12x" is a word, not a reference.
            if !rest.starts_with(|c: char| c.is_alphanumeric()) {
                refs.push(range);
                consumed_to = digest.len() - rest.len();
            }
        }
    }
    refs
}

/// Returns whether `citation` lies within a reference of the digest.
pub fn is_in_digest(citation: LineRange, digest: &[LineRange]) -> bool {
    digest.iter().any(|r| r.contains(citation))
}

/// Parses `L<digits>` with an optional `–L<digits>` at the start of `text`; returns the range
/// and the unparsed rest.
fn parse_ref_at(text: &str) -> Option<(LineRange, &str)> {
    let (start, rest) = parse_line_number(text)?;
    let after_separator = rest
        .strip_prefix(RANGE_SEPARATORS)
        .and_then(parse_line_number);
    match after_separator {
        Some((end, tail)) if end >= start => Some((LineRange { start, end }, tail)),
        Some(_) => None,
        None => Some((LineRange { start, end: start }, rest)),
    }
}

fn parse_line_number(text: &str) -> Option<(u64, &str)> {
    let digits_and_rest = text.strip_prefix('L')?;
    let digits_len = digits_and_rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits_and_rest.len());
    let number = digits_and_rest[..digits_len].parse().ok()?;
    Some((number, &digits_and_rest[digits_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: u64) -> LineRange {
        LineRange { start, end }
    }

    #[test]
    fn citations_parse_single_lines_and_ranges_with_either_dash() {
        assert_eq!(parse_citation("L1043"), Some(range(1043, 1043)));
        assert_eq!(parse_citation(" L1043–L1890 "), Some(range(1043, 1890)));
        assert_eq!(parse_citation("L1043-L1890"), Some(range(1043, 1890)));
    }

    #[test]
    fn malformed_citations_are_rejected() {
        for bad in [
            "",
            "L",
            "1043",
            "l1043",
            "L10a",
            "L1043–",
            "L1043–1890",
            "L1890–L1043",
            "line 4",
            "L99999999999999999999999",
        ] {
            assert_eq!(parse_citation(bad), None, "{bad:?} should not parse");
        }
    }

    #[test]
    fn digest_refs_are_found_anywhere_but_not_inside_words() {
        let digest = "ERROR L1043–L1890 ×412 Connection to <*> refused\n\
                      WARN L7 disk; see HTML5 and URL12 and L12x\n(L20-L30)";
        assert_eq!(
            digest_refs(digest),
            vec![range(1043, 1890), range(7, 7), range(20, 30)]
        );
    }

    #[test]
    fn a_citation_inside_a_digest_range_counts_as_present() {
        let refs = digest_refs("ERROR L1043–L1890 ×412 refused\nWARN L7 disk");
        assert!(is_in_digest(range(1043, 1890), &refs));
        assert!(is_in_digest(range(1500, 1500), &refs));
        assert!(is_in_digest(range(7, 7), &refs));
        assert!(!is_in_digest(range(8, 8), &refs));
        assert!(!is_in_digest(range(1000, 1100), &refs));
    }
}
