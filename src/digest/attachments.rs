//! The log evidence of a ticket: each attachment digested into templates. The templates feed the
//! similar-case index and query and the rules; the digest text is what people (and later the
//! model) read.

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
    pub digests: Vec<Digest>,
}

impl LogEvidence {
    /// Digests each attachment given with its content; runs on a blocking thread.
    pub fn from_attachments(files: &[(AttachmentMeta, Vec<u8>)], options: DigestOptions) -> Self {
        let mut evidence = Self::default();
        for (meta, content) in files {
            let mut summary = AttachmentDigest {
                attachment_id: meta.id.0,
                name: meta.name.clone(),
                lines: 0,
                templates: 0,
                skipped: None,
            };
            if !is_log_like(meta) {
                summary.skipped = Some(format!("{} is not a log", meta.media_type));
            } else {
                match digest_bytes(content, options) {
                    Ok(digest) => {
                        summary.lines = digest.lines;
                        summary.templates = digest.templates.len();
                        evidence.digests.push(digest);
                    }
                    Err(err) => summary.skipped = Some(err.to_string()),
                }
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
