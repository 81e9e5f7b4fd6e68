//! Any bytes, as a log: the digest must neither panic nor lose count of a line, and its
//! rendering must stay within budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triagegate::digest::input::InputLimits;
use triagegate::digest::miner::MinerConfig;
use triagegate::digest::render::count_tokens;
use triagegate::digest::{DigestOptions, digest_bytes};

fuzz_target!(|data: &[u8]| {
    let options = DigestOptions {
        // Small bounds so eviction, cut lines and the input cap are reached often.
        miner: MinerConfig {
            max_clusters: 8,
            max_cached_lines: 4,
            max_tokens: 16,
            ..MinerConfig::default()
        },
        input: InputLimits {
            max_line_bytes: 256,
            max_input_bytes: 1 << 20,
        },
        ..DigestOptions::default()
    };
    let Ok(digest) = digest_bytes(data, options) else {
        return;
    };
    let counted: u64 = digest.templates.iter().map(|t| t.count).sum();
    let accounted = counted
        + digest.skipped.empty_lines
        + digest.skipped.continuation_lines
        + digest.skipped.evicted_lines;
    assert_eq!(accounted, digest.lines, "every line is in a template or counted as skipped");
    for budget in [0, 7, 64] {
        assert!(count_tokens(&digest.render(budget)) <= budget);
    }
});
