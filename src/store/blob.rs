//! How attachment content is kept in the store: LZ4-compressed when that saves at least an
//! eighth, as it is stored otherwise. Logs shrink several times over, and on SQLite every 4 KiB
//! a ticket's transaction writes is a WAL frame inside the one write lock, so a compressed log
//! makes the create shorter for every other writer; PostgreSQL then no longer compresses the
//! value again itself. Compression runs before the transaction begins.

use std::borrow::Cow;

use super::Error;

/// How a stored attachment's bytes are encoded (the `attachment.encoding` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes as uploaded.
    Identity,
    /// An LZ4 block (no frame or size prefix: the row's `size_bytes` is the decoded size).
    Lz4,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Lz4 => "lz4",
        }
    }
}

/// Attachment content as it will be stored.
pub struct Stored<'a> {
    pub encoding: Encoding,
    pub bytes: Cow<'a, [u8]>,
}

/// Below this an attachment is stored as is: it fits a page or two either way.
const MIN_COMPRESSED: usize = 1024;

/// Compresses `content` when that saves at least an eighth of it.
pub fn encode(content: &[u8]) -> Stored<'_> {
    if content.len() >= MIN_COMPRESSED {
        let packed = lz4_flex::block::compress(content);
        if packed.len() <= content.len() - content.len() / 8 {
            return Stored {
                encoding: Encoding::Lz4,
                bytes: Cow::Owned(packed),
            };
        }
    }
    Stored {
        encoding: Encoding::Identity,
        bytes: Cow::Borrowed(content),
    }
}

/// The uploaded bytes of a stored attachment of `size` bytes; a row whose bytes do not decode
/// to exactly that size is corrupt.
pub fn decode(
    encoding: &str,
    stored: Vec<u8>,
    size: i64,
    id: &uuid::Uuid,
) -> Result<Vec<u8>, Error> {
    let corrupt = |why: String| Error::Corrupt(format!("attachment {id}: {why}"));
    let size = usize::try_from(size).map_err(|_| corrupt(format!("size {size}")))?;
    let content = match encoding {
        "identity" => stored,
        "lz4" => lz4_flex::block::decompress(&stored, size)
            .map_err(|e| corrupt(format!("lz4 content does not decode: {e}")))?,
        other => return Err(corrupt(format!("unknown encoding {other:?}"))),
    };
    if content.len() != size {
        return Err(corrupt(format!(
            "{} bytes where {size} were stored",
            content.len()
        )));
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: usize) -> Vec<u8> {
        (0..lines)
            .map(|n| format!("2026-12-08T01:{:02}:{:02}Z host-3 sshd[{n}]: Failed password for root from 10.0.{}.{} port {}\n", n / 60 % 60, n % 60, n % 7, n % 250, 40000 + n))
            .collect::<String>()
            .into_bytes()
    }

    fn id() -> uuid::Uuid {
        uuid::Uuid::nil()
    }

    #[test]
    fn a_log_is_stored_compressed_and_reads_back_exactly() {
        let content = log(2_000);
        let stored = encode(&content);
        assert_eq!(stored.encoding, Encoding::Lz4);
        assert!(
            stored.bytes.len() * 3 < content.len(),
            "{} of {}",
            stored.bytes.len(),
            content.len()
        );
        let back = decode(
            "lz4",
            stored.bytes.into_owned(),
            content.len() as i64,
            &id(),
        )
        .expect("decodes");
        assert_eq!(back, content);
    }

    #[test]
    fn incompressible_or_small_content_is_stored_as_is() {
        let mut noise = vec![0u8; 64 * 1024];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for byte in &mut noise {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = (state >> 24) as u8;
        }
        let stored = encode(&noise);
        assert_eq!(stored.encoding, Encoding::Identity);
        assert!(matches!(stored.bytes, Cow::Borrowed(_)));
        let small = b"disk full\n".repeat(20);
        assert_eq!(encode(&small).encoding, Encoding::Identity);
        assert_eq!(
            decode("identity", small.clone(), small.len() as i64, &id()).expect("as is"),
            small
        );
    }

    #[test]
    fn a_row_that_does_not_decode_to_its_size_is_corrupt() {
        let content = log(500);
        let packed = encode(&content).bytes.into_owned();
        let size = content.len() as i64;
        for (encoding, bytes, size) in [
            ("lz4", packed.clone(), size + 1),
            ("lz4", packed.clone(), size - 1),
            ("lz4", packed[..packed.len() / 2].to_vec(), size),
            ("lz4", vec![0xff; 32], size),
            ("identity", content.clone(), size + 1),
            ("zstd", packed.clone(), size),
            ("lz4", packed.clone(), -1),
        ] {
            let err = decode(encoding, bytes, size, &id()).expect_err("corrupt");
            assert!(
                matches!(err, Error::Corrupt(_)),
                "{encoding} {size}: {err:?}"
            );
        }
    }
}
