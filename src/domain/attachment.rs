//! Attachments: the logs and files sent with a ticket. They are stored byte for byte as they
//! came (binary or not); only text derived from them is ever decoded, lossily.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::FieldError;

pub const NAME_MAX_CHARS: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AttachmentId(pub Uuid);

/// An attachment ready to be stored.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: AttachmentId,
    pub name: String,
    pub media_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

impl NewAttachment {
    /// Checks the file name and media type; sniffs the type when none was given.
    pub fn new(name: &str, media_type: Option<&str>, content: Vec<u8>) -> Result<Self, FieldError> {
        let name = check_file_name(name)?;
        let media_type = match media_type.map(str::trim).filter(|m| !m.is_empty()) {
            Some(given) if is_media_type(given) => given.to_ascii_lowercase(),
            Some(given) => {
                return Err(FieldError::new(
                    "attachments.media_type",
                    format!(
                        "{:?} is not a media type such as text/plain",
                        super::tenant::truncate_for_message(given)
                    ),
                ));
            }
            None => sniff_media_type(&content).to_string(),
        };
        Ok(Self {
            id: AttachmentId(Uuid::now_v7()),
            name,
            media_type,
            sha256: hex::encode(Sha256::digest(&content)),
            content,
        })
    }
}

impl NewAttachment {
    /// The metadata of this attachment once stored at `created_at`.
    pub fn meta(&self, created_at: DateTime<Utc>) -> AttachmentMeta {
        AttachmentMeta {
            id: self.id,
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: self.content.len() as i64,
            sha256: self.sha256.clone(),
            created_at,
        }
    }
}

/// What is shown about an attachment without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentMeta {
    pub id: AttachmentId,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// An attachment with its bytes.
#[derive(Debug, Clone)]
pub struct AttachmentContent {
    pub meta: AttachmentMeta,
    pub content: Vec<u8>,
}

impl AttachmentContent {
    /// The content as text: invalid UTF-8 becomes U+FFFD, so binary logs can still be read.
    pub fn lossy_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.content)
    }
}

fn check_file_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let field = "attachments.name";
    if name.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("is longer than {NAME_MAX_CHARS} characters"),
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            field,
            "must be a plain file name without path separators or control characters",
        ));
    }
    Ok(name.to_string())
}

/// Accepts `type/subtype` with optional parameters, as RFC 6838 tokens.
fn is_media_type(raw: &str) -> bool {
    let essence = raw.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    token(kind) && token(subtype) && raw.len() <= 255 && !raw.chars().any(char::is_control)
}

/// Guesses a media type from the first bytes: gzip, plain UTF-8 text, or opaque bytes.
pub fn sniff_media_type(content: &[u8]) -> &'static str {
    if content.starts_with(&[0x1f, 0x8b]) {
        return "application/gzip";
    }
    let head = &content[..content.len().min(8192)];
    let text_like = !head.contains(&0) && utf8_prefix_valid(head);
    if text_like {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// Whether `bytes` is UTF-8 except perhaps for a character cut at the end.
fn utf8_prefix_valid(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_file_names() {
        assert!(NewAttachment::new("app.log", None, vec![]).is_ok());
        for bad in ["", "../etc/passwd", "a/b.log", "a\\b", "..", "a\u{7}b"] {
            assert!(NewAttachment::new(bad, None, vec![]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_types_are_sniffed_when_missing() {
        let text = NewAttachment::new("a.log", None, b"hello\n".to_vec()).expect("ok");
        assert_eq!(text.media_type, "text/plain");
        let binary = NewAttachment::new("a.bin", None, vec![0, 159, 146, 150]).expect("ok");
        assert_eq!(binary.media_type, "application/octet-stream");
        let latin1 = NewAttachment::new("a.log", None, vec![b'a', 0xe9, b'b']).expect("ok");
        assert_eq!(latin1.media_type, "application/octet-stream");
        let gz = NewAttachment::new("a.gz", None, vec![0x1f, 0x8b, 8]).expect("ok");
        assert_eq!(gz.media_type, "application/gzip");
        let given = NewAttachment::new("a", Some("Text/Plain; charset=utf-8"), vec![]).expect("ok");
        assert_eq!(given.media_type, "text/plain; charset=utf-8");
        assert!(NewAttachment::new("a", Some("not a type"), vec![]).is_err());
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_bytes() {
        let a = NewAttachment::new("a", None, b"abc".to_vec()).expect("ok");
        assert_eq!(
            a.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
