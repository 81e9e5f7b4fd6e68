//! Where to send the browser after signing in, and how to ask for a sign-in. `next` comes from
//! the query string, so it must never leave the site: only local paths are followed.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters escaped in a query value: all but unreserved ones and `/`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Returns `next` if it is a path on this site, else `/`. Refused: anything not starting with
/// one `/` (`//host` and `https://host` leave the site), backslashes (browsers read `/\host` as
/// `//host`), whitespace and controls (browsers drop tabs and newlines, turning `/\t/host` into
/// `//host`), and the sign-in pages themselves.
pub fn local_path(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    let sign_in_page = ["/login", "/logout"]
        .iter()
        .any(|page| next == *page || next.starts_with(&format!("{page}?")));
    if local && !sign_in_page { next } else { "/" }
}

/// The sign-in page that returns to `next` afterwards.
pub fn to_login(next: &str) -> String {
    match local_path(next) {
        "/" => "/login".to_string(),
        path => format!("/login?next={}", utf8_percent_encode(path, QUERY_VALUE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/tickets/1?tab=logs"), "/tickets/1?tab=logs");
        for outside in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "evil.example",
            "javascript:alert(1)",
            "",
            "/login",
            "/login?next=/x",
        ] {
            assert_eq!(local_path(outside), "/", "{outside:?}");
        }
    }

    #[test]
    fn the_login_link_carries_next_encoded() {
        assert_eq!(to_login("/"), "/login");
        assert_eq!(
            to_login("/tickets?stage=new&p=P1"),
            "/login?next=/tickets%3Fstage%3Dnew%26p%3DP1"
        );
        assert_eq!(to_login("//evil.example"), "/login");
    }
}
