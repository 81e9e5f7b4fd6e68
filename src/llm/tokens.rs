//! Token counting with cl100k_base. It is an estimate for non-OpenAI models (llama-server
//! tokenises differently), but a stable one: the budget and the recorded estimate use it.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

static CL100K: OnceLock<CoreBPE> = OnceLock::new();

/// Returns the shared cl100k tokenizer, building it on first use (it takes a moment).
pub fn tokenizer() -> Result<&'static CoreBPE, String> {
    if let Some(bpe) = CL100K.get() {
        return Ok(bpe);
    }
    let bpe = tiktoken_rs::cl100k_base().map_err(|err| err.to_string())?;
    // Losing a race to another thread is fine: both built the same tables.
    Ok(CL100K.get_or_init(|| bpe))
}

/// Counts tokens, treating special-token text such as `<|endoftext|>` as plain text: ticket
/// text must never be able to smuggle control tokens into the count.
pub fn count(bpe: &CoreBPE, text: &str) -> usize {
    bpe.encode_ordinary(text).len()
}

/// Returns the longest prefix of `text` holding at most `max_tokens` tokens, ending on a char
/// boundary, and whether anything was cut.
pub fn head(bpe: &CoreBPE, text: &str, max_tokens: usize) -> (String, bool) {
    let tokens = bpe.encode_ordinary(text);
    if tokens.len() <= max_tokens {
        return (text.to_owned(), false);
    }
    // Tokens are byte sequences whose concatenation is the text, so the decoded prefix length
    // is a byte offset into `text`.
    let prefix_len = bpe
        .decode_bytes(&tokens[..max_tokens])
        .map(|bytes| bytes.len())
        .unwrap_or(0);
    let end = text.floor_char_boundary(prefix_len);
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_keeps_whole_texts_and_cuts_long_ones_on_char_boundaries() {
        let bpe = tokenizer().expect("cl100k loads");
        let (kept, cut) = head(bpe, "short text", 10);
        assert_eq!((kept.as_str(), cut), ("short text", false));
        let long = "héllo wörld ".repeat(100);
        let (kept, cut) = head(bpe, &long, 20);
        assert!(cut);
        assert!(long.starts_with(&kept));
        assert!(count(bpe, &kept) <= 20);
    }

    #[test]
    fn special_token_text_counts_as_plain_text() {
        let bpe = tokenizer().expect("cl100k loads");
        assert!(count(bpe, "<|endoftext|>") > 1);
    }
}
