//! Generic masking of variable parts in a log token: numbers, hex, IPs, UUIDs, timestamps, paths,
//! URLs, e-mail addresses and key=value values become `<*>`. One rule set for every log; nothing
//! here knows any particular system. Runs once per token on the hot path, so it scans bytes and
//! writes into a caller's buffer without allocating.

/// The wildcard written for a masked value, as in the Loghub ground truth.
pub const WILDCARD: &str = "<*>";

/// Characters that split a token into separately masked pieces: `src=/10.0.0.1:50010` keeps
/// its shape as `src=/<*>:<*>`.
const fn is_piece_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b':' | b'='
            | b'/'
            | b','
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'|'
            | b'"'
            | b'\''
            | b';'
            | b'<'
            | b'>'
    )
}

const DIGIT: u8 = 1;
/// Characters of whole-value shapes: e-mail, URL, path, time, IPv6.
const SPECIAL: u8 = 2;
const EQUALS: u8 = 4;
const DELIMITER: u8 = 8;
const HEX: u8 = 16;
const ANGLE: u8 = 32;

/// Byte classes for the one-pass scan of `mask_token`.
const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let mut class = 0;
        if byte.is_ascii_digit() {
            class |= DIGIT | HEX;
        }
        if matches!(byte, b'a'..=b'f' | b'A'..=b'F') {
            class |= HEX;
        }
        if matches!(byte, b'@' | b'/' | b'\\' | b':') {
            class |= SPECIAL;
        }
        if byte == b'=' {
            class |= EQUALS;
        }
        if byte == b'<' {
            class |= ANGLE;
        }
        if is_piece_delimiter(byte) {
            class |= DELIMITER;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Appends the masked form of `token` to `out`; returns whether anything was masked.
pub fn mask_token(token: &str, out: &mut String) -> bool {
    // One scan classifies the token, so most tokens take no second look: words are copied as
    // they are, and only tokens with the right characters are tried against the whole-value
    // shapes or split into pieces. A table lookup per byte keeps the scan branch-free.
    let bytes = token.as_bytes();
    let (mut any, mut every) = (0u8, u8::MAX);
    for &b in bytes {
        let class = CLASSES[b as usize];
        any |= class;
        every &= class;
    }
    let long_hex = every & HEX != 0 && bytes.len() >= 16;
    if any & (DIGIT | SPECIAL | EQUALS | ANGLE) == 0 && !long_hex {
        out.push_str(token);
        return false;
    }
    let specials = any & SPECIAL != 0;
    let equals = any & EQUALS != 0;
    let delimiters = any & DELIMITER != 0;
    if token == WILDCARD {
        out.push_str(WILDCARD);
        return true;
    }
    if specials && is_whole_variable(token) {
        out.push_str(WILDCARD);
        return true;
    }
    if !equals && !delimiters {
        return mask_piece(token, out);
    }
    // key=value: the value is variable whatever it looks like (`tty=NODEVssh`, `user=root`).
    if let Some(eq) = bytes.iter().position(|&b| b == b'=').filter(|_| equals) {
        let key = &token[..eq];
        if eq > 0 && is_key(key) && eq + 1 < bytes.len() {
            // Quotes and a trailing comma frame the value rather than belong to it.
            let value = &token[eq + 1..];
            let framed = value.trim_end_matches([',', ';']);
            let trailing = &value[framed.len()..];
            let quote = framed
                .chars()
                .next()
                .filter(|q| matches!(q, '"' | '\'') && framed.len() >= 2 && framed.ends_with(*q));
            out.push_str(key);
            out.push('=');
            if let Some(q) = quote {
                out.push(q);
                out.push_str(WILDCARD);
                out.push(q);
            } else {
                out.push_str(WILDCARD);
            }
            out.push_str(trailing);
            return true;
        }
    }
    let mut masked = false;
    let mut start = 0;
    // `/10.0.0.1:50010`: the slash before an address is part of the value.
    let absorb_slash = bytes.len() > 1 && bytes[0] == b'/' && bytes[1].is_ascii_digit();
    if absorb_slash {
        start = 1;
    }
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if is_piece_delimiter(b) {
            masked |= mask_piece(&token[start..i], out);
            out.push(b as char);
            start = i + 1;
        }
    }
    masked |= mask_piece(&token[start..], out);
    masked
}

/// Masks a piece between delimiters: its alphanumeric core becomes `<*>` when it holds a
/// value; punctuation around the core is kept (`22.` → `<*>.`), and a word prefix before a dot
/// stays (`core.1234` → `core.<*>`).
fn mask_piece(piece: &str, out: &mut String) -> bool {
    let bytes = piece.as_bytes();
    let Some(core_start) = bytes
        .iter()
        .position(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
    else {
        out.push_str(piece);
        return false;
    };
    let core_end = bytes
        .iter()
        .rposition(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
        .map_or(core_start, |i| i + 1);
    // A minus sign right before a number belongs to it.
    let core_start =
        if core_start > 0 && bytes[core_start - 1] == b'-' && bytes[core_start].is_ascii_digit() {
            core_start - 1
        } else {
            core_start
        };
    let core = &piece[core_start..core_end];
    if !is_value(core.as_bytes()) {
        out.push_str(piece);
        return false;
    }
    out.push_str(&piece[..core_start]);
    match word_dot_prefix(core) {
        Some(prefix) => {
            out.push_str(prefix);
            out.push_str(WILDCARD);
        }
        None => out.push_str(WILDCARD),
    }
    out.push_str(&piece[core_end..]);
    true
}

/// Whether a core is a value rather than a name: it holds digits (but is not a word with a
/// single digit in it, such as `ssh2` or `jk2_init`), or it is a long hex string.
fn is_value(core: &[u8]) -> bool {
    let (mut digits, mut letters) = (0usize, 0usize);
    for &b in core {
        digits += usize::from(b.is_ascii_digit());
        letters += usize::from(b.is_ascii_alphabetic());
    }
    if digits == 0 {
        return is_long_hex(core);
    }
    let named = digits == 1 && letters >= 2 && core[0].is_ascii_alphabetic();
    !named
}

/// `core.` in `core.1234`: a word and a dot before a numeric rest.
fn word_dot_prefix(core: &str) -> Option<&str> {
    let dot = core.find('.')?;
    let (word, rest) = (&core[..dot], &core[dot + 1..]);
    (word.len() >= 2
        && word.bytes().all(|b| b.is_ascii_alphabetic())
        && rest.bytes().any(|b| b.is_ascii_digit()))
    .then(|| &core[..=dot])
}

fn is_long_hex(core: &[u8]) -> bool {
    core.len() >= 16 && core.iter().all(u8::is_ascii_hexdigit)
}

/// A key in `key=value`: a word of letters, digits, `_`, `-` and `.`, starting with a letter.
fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Tokens that are one value as a whole, however they are punctuated inside. One pass counts
/// what the shapes need, so the common case, a plain word, is rejected at once.
fn is_whole_variable(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.len() < 3 {
        return false;
    }
    let (mut digits, mut colons, mut at, mut slash) = (0usize, 0usize, false, false);
    for &b in bytes {
        match b {
            b'0'..=b'9' => digits += 1,
            b':' => colons += 1,
            b'@' => at = true,
            b'/' | b'\\' => slash = true,
            _ => {}
        }
    }
    if digits == 0 && colons == 0 && !at && !slash {
        return false;
    }
    if slash && colons > 0 && token.contains("://") {
        return true; // URL
    }
    (at && is_email(bytes))
        || (digits >= 4 && colons >= 2 && is_time_like(bytes))
        || (colons >= 2 && is_ipv6(token))
        || (slash && is_path(bytes))
}

fn is_email(bytes: &[u8]) -> bool {
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    !local.is_empty()
        && local
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'%'))
        && domain.contains(&b'.')
        && domain
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

/// Dates and times: digits with `-`, `:`, `.`, `/`, `T`, `Z`, `+` and `,` only, with at least
/// two separators, such as `2026-11-28T10:11:12.123Z`, `10:11:12` or `28/Nov/2026:10:11:12`.
fn is_time_like(bytes: &[u8]) -> bool {
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let separators = bytes
        .iter()
        .filter(|&&b| matches!(b, b'-' | b':' | b'.' | b'/'))
        .count();
    let colons = bytes.iter().filter(|&&b| b == b':').count();
    digits >= 4
        && colons >= 2
        && separators >= 2
        && bytes.iter().all(|&b| {
            b.is_ascii_digit() || matches!(b, b'-' | b':' | b'.' | b'/' | b'T' | b'Z' | b'+' | b',')
        })
}

fn is_ipv6(token: &str) -> bool {
    let trimmed = token.trim_matches(|c| c == '[' || c == ']');
    let colons = trimmed.bytes().filter(|&b| b == b':').count();
    colons >= 2
        && (trimmed.contains("::") || colons == 7)
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        && trimmed.bytes().any(|b| b.is_ascii_hexdigit())
        && trimmed.parse::<std::net::Ipv6Addr>().is_ok()
}

/// An absolute or home-relative path with at least two components: `/var/log/syslog`, `C:\x\y`.
fn is_path(bytes: &[u8]) -> bool {
    let unix = (bytes[0] == b'/' || bytes.starts_with(b"~/"))
        && bytes.iter().filter(|&&b| b == b'/').count() >= 2
        && bytes[1] != b'/';
    let windows =
        bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
    (unix || windows) && !bytes.iter().any(|&b| b == b'=' || b == b'@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(token: &str) -> String {
        let mut out = String::new();
        mask_token(token, &mut out);
        out
    }

    #[test]
    fn numbers_and_ids_become_wildcards_keeping_their_punctuation() {
        assert_eq!(mask("blk_-6952295868487656571"), "<*>");
        assert_eq!(mask("/10.250.19.102:54106"), "<*>:<*>");
        assert_eq!(mask("22."), "<*>.");
        assert_eq!(mask("(pid=1234)"), "(pid=<*>)");
        assert_eq!(mask("-42"), "<*>");
        assert_eq!(mask("0x7fff5fbff8a8"), "<*>");
        assert_eq!(mask("deadbeefdeadbeefdeadbeef"), "<*>");
        assert_eq!(mask("123e4567-e89b-12d3-a456-426614174000"), "<*>");
    }

    #[test]
    fn whole_values_are_one_wildcard() {
        assert_eq!(mask("2026-11-28T10:11:12.123Z"), "<*>");
        assert_eq!(mask("10:11:12"), "<*>");
        assert_eq!(mask("fe80::1ff:fe23:4567:890a"), "<*>");
        assert_eq!(mask("https://example.com/a?b=1"), "<*>");
        assert_eq!(mask("ann@example.com"), "<*>");
        assert_eq!(mask("/var/log/syslog"), "<*>");
        assert_eq!(mask("user=root"), "user=<*>");
        assert_eq!(mask("tag=\"Window\","), "tag=\"<*>\",");
        assert_eq!(mask("/10.0.0.1:50010"), "<*>:<*>");
        assert_eq!(mask("core.1234"), "core.<*>");
        assert_eq!(mask("ssh2"), "ssh2");
        assert_eq!(mask("jk2_init()"), "jk2_init()");
    }

    #[test]
    fn words_stay() {
        for word in [
            "PacketResponder",
            "terminating",
            "dfs.DataNode$PacketResponder:",
            "ERROR",
            "::",
            "/",
            "a=",
            "=",
        ] {
            assert_eq!(mask(word), word, "{word}");
        }
    }
}
