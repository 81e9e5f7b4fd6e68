//! Cross-site request forgery checks. Before sign-in the token is a double-submit cookie
//! (`tg_csrf`) that the form must repeat; after sign-in it is the session's own token, kept in
//! the store. SameSite=Strict cookies already stop most forgeries; the token also covers
//! browsers and proxies that ignore SameSite. Comparisons run in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::error::WebError;
use super::session::WebUser;

/// The double-submit cookie of the sign-in form.
pub const CSRF_COOKIE: &str = "tg_csrf";

/// Returns a new random token (256 bits, base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `submitted` equals `expected`, in time independent of where they differ; an empty
/// expected token never matches.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

impl WebUser {
    /// Checks the `csrf_token` field of a submitted form against this session's token; a
    /// mismatch is a 403 page. Call it first in every POST handler, before any write.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if tokens_match(&self.csrf, submitted) {
            Ok(())
        } else {
            Err(WebError::CsrfMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_themselves() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert!(tokens_match(&token, &token.clone()));
        assert!(!tokens_match(&token, &new_token()));
        assert!(!tokens_match(&token, ""));
        assert!(!tokens_match("", ""));
    }
}
