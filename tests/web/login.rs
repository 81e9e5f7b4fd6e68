//! Signing in and out through the pages: CSRF, wrong passwords, lock-out, cookies, redirects,
//! escaping and security headers.

use crate::helpers::*;
use crate::on_both_backends;
use crate::support::{Backend, PASSWORD, spawn_app, spawn_app_with};

const REFUSED: &str = "The name or password is wrong, or the account is locked for a while.";

on_both_backends!(
    the_login_page_has_a_password_field_and_a_csrf_token,
    signing_in_without_the_right_csrf_token_is_403_and_opens_no_session,
    a_wrong_password_or_unknown_name_is_401_with_one_message_and_no_session,
    the_right_password_redirects_to_next_with_a_strict_http_only_cookie,
    secure_cookies_are_marked_secure_when_configured,
    repeated_wrong_passwords_lock_the_account_even_against_the_right_one,
    a_forged_or_expired_session_cookie_redirects_to_the_login_page,
    signing_out_needs_the_csrf_token_and_ends_the_session,
    next_outside_the_site_redirects_to_the_root,
    a_name_with_markup_is_echoed_escaped,
    every_page_carries_the_security_headers,
);

async fn the_login_page_has_a_password_field_and_a_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.client.get(app.url("/login")).send().await.expect("get");

    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csrf_cookie = set_cookie(&response, "tg_csrf").expect("a CSRF cookie");
    assert!(csrf_cookie.contains("HttpOnly"), "{csrf_cookie}");
    assert!(csrf_cookie.contains("SameSite=Strict"), "{csrf_cookie}");
    let body = response.text().await.expect("body");
    assert!(body.contains(r#"type="password""#), "{body}");
    assert_eq!(field_value(&body, "csrf_token"), cookie_value(&csrf_cookie));
    assert!(!body.contains("<script"), "pages carry no JavaScript");
}

async fn signing_in_without_the_right_csrf_token_is_403_and_opens_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = login_form(&app, None).await;
    let cookie = format!("tg_csrf={}", form.csrf_cookie);
    let credentials = [("name", "ann-l1"), ("password", PASSWORD)];

    let attempts = [
        // No token at all, and no cookie.
        post_form(&app, "/login", None, &credentials).await,
        // The cookie but no field.
        post_form(&app, "/login", Some(&cookie), &credentials).await,
        // The field but a different cookie: a forged form from another site.
        post_form(
            &app,
            "/login",
            Some("tg_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            &[
                ("name", "ann-l1"),
                ("password", PASSWORD),
                ("csrf_token", &form.csrf_field),
            ],
        )
        .await,
        // The field without its cookie.
        post_form(
            &app,
            "/login",
            None,
            &[
                ("name", "ann-l1"),
                ("password", PASSWORD),
                ("csrf_token", &form.csrf_field),
            ],
        )
        .await,
    ];

    for response in attempts {
        assert_eq!(response.status(), 403);
        assert!(set_cookie(&response, "tg_session").is_none());
        assert_security_headers(&response);
        let body = response.text().await.expect("body");
        assert!(body.contains("403"), "an HTML error page: {body}");
    }
    assert_eq!(app.db.count("web_session").await, 0);
}

async fn a_wrong_password_or_unknown_name_is_401_with_one_message_and_no_session(backend: Backend) {
    let app = spawn_app(backend).await;

    let wrong_password = submit_login(&app, "ann-l1", "not the password", "/").await;
    let unknown_name = submit_login(&app, "nobody-here", PASSWORD, "/").await;

    for response in [wrong_password, unknown_name] {
        assert_eq!(response.status(), 401);
        assert!(set_cookie(&response, "tg_session").is_none());
        let body = response.text().await.expect("body");
        assert!(body.contains(REFUSED), "{body}");
        assert!(body.contains(r#"type="password""#), "the form again");
    }
    assert_eq!(app.db.count("web_session").await, 0);
}

async fn the_right_password_redirects_to_next_with_a_strict_http_only_cookie(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = submit_login(&app, "ann-l1", PASSWORD, "/tickets?stage=new").await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/tickets?stage=new");
    let session = set_cookie(&response, "tg_session").expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "not Secure unless configured: {session}"
    );
    let cleared = set_cookie(&response, "tg_csrf").expect("the CSRF cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let cookie = format!("tg_session={}", cookie_value(&session));
    let account = get_page(&app, "/account", Some(&cookie)).await;
    assert_eq!(account.status(), 200);
    let body = account.text().await.expect("body");
    assert!(body.contains("ann-l1"), "{body}");
    assert!(body.contains(r#"action="/logout""#), "{body}");
    assert!(
        !body.contains(r#"href="/approvals""#),
        "an l1 sees no approvals link"
    );
    let stored_hash = triagegate::auth::hash_token(&cookie_value(&session));
    assert!(
        app.store
            .session(&stored_hash)
            .await
            .expect("store")
            .is_some(),
        "the store keeps the token's hash"
    );
    assert_eq!(
        user_audit_actions(&app, "ann-l1")
            .await
            .last()
            .map(String::as_str),
        Some("user.signed_in")
    );
    assert_audit_chain_intact(&app).await;
}

async fn secure_cookies_are_marked_secure_when_configured(backend: Backend) {
    let app = spawn_app_with(backend, &[("TRIAGEGATE_WEB__SECURE_COOKIES", "true")]).await;

    let form = app.client.get(app.url("/login")).send().await.expect("get");
    let signed_in = submit_login(&app, "ann-l1", PASSWORD, "/").await;

    let csrf = set_cookie(&form, "tg_csrf").expect("csrf cookie");
    assert!(csrf.contains("; Secure"), "{csrf}");
    let session = set_cookie(&signed_in, "tg_session").expect("session cookie");
    assert!(session.contains("; Secure"), "{session}");
}

async fn repeated_wrong_passwords_lock_the_account_even_against_the_right_one(backend: Backend) {
    let app = spawn_app_with(backend, &[("TRIAGEGATE_WEB__MAX_FAILED_LOGINS", "3")]).await;

    for _ in 0..3 {
        let response = submit_login(&app, "bob-approver", "guess", "/").await;
        assert_eq!(response.status(), 401);
    }
    let right_password = submit_login(&app, "bob-approver", PASSWORD, "/").await;

    assert_eq!(
        right_password.status(),
        401,
        "locked even with the right password"
    );
    assert!(set_cookie(&right_password, "tg_session").is_none());
    let body = right_password.text().await.expect("body");
    assert!(
        body.contains(REFUSED),
        "the same message as a wrong password"
    );
    let actions = user_audit_actions(&app, "bob-approver").await;
    assert_eq!(
        actions.iter().filter(|a| *a == "user.locked").count(),
        1,
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a == "user.signed_in"),
        "{actions:?}"
    );
    // Another account is not affected.
    assert_eq!(
        submit_login(&app, "ann-l1", PASSWORD, "/").await.status(),
        303
    );

    // An operator setting a new password lifts the lock.
    let hash = triagegate::auth::hash_password("a brand new password").expect("hash");
    app.store
        .set_password("bob-approver", &hash, &triagegate::domain::Actor::cli())
        .await
        .expect("set password");
    let unlocked = submit_login(&app, "bob-approver", "a brand new password", "/").await;
    assert_eq!(unlocked.status(), 303);
    assert_audit_chain_intact(&app).await;
}

async fn a_forged_or_expired_session_cookie_redirects_to_the_login_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let forged = format!("tg_session={}", triagegate::auth::generate_token());
    let expired_token = triagegate::auth::generate_token();
    let user = app
        .store
        .sign_in_state("ann-l1")
        .await
        .expect("store")
        .expect("user");
    let yesterday = triagegate::domain::now() - chrono::TimeDelta::days(1);
    app.store
        .open_session(&triagegate::store::NewSession {
            session_hash: triagegate::auth::hash_token(&expired_token),
            user_id: user.user_id,
            csrf_token: "expired-session-csrf".into(),
            created_at: yesterday - chrono::TimeDelta::hours(12),
            expires_at: yesterday,
        })
        .await
        .expect("open an already expired session");
    let expired = format!("tg_session={expired_token}");

    for cookie in [
        None,
        Some(forged.as_str()),
        Some(expired.as_str()),
        Some("tg_session=not a token; other=1"),
    ] {
        let response = get_page(&app, "/account?tab=x", cookie).await;
        assert_eq!(response.status(), 303, "{cookie:?}");
        assert_eq!(
            location(&response),
            "/login?next=/account%3Ftab%3Dx",
            "{cookie:?}"
        );
    }
    // A form post without a session goes to the plain sign-in page.
    let post = post_form(&app, "/logout", Some(&forged), &[("csrf_token", "x")]).await;
    assert_eq!(post.status(), 303);
    assert_eq!(location(&post), "/login");
    // The sign-in form keeps `next`.
    let form = login_form(&app, Some("/account?tab=x")).await;
    assert_eq!(field_value(&form.body, "next"), "/account?tab=x");
}

async fn signing_out_needs_the_csrf_token_and_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_in = sign_in(&app, "dan-admin").await;
    let cookie = signed_in.cookie();

    let page = get_page(&app, "/account", Some(&cookie)).await;
    let body = page.text().await.expect("body");
    assert_eq!(field_value(&body, "csrf_token"), signed_in.csrf);
    assert!(
        body.contains(r#"href="/approvals""#),
        "admins see approvals"
    );
    assert!(body.contains(r#"href="/qa""#), "admins see QA");
    let without = post_form(&app, "/logout", Some(&cookie), &[]).await;
    let wrong = post_form(&app, "/logout", Some(&cookie), &[("csrf_token", "wrong")]).await;
    let still_in = get_page(&app, "/account", Some(&cookie)).await.status();
    let with = post_form(
        &app,
        "/logout",
        Some(&cookie),
        &[("csrf_token", &signed_in.csrf)],
    )
    .await;
    let after = get_page(&app, "/account", Some(&cookie)).await;

    assert_eq!(without.status(), 403);
    assert_eq!(wrong.status(), 403);
    assert_eq!(still_in, 200, "a refused sign-out leaves the session");
    assert_eq!(with.status(), 303);
    assert_eq!(location(&with), "/login");
    let removed = set_cookie(&with, "tg_session").expect("the cookie is removed");
    assert!(removed.contains("Max-Age=0"), "{removed}");
    assert_eq!(after.status(), 303, "the session is gone");
    assert_eq!(app.db.count("web_session").await, 0);
    assert_eq!(
        user_audit_actions(&app, "dan-admin")
            .await
            .last()
            .map(String::as_str),
        Some("user.signed_out")
    );
    assert_audit_chain_intact(&app).await;
}

async fn next_outside_the_site_redirects_to_the_root(backend: Backend) {
    let app = spawn_app(backend).await;

    for next in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "http:/evil.example",
    ] {
        let response = submit_login(&app, "ann-l1", PASSWORD, next).await;
        assert_eq!(response.status(), 303, "{next}");
        assert_eq!(location(&response), "/", "{next}");
        let form = login_form(&app, Some(next)).await;
        assert_eq!(field_value(&form.body, "next"), "/", "{next}");
    }
}

async fn a_name_with_markup_is_echoed_escaped(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = submit_login(&app, "<script>alert(1)</script>\"'", PASSWORD, "/").await;

    assert_eq!(response.status(), 401);
    let body = response.text().await.expect("body");
    assert!(!body.contains("<script>"), "{body}");
    let echoed = field_value(&body, "name");
    assert!(
        echoed.contains("script") && echoed.contains("alert(1)"),
        "{echoed}"
    );
    assert!(
        !echoed.contains(['<', '>', '"', '\'']),
        "markup and quotes are escaped: {echoed}"
    );
}

async fn every_page_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_in = sign_in(&app, "cat-qa").await;

    let login = get_page(&app, "/login", None).await;
    let account = get_page(&app, "/account", Some(&signed_in.cookie())).await;
    let missing = get_page(&app, "/no/such/page", Some(&signed_in.cookie())).await;
    let redirect = get_page(&app, "/account", None).await;
    let css = get_page(&app, "/static/app.css", None).await;

    for response in [&login, &account, &missing, &redirect] {
        assert_security_headers(response);
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    assert_eq!(missing.status(), 404);
    let content_type = missing.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
    assert!(css.text().await.expect("css").contains("table.list"));
}
