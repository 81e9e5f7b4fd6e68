//! Reading the `Cookie` header and writing `Set-Cookie`. Our cookies hold base64url tokens
//! only, so no value needs quoting or escaping.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use chrono::TimeDelta;

/// Returns the value of the first cookie called `name` across all `Cookie` headers.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// How long a cookie lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until the browser closes.
    Browser,
    /// For this long.
    For(TimeDelta),
    /// Removed at once.
    Remove,
}

/// Builds a `Set-Cookie` value: always HttpOnly and SameSite=Strict on `/`, so scripts cannot
/// read it and no other site's page can send it; `Secure` when configured.
pub fn set(name: &str, value: &str, lifetime: Lifetime, secure: bool) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    match lifetime {
        Lifetime::Browser => {}
        Lifetime::For(age) => text.push_str(&format!("; Max-Age={}", age.num_seconds().max(0))),
        Lifetime::Remove => text.push_str("; Max-Age=0"),
    }
    if secure {
        text.push_str("; Secure");
    }
    // Names are our constants and values base64url tokens: always a valid header value. Should
    // that ever break, an empty cookie is harmless where a panic is not.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a cookie value looks like a token we issued: base64url of sane length. Anything else
/// is refused before it reaches a hash or the store.
pub fn plausible_token(value: &str) -> bool {
    (20..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; tg_csrf=abc"));
        headers.append(COOKIE, HeaderValue::from_static("tg_session=\"xyz\""));
        assert_eq!(get(&headers, "tg_csrf"), Some("abc"));
        assert_eq!(get(&headers, "tg_session"), Some("xyz"));
        assert_eq!(get(&headers, "tg"), None);
    }

    #[test]
    fn set_cookie_carries_the_flags() {
        let plain = set("tg_session", "v", Lifetime::For(TimeDelta::hours(1)), false);
        assert_eq!(
            plain,
            "tg_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
        );
        let secure = set("tg_csrf", "v", Lifetime::Browser, true);
        assert_eq!(
            secure,
            "tg_csrf=v; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(
            set("x", "", Lifetime::Remove, false)
                .to_str()
                .is_ok_and(|v| v.contains("Max-Age=0"))
        );
    }

    #[test]
    fn only_token_shaped_values_are_plausible() {
        assert!(plausible_token(&crate::auth::generate_token()));
        assert!(!plausible_token("short"));
        assert!(!plausible_token("tg_aaaaaaaaaaaaaaaaaaaaaaaa;bbbb"));
    }
}
