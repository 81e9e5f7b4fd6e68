//! Renders a digest as compact text for a model and for people, never longer than a token
//! budget counted with the cl100k_base tokenizer: errors and warnings first, then rare and
//! bursty templates, then the bulk, each line citing where it came from (`L1043–L1890 ×412`).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use super::header::Severity;
use super::{Digest, Template};

/// Templates seen at most this often count as rare.
const RARE_COUNT: u64 = 3;

/// The tokenizer, loaded once from the data compiled into tiktoken-rs.
fn tokenizer() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("cl100k_base ships inside tiktoken-rs"))
}

/// Counts cl100k_base tokens in `text`.
pub fn count_tokens(text: &str) -> usize {
    tokenizer().encode_ordinary(text).len()
}

impl Digest {
    /// Renders the digest within `budget_tokens`; the most telling templates come first.
    pub fn render(&self, budget_tokens: usize) -> String {
        let header = format!(
            "log digest: {} lines, {} templates{}{}\n",
            self.lines,
            self.templates.len(),
            match (&self.first_time, &self.last_time) {
                (Some(first), Some(last)) => format!(", {first} to {last}"),
                _ => String::new(),
            },
            skipped_note(self),
        );
        let mut out = String::new();
        let mut used = 0;
        if !push_within(&mut out, &mut used, &header, budget_tokens) {
            return truncate_to_budget(&header, budget_tokens);
        }
        let ordered = ordered_templates(&self.templates);
        // Room kept for saying how much did not fit, so a reader always learns of it.
        let reserve = count_tokens("… 99999 more templates not shown\n");
        let lines_budget = budget_tokens.saturating_sub(reserve);
        let mut shown = 0;
        for (section, templates) in ordered {
            if templates.is_empty() {
                continue;
            }
            let title = format!("{section}:\n");
            if !push_within(&mut out, &mut used, &title, lines_budget) {
                break;
            }
            let mut full = false;
            for template in templates {
                if !push_within(&mut out, &mut used, &line_for(template), lines_budget) {
                    full = true;
                    break;
                }
                shown += 1;
            }
            if full {
                break;
            }
        }
        let hidden = self.templates.len() - shown;
        if hidden > 0 {
            let note = format!("… {hidden} more templates not shown\n");
            push_within(&mut out, &mut used, &note, budget_tokens);
        }
        // Token counts of pieces need not add up exactly; the whole is what must fit.
        while count_tokens(&out) > budget_tokens {
            match out.trim_end_matches('\n').rfind('\n') {
                Some(cut) => out.truncate(cut + 1),
                None => return String::new(),
            }
        }
        out
    }
}

fn push_within(out: &mut String, used: &mut usize, piece: &str, budget: usize) -> bool {
    let cost = count_tokens(piece);
    if *used + cost > budget {
        return false;
    }
    out.push_str(piece);
    *used += cost;
    true
}

fn truncate_to_budget(text: &str, budget: usize) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    while !words.is_empty() && count_tokens(&words.join(" ")) > budget {
        words.pop();
    }
    words.join(" ")
}

fn skipped_note(digest: &Digest) -> String {
    let skipped = &digest.skipped;
    let mut notes = Vec::new();
    if skipped.invalid_utf8_lines > 0 {
        notes.push(format!(
            "{} non-UTF-8 lines read lossily",
            skipped.invalid_utf8_lines
        ));
    }
    if skipped.truncated_lines > 0 {
        notes.push(format!("{} over-long lines cut", skipped.truncated_lines));
    }
    if skipped.long_lines > 0 {
        notes.push(format!(
            "{} lines grouped by their first tokens only",
            skipped.long_lines
        ));
    }
    if skipped.evicted_lines > 0 {
        notes.push(format!(
            "{} lines in evicted rare templates",
            skipped.evicted_lines
        ));
    }
    let redacted = digest.redactions.total();
    if redacted > 0 {
        notes.push(format!("{redacted} sensitive values masked"));
    }
    notes.extend(digest.warnings.iter().cloned());
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

/// Sections in reading order: problems, then the unusual, then everything else by volume.
fn ordered_templates(templates: &[Template]) -> [(&'static str, Vec<&Template>); 3] {
    let mut problems: Vec<&Template> = templates
        .iter()
        .filter(|t| t.severity >= Severity::Warning)
        .collect();
    problems.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.count.cmp(&a.count)));
    let mut unusual: Vec<&Template> = templates
        .iter()
        .filter(|t| t.severity < Severity::Warning && (t.burst || t.count <= RARE_COUNT))
        .collect();
    unusual.sort_by(|a, b| b.burst.cmp(&a.burst).then(a.count.cmp(&b.count)));
    let mut bulk: Vec<&Template> = templates
        .iter()
        .filter(|t| t.severity < Severity::Warning && !t.burst && t.count > RARE_COUNT)
        .collect();
    bulk.sort_by_key(|t| std::cmp::Reverse(t.count));
    [
        ("errors and warnings", problems),
        ("rare and bursty", unusual),
        ("most frequent", bulk),
    ]
}

fn line_for(template: &Template) -> String {
    let lines = if template.first_line == template.last_line {
        format!("L{}", template.first_line)
    } else {
        format!("L{}–L{}", template.first_line, template.last_line)
    };
    let burst = if template.burst { " burst" } else { "" };
    let trace = if template.continuation_lines > 0 {
        format!(" (+{} trace lines)", template.continuation_lines)
    } else {
        String::new()
    };
    format!(
        "{lines} ×{} {}{burst} {}{trace}\n",
        template.count,
        template.severity.as_str(),
        template.template
    )
}

#[cfg(test)]
mod tests {
    use super::super::{DigestOptions, digest_bytes};
    use super::*;

    fn sample() -> Digest {
        let mut log = String::new();
        for n in 0..500 {
            log.push_str(&format!(
                "2026-11-28 10:{:02}:00 INFO request {n} served in {n} ms\n",
                n % 60
            ));
            if n % 50 == 0 {
                log.push_str(&format!(
                    "2026-11-28 10:{:02}:01 ERROR upstream timeout after {n} ms\n",
                    n % 60
                ));
            }
        }
        log.push_str("2026-11-28 11:00:00 WARN certificate expires in 3 days\n");
        for n in 0..200 {
            log.push_str(&format!(
                "2026-11-28 11:00:00 INFO unique event kind{n}x{n} seen\n"
            ));
            log.push_str(&format!(
                "op{n} different shape {n} number {} of things here\n",
                n * 7
            ));
        }
        digest_bytes(log.as_bytes(), DigestOptions::default()).expect("digests")
    }

    #[test]
    fn problems_come_first_with_their_citations() {
        let text = sample().render(2_000);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("log digest:"), "{text}");
        assert_eq!(lines[1], "errors and warnings:");
        assert!(
            lines[2].contains("ERROR upstream timeout after <*> ms"),
            "{text}"
        );
        assert!(lines[2].starts_with("L2–L"), "{text}");
        assert!(lines[3].contains("WARN certificate"), "{text}");
    }

    #[test]
    fn the_budget_is_never_exceeded() {
        let digest = sample();
        for budget in [0, 1, 5, 20, 50, 100, 300, 1_000, 10_000] {
            let text = digest.render(budget);
            assert!(
                count_tokens(&text) <= budget,
                "budget {budget}: {}",
                count_tokens(&text)
            );
        }
        assert!(
            digest.render(50).contains("more templates not shown") || digest.templates.len() < 5
        );
    }
}
