//! Any text through the redactor: no panic, and redacting the result again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triagegate::digest::redact::{RedactionCounts, RedactionOptions, shared};

fuzz_target!(|text: &str| {
    let redactor = shared(RedactionOptions::default());
    let mut counts = RedactionCounts::default();
    let once = redactor.redact(text, &mut counts).into_owned();
    let mut again = RedactionCounts::default();
    let twice = redactor.redact(&once, &mut again);
    assert_eq!(once, twice, "redaction is idempotent");
    assert_eq!(again.total(), 0);
});
