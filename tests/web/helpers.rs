//! A browser without JavaScript: reads the sign-in form, posts it, and carries cookies by hand
//! so each test can look at exactly what the server set.
#![allow(dead_code)] // page tests use different parts

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::support::{PASSWORD, TestApp};

/// The sign-in form as served: its CSRF cookie and the token in its hidden field.
pub struct LoginForm {
    pub csrf_cookie: String,
    pub csrf_field: String,
    pub body: String,
}

/// A signed-in browser: the session cookie's value and the session's CSRF token.
pub struct SignedIn {
    pub session: String,
    pub csrf: String,
}

impl SignedIn {
    pub fn cookie(&self) -> String {
        format!("tg_session={}", self.session)
    }
}

/// Returns every `Set-Cookie` header of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii cookie").to_string())
        .collect()
}

/// The `Set-Cookie` header that sets `name`, if any.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` header gives its cookie.
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().expect("a pair");
    pair.split_once('=').expect("name=value").1.to_string()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("ascii")
        .to_string()
}

/// Reads the `value` of the form field called `name` out of a page (the first such field).
pub fn field_value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {body}"));
    let tag_start = body[..at].rfind('<').expect("inside a tag");
    let tag_end = body[at..].find('>').expect("tag closes") + at;
    let tag = &body[tag_start..tag_end];
    let start = tag.find("value=\"").expect("a value attribute") + "value=\"".len();
    let end = tag[start..].find('"').expect("closing quote") + start;
    tag[start..end].to_string()
}

/// GET `path` with `cookie` (e.g. `tg_session=…`) if given.
pub async fn get_page(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.expect("request")
}

/// POST a form to `path` with `cookie` if given.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).form(fields);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.expect("request")
}

/// GETs the sign-in form (with `?next=` if given).
pub async fn login_form(app: &TestApp, next: Option<&str>) -> LoginForm {
    let mut request = app.client.get(app.url("/login"));
    if let Some(next) = next {
        request = request.query(&[("next", next)]);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    let csrf_cookie =
        cookie_value(&set_cookie(&response, "tg_csrf").expect("the form sets a CSRF cookie"));
    let body = response.text().await.expect("body");
    LoginForm {
        csrf_field: field_value(&body, "csrf_token"),
        csrf_cookie,
        body,
    }
}

/// Fills in and posts the sign-in form as a browser would.
pub async fn submit_login(
    app: &TestApp,
    name: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let form = login_form(app, None).await;
    post_form(
        app,
        "/login",
        Some(&format!("tg_csrf={}", form.csrf_cookie)),
        &[
            ("name", name),
            ("password", password),
            ("csrf_token", &form.csrf_field),
            ("next", next),
        ],
    )
    .await
}

/// Signs `name` in with the seeded password and returns the session.
pub async fn sign_in(app: &TestApp, name: &str) -> SignedIn {
    let response = submit_login(app, name, PASSWORD, "/").await;
    assert_eq!(response.status(), 303, "signing in {name}");
    let session = cookie_value(&set_cookie(&response, "tg_session").expect("a session cookie"));
    let stored = app
        .store
        .session(&triagegate::auth::hash_token(&session))
        .await
        .expect("store")
        .expect("the session is stored");
    SignedIn {
        session,
        csrf: stored.csrf_token,
    }
}

/// Asserts the security headers every page carries.
pub fn assert_security_headers(response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} on {}", response.url()))
            .to_str()
            .expect("ascii")
            .to_string()
    };
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(!header("cache-control").is_empty());
}

/// Asserts the whole audit chain still verifies.
pub async fn assert_audit_chain_intact(app: &TestApp) {
    let report = triagegate::store::verify_audit_chain(app.store.as_ref())
        .await
        .expect("walk the chain");
    assert!(report.ok, "audit chain broken: {report:?}");
}

/// The actions of the audit events about the user called `name`, oldest first.
pub async fn user_audit_actions(app: &TestApp, name: &str) -> Vec<String> {
    let user = app.store.user_by_name(name).await.expect("user");
    app.store
        .audit_events_for("user", &user.id.0.to_string())
        .await
        .expect("events")
        .into_iter()
        .map(|event| event.action)
        .collect()
}
