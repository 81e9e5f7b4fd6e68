//! The log evidence of a ticket: each attachment digested into templates. The templates feed the
//! similar-case index and query and the rules; the digest text is what people (and later the
//! model) read.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::{Digest, DigestOptions, Severity, digest_bytes};
use crate::domain::attachment::AttachmentMeta;

/// Templates of one ticket's logs sent to the similar-case query at most; the errors first.
const QUERY_TEMPLATES: usize = 64;

/// Media types that are never logs; digesting them would only count invalid lines.
fn is_log_like(meta: &AttachmentMeta) -> bool {
    let media = meta.media_type.to_ascii_lowercase();
    !(media.starts_with("image/")
        || media.starts_with("audio/")
        || media.starts_with("video/")
        || media == "application/pdf"
        || media == "application/zip"
        || media.contains("officedocument"))
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentDigest {
    pub attachment_id: uuid::Uuid,
    pub name: String,
    pub lines: u64,
    pub templates: usize,
    /// Why it was not digested (not a log, or unreadable), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogEvidence {
    pub attachments: Vec<AttachmentDigest>,
    /// One per digested attachment, in the order of `attachments` that have no `skipped`.
    pub digests: Vec<Arc<Digest>>,
}

/// What became of one attachment.
#[derive(Debug, Clone)]
pub enum Outcome {
    Digested(Arc<Digest>),
    Skipped(String),
}

/// Digests one attachment, or says why it was not (not a log, unreadable).
pub fn digest_attachment(meta: &AttachmentMeta, content: &[u8], options: DigestOptions) -> Outcome {
    if !is_log_like(meta) {
        return Outcome::Skipped(format!("{} is not a log", meta.media_type));
    }
    match digest_bytes(content, options) {
        Ok(digest) => Outcome::Digested(Arc::new(digest)),
        Err(err) => Outcome::Skipped(err.to_string()),
    }
}

/// Whether an attachment is digested at all (so its content is worth reading).
pub fn is_digestible(meta: &AttachmentMeta) -> bool {
    is_log_like(meta)
}

impl LogEvidence {
    /// Digests each attachment given with its content; runs on a blocking thread.
    pub fn from_attachments(files: &[(AttachmentMeta, Vec<u8>)], options: DigestOptions) -> Self {
        Self::from_outcomes(
            files
                .iter()
                .map(|(meta, content)| (meta.clone(), digest_attachment(meta, content, options)))
                .collect(),
        )
    }

    /// Assembles the evidence from each attachment's outcome, in the attachments' order.
    pub fn from_outcomes(outcomes: Vec<(AttachmentMeta, Outcome)>) -> Self {
        let mut evidence = Self::default();
        for (meta, outcome) in outcomes {
            let mut summary = AttachmentDigest {
                attachment_id: meta.id.0,
                name: meta.name,
                lines: 0,
                templates: 0,
                skipped: None,
            };
            match outcome {
                Outcome::Digested(digest) => {
                    summary.lines = digest.lines;
                    summary.templates = digest.templates.len();
                    evidence.digests.push(digest);
                }
                Outcome::Skipped(reason) => summary.skipped = Some(reason),
            }
            evidence.attachments.push(summary);
        }
        evidence
    }

    /// The templates that best describe the logs: errors before warnings before the rest, then
    /// the most frequent; capped so a huge log cannot blow up the query.
    pub fn query_templates(&self) -> Vec<String> {
        let mut all: Vec<(&str, Severity, u64)> = self
            .digests
            .iter()
            .flat_map(|d| {
                d.templates
                    .iter()
                    .map(|t| (t.template.as_str(), t.severity, t.count))
            })
            .collect();
        all.sort_by(|a, b| {
            severity_rank(b.1)
                .cmp(&severity_rank(a.1))
                .then(b.2.cmp(&a.2))
        });
        all.into_iter()
            .take(QUERY_TEMPLATES)
            .map(|(t, _, _)| t.to_string())
            .collect()
    }
}

fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 4,
        Severity::Error => 3,
        Severity::Warning => 2,
        Severity::Info => 1,
        Severity::Debug => 0,
    }
}

/// Digests of attachments by content hash. Attachments never change, so a digest made once
/// serves every later triage and page view of the ticket; a log whose templates all fall in one
/// group can take the miner half a second, which a page view must not pay each time. Bounded by
/// count, oldest out first.
pub struct DigestCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The digests by content hash, and the hashes oldest first.
#[derive(Default)]
struct Entries {
    by_hash: HashMap<String, Arc<Digest>>,
    order: VecDeque<String>,
}

impl DigestCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, sha256: &str) -> Option<Arc<Digest>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.by_hash.get(sha256).cloned()
    }

    pub fn put(&self, sha256: &str, digest: Arc<Digest>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Entries { by_hash, order } = &mut *entries;
        if by_hash.insert(sha256.to_string(), digest).is_none() {
            order.push_back(sha256.to_string());
        }
        while order.len() > self.capacity {
            if let Some(oldest) = order.pop_front() {
                by_hash.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn digest(text: &str) -> Arc<Digest> {
        Arc::new(digest_bytes(text.as_bytes(), DigestOptions::default()).expect("digest"))
    }

    #[test]
    fn the_cache_keeps_the_newest_entries_up_to_its_capacity() {
        let cache = DigestCache::new(2);
        cache.put("a", digest("one line\n"));
        cache.put("b", digest("two line\n"));
        cache.put("a", digest("one line again\n"));
        assert!(cache.get("a").is_some() && cache.get("b").is_some());
        cache.put("c", digest("three\n"));
        assert!(cache.get("a").is_none(), "the oldest goes first");
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
    }
}
