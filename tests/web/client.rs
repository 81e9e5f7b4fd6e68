#![allow(dead_code)] // the page bench uses only part of it
//! A signed-in browser stand-in for page tests: signs in through the real login form, keeps the
//! session cookie, and reads the CSRF token from the pages it fetches.

use crate::support::{PASSWORD, TestApp};

pub struct WebClient<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

/// The value of `name="csrf_token" value="..."` in a page, if any.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\"")?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

/// The `name=value` of the cookie `name` set by a response.
pub fn cookie_from(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

impl<'a> WebClient<'a> {
    /// Signs `name` in with the seeded password; panics if the form refuses.
    pub async fn sign_in(app: &'a TestApp, name: &str) -> Self {
        let login = app
            .client
            .get(app.url("/login"))
            .send()
            .await
            .expect("login page");
        let pre_cookie = cookie_from(&login, "tg_csrf").expect("login csrf cookie");
        let html = login.text().await.expect("login html");
        let token = csrf_in(&html).expect("csrf field on the login page");
        let response = app
            .client
            .post(app.url("/login"))
            .header(reqwest::header::COOKIE, &pre_cookie)
            .form(&[
                ("name", name),
                ("password", PASSWORD),
                ("csrf_token", token.as_str()),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 303, "signing in {name}");
        let cookie = cookie_from(&response, "tg_session").expect("session cookie");
        let mut client = Self {
            app,
            cookie,
            csrf: String::new(),
        };
        // The account page, open to every role, carries the session's token in its forms.
        let (status, html) = client.get("/account").await;
        assert_eq!(status, 200, "the account page of {name}");
        client.csrf = csrf_in(&html).expect("the session's CSRF token");
        client
    }

    /// GETs a page; returns the status and body, and keeps any CSRF token it shows.
    pub async fn get(&mut self, path: &str) -> (u16, String) {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .expect("page");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        if let Some(token) = csrf_in(&body) {
            self.csrf = token;
        }
        (status, body)
    }

    /// POSTs a form with the session's CSRF token added; returns the status and body.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", self.csrf.as_str()));
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header(reqwest::header::COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .expect("form");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}
