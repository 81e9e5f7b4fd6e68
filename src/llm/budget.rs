//! Fits the triage prompt into `max_prompt_tokens`, whatever the input size. The digest gets
//! most room (it is what the summary must cite), then the description, similar cases and the
//! catalogue; each part gives way from its end. The schema and validation still use the full
//! catalogue: only what is *shown* shrinks.

use tiktoken_rs::CoreBPE;

use super::prompts::{PromptError, Prompts, RenderedPrompt, SimilarVars, TriageVars};
use super::redact::RedactedInput;
use super::schema::allowed_groups;
use super::tokens::{count, head};
use super::usage::clip_bytes;

/// Bytes of any one big field looked at before counting tokens: far more than fits, so the cut
/// is made by tokens, but keeps a 1 MB description from being tokenised whole.
const BYTES_PER_TOKEN_LOOKED_AT: usize = 8;
const TICKET_ID_MAX_BYTES: usize = 100;
const TITLE_MAX_BYTES: usize = 300;
const DIGEST_LINE_MAX_BYTES: usize = 400;
const CASE_TITLE_MAX_BYTES: usize = 200;
const CASE_RESOLUTION_MAX_BYTES: usize = 160;
const CASE_FIELD_MAX_BYTES: usize = 80;
const GROUP_MAX_BYTES: usize = 120;
/// Tokens kept free for joins and "… N more" notes whose size shifts as parts shrink.
const SAFETY_MARGIN: usize = 24;
/// Rounds of "render, count, shrink the biggest part" before giving up on the optional parts.
const MAX_SHRINK_ROUNDS: usize = 8;

/// Shares of the free tokens each part may take before leftovers are handed out, in the order
/// digest, description, similar cases, catalogue.
const SHARES: [f64; 4] = [0.40, 0.25, 0.15, 0.20];

/// Why no prompt fits.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "the prompt needs {base_tokens} tokens without description, logs, similar cases or catalogue, over the budget of {budget}"
    )]
    TooSmall { base_tokens: usize, budget: usize },
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

/// A rendered prompt within budget, with its token count.
#[derive(Clone, Debug)]
pub struct FittedPrompt {
    pub prompt: RenderedPrompt,
    pub tokens: usize,
}

/// The material of the optional parts, pre-cut by bytes, with per-item token costs.
struct Material {
    description: String,
    description_cut: bool,
    digest_lines: Vec<String>,
    digest_total: usize,
    digest_costs: Vec<usize>,
    similar: Vec<SimilarVars>,
    similar_costs: Vec<usize>,
    catalogue: Vec<String>,
    catalogue_costs: Vec<usize>,
}

/// Renders the triage prompt for `input` within `max_tokens` (system + user, cl100k).
pub fn fit_prompt(
    bpe: &CoreBPE,
    prompts: &Prompts,
    input: &RedactedInput,
    max_tokens: usize,
) -> Result<FittedPrompt, BudgetError> {
    let material = Material::gather(bpe, input, max_tokens);
    let base_vars = base_vars(input, &material);
    let base = render_counted(bpe, prompts, &base_vars)?;
    if base.tokens > max_tokens {
        return Err(BudgetError::TooSmall {
            base_tokens: base.tokens,
            budget: max_tokens,
        });
    }
    let free = max_tokens.saturating_sub(base.tokens + SAFETY_MARGIN);
    let wants = [
        material.digest_costs.iter().sum(),
        count(bpe, &material.description),
        material.similar_costs.iter().sum(),
        material.catalogue_costs.iter().sum(),
    ];
    let mut grants = allocate(free, wants, SHARES);
    for _ in 0..MAX_SHRINK_ROUNDS {
        let vars = material.vars(bpe, &base_vars, grants);
        let fitted = render_counted(bpe, prompts, &vars)?;
        if fitted.tokens <= max_tokens {
            return Ok(fitted);
        }
        let overflow = fitted.tokens - max_tokens + SAFETY_MARGIN;
        let biggest = (0..grants.len()).max_by_key(|&i| grants[i]).unwrap_or(0);
        grants[biggest] = grants[biggest].saturating_sub(overflow);
    }
    Ok(base)
}

/// Splits `free` tokens between parts wanting `wants`: each first gets up to its share, then
/// what is left goes to the parts in order until they are satisfied.
pub fn allocate(free: usize, wants: [usize; 4], shares: [f64; 4]) -> [usize; 4] {
    let mut grants = [0usize; 4];
    for i in 0..4 {
        let share = (free as f64 * shares[i]).floor() as usize;
        grants[i] = wants[i].min(share);
    }
    let mut left = free.saturating_sub(grants.iter().sum());
    for i in 0..4 {
        let extra = (wants[i] - grants[i]).min(left);
        grants[i] += extra;
        left -= extra;
    }
    grants
}

fn render_counted(
    bpe: &CoreBPE,
    prompts: &Prompts,
    vars: &TriageVars,
) -> Result<FittedPrompt, PromptError> {
    let prompt = prompts.render_triage(vars)?;
    let tokens = count(bpe, &prompt.system) + count(bpe, &prompt.user);
    Ok(FittedPrompt { prompt, tokens })
}

/// Returns `text` cut to `max_bytes`, marking a cut with an ellipsis.
fn clipped(text: &str, max_bytes: usize) -> String {
    let kept = clip_bytes(text, max_bytes);
    if kept.len() == text.len() {
        text.to_owned()
    } else {
        format!("{kept}…")
    }
}

/// The prompt with every optional part emptied: the smallest prompt there is.
fn base_vars(input: &RedactedInput, material: &Material) -> TriageVars {
    let input = input.get();
    TriageVars {
        ticket_id: clipped(input.ticket_id.trim(), TICKET_ID_MAX_BYTES),
        title: clipped(input.title.trim(), TITLE_MAX_BYTES),
        description: String::new(),
        description_truncated: !material.description.is_empty(),
        digest_lines: Vec::new(),
        digest_omitted: material.digest_total,
        similar: Vec::new(),
        similar_omitted: material.similar.len(),
        catalogue: Vec::new(),
        catalogue_more: material.catalogue.len(),
        levels: input.levels.clone(),
    }
}

/// Returns how many leading items fit in `grant` tokens.
fn prefix_within(costs: &[usize], grant: usize) -> usize {
    let mut used = 0;
    costs
        .iter()
        .take_while(|&&cost| {
            used += cost;
            used <= grant
        })
        .count()
}

impl Material {
    fn gather(bpe: &CoreBPE, input: &RedactedInput, max_tokens: usize) -> Self {
        let input = input.get();
        let look_at = max_tokens.saturating_mul(BYTES_PER_TOKEN_LOOKED_AT);

        let description = input.description.trim();
        let description_head = clip_bytes(description, look_at);

        let mut digest_lines = Vec::new();
        let mut digest_total = 0;
        let mut digest_bytes = 0;
        for line in input.digest.lines().filter(|l| !l.trim().is_empty()) {
            digest_total += 1;
            if digest_bytes < look_at {
                let line = clipped(line.trim_end(), DIGEST_LINE_MAX_BYTES);
                digest_bytes += line.len() + 1;
                digest_lines.push(line);
            }
        }
        let digest_costs = digest_lines.iter().map(|l| count(bpe, l) + 1).collect();

        let similar: Vec<SimilarVars> = input.similar.iter().map(similar_vars).collect();
        let similar_costs = similar
            .iter()
            .map(|c| {
                let line = format!(
                    "- {} (similarity {}): \"{}\"; service group: {}; priority: {}; resolution: {}\n",
                    c.case_id, c.score, c.title, c.service_group, c.priority, c.resolution
                );
                count(bpe, &line)
            })
            .collect();

        let catalogue = catalogue_order(input);
        let catalogue_costs = catalogue
            .iter()
            .map(|g| count(bpe, &format!("- {g}\n")))
            .collect();

        Self {
            description: description_head.to_owned(),
            description_cut: description_head.len() < description.len(),
            digest_lines,
            digest_total,
            digest_costs,
            similar,
            similar_costs,
            catalogue,
            catalogue_costs,
        }
    }

    /// Builds the variables with each part cut to its grant (digest, description, similar,
    /// catalogue).
    fn vars(&self, bpe: &CoreBPE, base: &TriageVars, grants: [usize; 4]) -> TriageVars {
        let digest_kept = prefix_within(&self.digest_costs, grants[0]);
        let (description, token_cut) = head(bpe, &self.description, grants[1]);
        let similar_kept = prefix_within(&self.similar_costs, grants[2]);
        let catalogue_kept = prefix_within(&self.catalogue_costs, grants[3]);
        TriageVars {
            description,
            description_truncated: token_cut || self.description_cut,
            digest_lines: self.digest_lines[..digest_kept].to_vec(),
            digest_omitted: self.digest_total - digest_kept,
            similar: self.similar[..similar_kept].to_vec(),
            similar_omitted: self.similar.len() - similar_kept,
            catalogue: self.catalogue[..catalogue_kept].to_vec(),
            catalogue_more: self.catalogue.len() - catalogue_kept,
            ..base.clone()
        }
    }
}

fn similar_vars(case: &super::input::SimilarCase) -> SimilarVars {
    let or_none = |value: &Option<String>, max: usize| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or_else(|| "none".to_owned(), |v| clipped(v, max))
    };
    SimilarVars {
        case_id: clipped(case.case_id.trim(), CASE_FIELD_MAX_BYTES),
        title: clipped(case.title.trim(), CASE_TITLE_MAX_BYTES),
        service_group: or_none(&case.service_group, CASE_FIELD_MAX_BYTES),
        priority: or_none(&case.priority, CASE_FIELD_MAX_BYTES),
        resolution: or_none(&case.resolution, CASE_RESOLUTION_MAX_BYTES),
        score: format!("{:.2}", case.score),
    }
}

/// Returns the catalogue in display order: the groups of similar cases first (the likeliest
/// answers), then the rest in catalogue order. "unknown" is always shown by the template.
fn catalogue_order(input: &super::input::TriageInput) -> Vec<String> {
    let mut rest = allowed_groups(&input.catalogue);
    rest.pop(); // "unknown"
    let mut ordered: Vec<String> = Vec::with_capacity(rest.len());
    for group in input
        .similar
        .iter()
        .filter_map(|c| c.service_group.as_deref())
    {
        if let Some(pos) = rest.iter().position(|g| g == group.trim()) {
            ordered.push(rest.remove(pos));
        }
    }
    ordered.extend(rest);
    ordered
        .into_iter()
        .map(|g| clipped(&g, GROUP_MAX_BYTES))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::llm::input::{SimilarCase, TriageInput};
    use crate::llm::redact::{RedactFn, redact_input};
    use crate::llm::tokens::tokenizer;

    fn identity() -> RedactFn {
        Arc::new(|text: &str| text.to_owned())
    }

    fn levels() -> Vec<String> {
        ["high", "medium", "low"].map(str::to_owned).to_vec()
    }

    fn huge_input() -> TriageInput {
        let description = "The VPN gateway drops every session after login. ".repeat(21_000);
        assert!(description.len() >= 1_000_000);
        let digest = (0..20_000)
            .map(|i| {
                format!(
                    "ERROR L{}–L{} ×{} Connection to <*> refused on host-{i}",
                    i * 10,
                    i * 10 + 9,
                    i % 97
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        TriageInput {
            ticket_id: "T-42".to_owned(),
            title: "VPN down for everyone".to_owned(),
            description,
            digest,
            similar: (0..5)
                .map(|i| SimilarCase {
                    case_id: format!("C-{i}"),
                    title: format!("VPN outage number {i}"),
                    service_group: Some(format!("Group {}", 400 + i)),
                    priority: Some("P2".to_owned()),
                    resolution: Some("Restarted the gateway and rotated certificates. ".repeat(20)),
                    score: 0.9 - i as f32 * 0.1,
                })
                .collect(),
            catalogue: (0..500).map(|i| format!("Group {i}")).collect(),
            levels: levels(),
        }
    }

    #[test]
    fn allocation_respects_shares_then_hands_out_leftovers_in_order() {
        assert_eq!(allocate(1000, [10, 10, 10, 10], SHARES), [10, 10, 10, 10]);
        assert_eq!(
            allocate(1000, [5000, 100, 0, 5000], SHARES),
            [700, 100, 0, 200]
        );
        assert_eq!(
            allocate(1000, [5000, 5000, 5000, 5000], SHARES),
            [400, 250, 150, 200]
        );
        assert_eq!(allocate(0, [5, 5, 5, 5], SHARES), [0, 0, 0, 0]);
    }

    #[test]
    fn a_huge_ticket_fits_in_2000_tokens() {
        let bpe = tokenizer().expect("cl100k");
        let prompts = Prompts::load(None).expect("prompts");
        let input = redact_input(&huge_input(), &identity());
        let fitted = fit_prompt(bpe, &prompts, &input, 2000).expect("fits");
        let counted = count(bpe, &fitted.prompt.system) + count(bpe, &fitted.prompt.user);
        assert_eq!(fitted.tokens, counted);
        assert!(counted <= 2000, "{counted} tokens");
        let user = &fitted.prompt.user;
        // Every part is still represented, cut from its end.
        assert!(user.contains("The VPN gateway drops every session"));
        assert!(user.contains("[the description was cut here"));
        assert!(user.contains("ERROR L0–L9 ×0"));
        assert!(user.contains("more digest lines omitted"));
        assert!(user.contains("C-0 (similarity 0.90)"));
        assert!(user.contains("- … "));
        // Neighbours' groups are shown before the rest of the catalogue.
        let neighbour = user.find("- Group 400\n").expect("neighbour group shown");
        let first_other = user.find("- Group 0\n").expect("catalogue shown");
        assert!(neighbour < first_other);
        // The budget was used, not just the bare minimum.
        assert!(counted > 1500, "{counted} tokens");
    }

    #[test]
    fn a_small_ticket_is_sent_whole() {
        let bpe = tokenizer().expect("cl100k");
        let prompts = Prompts::load(None).expect("prompts");
        let input = TriageInput {
            ticket_id: "T-1".to_owned(),
            title: "Printer jam".to_owned(),
            description: "Paper jam on floor 2.".to_owned(),
            digest: String::new(),
            catalogue: vec!["Facilities".to_owned()],
            levels: levels(),
            ..TriageInput::default()
        };
        let fitted =
            fit_prompt(bpe, &prompts, &redact_input(&input, &identity()), 2000).expect("fits");
        assert!(fitted.prompt.user.contains("Paper jam on floor 2."));
        assert!(!fitted.prompt.user.contains("cut here"));
        assert!(fitted.prompt.user.contains("(no logs attached)"));
        assert!(fitted.prompt.user.contains("- Facilities"));
    }

    #[test]
    fn a_budget_below_the_fixed_text_is_an_error() {
        let bpe = tokenizer().expect("cl100k");
        let prompts = Prompts::load(None).expect("prompts");
        let input = redact_input(&huge_input(), &identity());
        let err = fit_prompt(bpe, &prompts, &input, 100).expect_err("too small");
        assert!(matches!(err, BudgetError::TooSmall { budget: 100, .. }));
    }

    #[test]
    fn tight_budgets_still_fit() {
        let bpe = tokenizer().expect("cl100k");
        let prompts = Prompts::load(None).expect("prompts");
        let input = redact_input(&huge_input(), &identity());
        for budget in [800, 1000, 1200, 4000] {
            let fitted = fit_prompt(bpe, &prompts, &input, budget).expect("fits");
            assert!(fitted.tokens <= budget, "{} > {budget}", fitted.tokens);
        }
    }
}
