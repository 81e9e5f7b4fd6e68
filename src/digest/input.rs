//! Reading a log as lines: plain or gzip (detected by its magic bytes), with the decompressed
//! size capped so a gzip bomb stops with a clear error, over-long lines cut at a bound so one
//! 50 MB line costs no more memory than the bound, and CR, CRLF and LF endings all accepted.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Bytes of one line kept; the rest of a longer line is skipped and counted.
    pub max_line_bytes: usize,
    /// Bytes read at most, after decompression.
    pub max_input_bytes: u64,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 16 * 1024,
            max_input_bytes: 4 << 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("the log is larger than {limit} bytes once decompressed; refusing to read further")]
    TooLarge { limit: u64 },
    #[error("reading the log failed: {0}")]
    Io(#[from] io::Error),
}

/// What reading met besides lines.
#[derive(Debug, Clone, Default)]
pub struct InputSummary {
    pub bytes: u64,
    pub gzip: bool,
    /// Lines longer than the bound, cut to it.
    pub truncated_lines: u64,
    /// Problems that ended reading early but left a usable digest, such as a truncated gzip.
    pub warnings: Vec<String>,
}

/// A reader that fails once more than `limit` bytes have come through.
struct Capped<R> {
    inner: R,
    read: u64,
    limit: u64,
}

const CAP_MESSAGE: &str = "triagegate input cap reached";

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(CAP_MESSAGE));
        }
        Ok(n)
    }
}

/// Calls `on_line` with each line, without its ending; cut lines are counted in the summary.
pub fn for_each_line(
    reader: impl Read,
    limits: InputLimits,
    mut on_line: impl FnMut(&[u8]),
) -> Result<InputSummary, InputError> {
    let mut source = BufReader::with_capacity(1 << 18, reader);
    let gzip = source.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut summary = InputSummary {
        gzip,
        ..InputSummary::default()
    };
    let stream: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(source))
    } else {
        Box::new(source)
    };
    let mut lines = BufReader::with_capacity(
        1 << 18,
        Capped {
            inner: stream,
            read: 0,
            limit: limits.max_input_bytes,
        },
    );
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut cut = false;
    loop {
        let chunk = match lines.fill_buf() {
            Ok(chunk) => chunk,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                if err.to_string() == CAP_MESSAGE {
                    return Err(InputError::TooLarge {
                        limit: limits.max_input_bytes,
                    });
                }
                if gzip {
                    // A truncated or corrupt gzip still yields the lines before the damage.
                    summary.warnings.push(format!(
                        "the gzip stream is damaged after {} bytes ({err}); the rest was skipped",
                        summary.bytes
                    ));
                    break;
                }
                return Err(InputError::Io(err));
            }
        };
        if chunk.is_empty() {
            break;
        }
        let (taken, ended) = match memchr::memchr(b'\n', chunk) {
            Some(newline) => (newline + 1, true),
            None => (chunk.len(), false),
        };
        let content = if ended { &chunk[..taken - 1] } else { chunk };
        let room = limits.max_line_bytes.saturating_sub(line.len());
        if content.len() > room {
            line.extend_from_slice(&content[..room]);
            cut = true;
        } else {
            line.extend_from_slice(content);
        }
        summary.bytes += taken as u64;
        lines.consume(taken);
        if ended {
            emit(&mut line, &mut cut, &mut summary, &mut on_line);
        }
    }
    if !line.is_empty() {
        emit(&mut line, &mut cut, &mut summary, &mut on_line);
    }
    Ok(summary)
}

fn emit(
    line: &mut Vec<u8>,
    cut: &mut bool,
    summary: &mut InputSummary,
    on_line: &mut impl FnMut(&[u8]),
) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if *cut {
        summary.truncated_lines += 1;
    }
    on_line(line);
    line.clear();
    *cut = false;
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn collect(
        bytes: &[u8],
        limits: InputLimits,
    ) -> (Vec<Vec<u8>>, Result<InputSummary, InputError>) {
        let mut lines = Vec::new();
        let result = for_each_line(bytes, limits, |line| lines.push(line.to_vec()));
        (lines, result)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish")
    }

    #[test]
    fn any_line_ending_works() {
        let (lines, _) = collect(b"a\r\nb\nc", InputLimits::default());
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let (none, summary) = collect(b"", InputLimits::default());
        assert!(none.is_empty());
        assert_eq!(summary.expect("ok").bytes, 0);
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\nshort\n");
        let limits = InputLimits {
            max_line_bytes: 1000,
            ..InputLimits::default()
        };
        let (lines, summary) = collect(&input, limits);
        assert_eq!(lines[0].len(), 1000);
        assert_eq!(lines[1], b"short");
        assert_eq!(summary.expect("ok").truncated_lines, 1);
    }

    #[test]
    fn gzip_is_read_transparently() {
        let (lines, summary) = collect(&gzip(b"one\ntwo\n"), InputLimits::default());
        assert_eq!(lines, vec![b"one".to_vec(), b"two".to_vec()]);
        assert!(summary.expect("ok").gzip);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![b'a'; 10_000_000]);
        let limits = InputLimits {
            max_input_bytes: 1_000_000,
            ..InputLimits::default()
        };
        let (_, result) = collect(&bomb, limits);
        assert!(
            matches!(result, Err(InputError::TooLarge { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_truncated_gzip_yields_what_came_before_with_a_warning() {
        let whole = gzip(&"line of text\n".repeat(10_000).into_bytes());
        let (lines, summary) = collect(&whole[..whole.len() / 2], InputLimits::default());
        let summary = summary.expect("usable");
        assert!(!lines.is_empty());
        assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    }
}
