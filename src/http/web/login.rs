//! Signing in and out. A wrong name, a wrong password and a locked account all get the same
//! answer, in about the same time, so the form tells an attacker nothing about which names
//! exist or which accounts are locked.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::cookie::{self, Lifetime};
use super::csrf::{self, CSRF_COOKIE};
use super::error::WebError;
use super::form::{HtmlForm, HtmlQuery};
use super::layout::Nav;
use super::redirect;
use super::session::{SESSION_COOKIE, WebUser};
use crate::app::AppState;
use crate::auth;
use crate::store::{LockoutPolicy, NewSession, SessionOpened, SignInState};

/// The one message for every refused sign-in.
pub const REFUSED: &str = "The name or password is wrong, or the account is locked for a while.";

/// Longest password checked; longer input is refused without hashing it, so a huge form field
/// cannot make the server hash megabytes.
const MAX_PASSWORD_BYTES: usize = 1024;

/// Longest user name (as `NewUser` allows); longer input is not looked up.
const MAX_NAME_BYTES: usize = 64;

/// An argon2id hash (default parameters) of a random password nobody knows. Names without a
/// password are checked against it, so they take as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$kC9meK2w80Y97qy0XYNujQ$YkK00aWjDaIpoNX/4N2/ruZZowXCn/HgOnClQGp6gIc";

/// `templates/login.html`.
#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub nav: Nav,
    pub csrf_token: String,
    pub next: String,
    /// The name typed before, shown again after a refusal.
    pub name: String,
    pub error: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub next: String,
}

/// A form that carries nothing but its CSRF token, such as sign-out.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// `GET /login`: the form, with a double-submit CSRF cookie (reused if the browser has one).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    HtmlQuery(query): HtmlQuery<LoginQuery>,
) -> Response {
    let token = cookie::get(&headers, CSRF_COOKIE)
        .filter(|token| cookie::plausible_token(token))
        .map_or_else(csrf::new_token, str::to_string);
    let next = redirect::local_path(query.next.as_deref().unwrap_or("/")).to_string();
    let page = LoginPage {
        nav: Nav::signed_out(),
        csrf_token: token.clone(),
        next,
        name: String::new(),
        error: None,
    };
    let mut response = page.into_response();
    response.headers_mut().append(
        SET_COOKIE,
        cookie::set(
            CSRF_COOKIE,
            &token,
            Lifetime::Browser,
            state.config.web.secure_cookies,
        ),
    );
    response
}

/// `POST /login`: checks the CSRF pair, the lock and the password, then opens a session and
/// answers 303 to `next`; otherwise the form again with 401.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> Result<Response, WebError> {
    let cookie_token = cookie::get(&headers, CSRF_COOKIE).unwrap_or_default();
    if !csrf::tokens_match(cookie_token, &form.csrf_token) {
        return Err(WebError::CsrfMismatch);
    }
    let next = redirect::local_path(&form.next).to_string();
    let name = form.name.trim();
    let account = if name.is_empty() || name.len() > MAX_NAME_BYTES {
        None
    } else {
        state.store.sign_in_state(name).await?
    };
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let password_ok = password_matches(form.password, stored_hash).await?;
    let refused = || refused_page(&form.name, &form.csrf_token, &next);
    let Some(account) = account else {
        return Ok(refused());
    };
    if !password_ok {
        let policy = LockoutPolicy {
            max_failed_logins: state.config.web.max_failed_logins,
            lockout: state.config.web.lockout,
        };
        let outcome = state
            .store
            .record_failed_sign_in(account.user_id, &policy)
            .await?;
        tracing::info!(user = ?account.name, ?outcome, "sign-in refused: wrong password");
        return Ok(refused());
    }
    if account.locked_at(crate::domain::now()) {
        tracing::info!(user = ?account.name, "sign-in refused: account locked");
        return Ok(refused());
    }
    match open_session(&state, &account).await? {
        Some(session_cookie) => {
            let secure = state.config.web.secure_cookies;
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.append(SET_COOKIE, session_cookie);
            headers.append(
                SET_COOKIE,
                cookie::set(CSRF_COOKIE, "", Lifetime::Remove, secure),
            );
            Ok(response)
        }
        None => Ok(refused()),
    }
}

/// `POST /logout`: ends the session after checking its CSRF token, then back to the form.
pub async fn logout(
    State(state): State<AppState>,
    web_user: WebUser,
    form: Result<HtmlForm<CsrfForm>, WebError>,
) -> Result<Response, WebError> {
    // A missing or unreadable body is a missing token, not a malformed request.
    let submitted = form.map(|HtmlForm(f)| f.csrf_token).unwrap_or_default();
    web_user.check_csrf(&submitted)?;
    state.store.close_session(&web_user.session_hash).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        SET_COOKIE,
        cookie::set(
            SESSION_COOKIE,
            "",
            Lifetime::Remove,
            state.config.web.secure_cookies,
        ),
    );
    Ok(response)
}

/// Opens a session for `account` and returns its cookie, or `None` if the account was locked
/// meanwhile.
async fn open_session(
    state: &AppState,
    account: &SignInState,
) -> Result<Option<axum::http::HeaderValue>, WebError> {
    let token = auth::generate_token();
    let now = crate::domain::now();
    let ttl = state.config.web.session_ttl;
    let new = NewSession {
        session_hash: auth::hash_token(&token),
        user_id: account.user_id,
        csrf_token: csrf::new_token(),
        created_at: now,
        expires_at: now + ttl,
    };
    match state.store.open_session(&new).await? {
        SessionOpened::Opened => {
            tracing::info!(user = ?account.name, "signed in");
            Ok(Some(cookie::set(
                SESSION_COOKIE,
                &token,
                Lifetime::For(ttl),
                state.config.web.secure_cookies,
            )))
        }
        SessionOpened::Locked { .. } => Ok(None),
    }
}

/// Runs argon2 off the async threads (it takes tens of milliseconds of CPU). Without a stored
/// hash the dummy one is checked, so the answer takes as long either way.
async fn password_matches(password: String, stored: Option<String>) -> Result<bool, WebError> {
    tokio::task::spawn_blocking(move || {
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        let candidate = if too_long { "" } else { password.as_str() };
        let matched = auth::verify_password(candidate, stored.as_deref().unwrap_or(DUMMY_HASH));
        matched && stored.is_some() && !too_long
    })
    .await
    .map_err(WebError::internal)
}

fn refused_page(name: &str, csrf_token: &str, next: &str) -> Response {
    let page = LoginPage {
        nav: Nav::signed_out(),
        csrf_token: csrf_token.to_string(),
        next: next.to_string(),
        name: name.chars().take(MAX_NAME_BYTES * 2).collect(),
        error: Some(REFUSED),
    };
    (StatusCode::UNAUTHORIZED, page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let real = auth::hash_password("anything").expect("hashes");
        let params = |phc: &str| phc.split('$').nth(3).map(str::to_string);
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$"));
        assert!(!auth::verify_password("", DUMMY_HASH));
    }
}
