//! Bookkeeping of one triage call: token usage summed over its calls, the cost estimate, and
//! the size limit on stored model output.

use async_openai::types::chat::CompletionUsage;

/// Largest `raw_output` kept, in bytes.
pub const RAW_OUTPUT_MAX_BYTES: usize = 8 * 1024;

/// Usage collected during a run.
#[derive(Debug, Default)]
pub struct Tally {
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    /// Our cl100k count of the first call's prompt.
    pub estimate: u32,
    pub repair_tried: bool,
}

impl Tally {
    /// Adds a response's usage; responses without usage leave the sums alone.
    pub fn add_usage(&mut self, usage: Option<&CompletionUsage>) {
        if let Some(usage) = usage {
            let add = |sum: Option<u32>, n: u32| Some(sum.unwrap_or(0).saturating_add(n));
            self.prompt_tokens = add(self.prompt_tokens, usage.prompt_tokens);
            self.completion_tokens = add(self.completion_tokens, usage.completion_tokens);
        }
    }
}

/// Returns the longest prefix of `text` that is at most `max_bytes` long and ends on a char
/// boundary.
pub fn clip_bytes(text: &str, max_bytes: usize) -> &str {
    &text[..text.floor_char_boundary(max_bytes)]
}

/// Returns the usage priced per 1000 tokens, or `None` when prices are unknown (both 0) or no
/// usage was reported: a made-up zero would read as "free" in QA reports.
pub fn cost_estimate(
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
    per_1k_prompt: f64,
    per_1k_completion: f64,
) -> Option<f64> {
    if per_1k_prompt <= 0.0 && per_1k_completion <= 0.0 {
        return None;
    }
    if prompt_tokens.is_none() && completion_tokens.is_none() {
        return None;
    }
    let prompt = f64::from(prompt_tokens.unwrap_or(0)) / 1000.0 * per_1k_prompt.max(0.0);
    let completion =
        f64::from(completion_tokens.unwrap_or(0)) / 1000.0 * per_1k_completion.max(0.0);
    Some(prompt + completion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bytes_never_splits_a_character() {
        let text = "aé€"; // 1 + 2 + 3 bytes
        assert_eq!(clip_bytes(text, 2), "a");
        assert_eq!(clip_bytes(text, 3), "aé");
        assert_eq!(clip_bytes(text, 100), text);
    }

    #[test]
    fn cost_is_unknown_without_prices_or_usage() {
        assert_eq!(cost_estimate(Some(1000), Some(1000), 0.0, 0.0), None);
        assert_eq!(cost_estimate(None, None, 1.0, 1.0), None);
        let cost = cost_estimate(Some(2000), Some(500), 0.5, 2.0).expect("priced");
        assert!((cost - 2.0).abs() < 1e-9);
    }

    #[test]
    fn usage_is_summed_over_calls_and_absent_usage_is_not_zero() {
        let mut tally = Tally::default();
        tally.add_usage(None);
        assert_eq!(tally.prompt_tokens, None);
        let usage = CompletionUsage {
            prompt_tokens: 100,
            completion_tokens: 20,
            total_tokens: 120,
            prompt_tokens_details: None,
            completion_tokens_details: None,
        };
        tally.add_usage(Some(&usage));
        tally.add_usage(Some(&usage));
        assert_eq!(
            (tally.prompt_tokens, tally.completion_tokens),
            (Some(200), Some(40))
        );
    }
}
