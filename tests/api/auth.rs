use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, error_code, spawn_app};

on_both_backends!(
    requests_without_a_valid_token_get_401,
    another_tenants_ticket_is_404_like_a_missing_one,
    each_role_is_checked_on_the_server,
    listings_show_only_the_callers_tenants,
);

async fn requests_without_a_valid_token_get_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.url("/api/v1/tickets");

    let none = app.client.get(&url).send().await.expect("request");
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    assert_eq!(error_code(none).await, "missing_token");

    let basic = app
        .client
        .get(&url)
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), 401);
    assert_eq!(error_code(basic).await, "invalid_token");

    let forged = app
        .get("tg_forged_token_that_was_never_issued", "/api/v1/tickets")
        .await;
    assert_eq!(forged.status(), 401);
    assert_eq!(error_code(forged).await, "invalid_token");

    let expired = app.get(&app.seeded.tokens.expired, "/api/v1/tickets").await;
    assert_eq!(expired.status(), 401);
    assert_eq!(error_code(expired).await, "token_expired");

    let writes = app
        .client
        .post(&url)
        .json(&json!({"tenant": "acme", "title": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(writes.status(), 401);
    assert_eq!(app.ticket_count().await, 0);
}

async fn another_tenants_ticket_is_404_like_a_missing_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme_ticket = app.create_ticket("acme", "Acme secret").await;
    let outsider = &app.seeded.tokens.globex_l1;

    for path in [
        format!("/api/v1/tickets/{acme_ticket}"),
        format!("/api/v1/tickets/{acme_ticket}/audit"),
        format!("/api/v1/tickets/{}", uuid::Uuid::now_v7()),
        "/api/v1/tickets/not-a-uuid".to_string(),
        "/api/v1/tickets?tenant=acme".to_string(),
        "/api/v1/tickets?tenant=no-such-tenant".to_string(),
    ] {
        let response = app.get(outsider, &path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(error_code(response).await, "not_found", "{path}");
    }
    let edit = app
        .patch_ticket(outsider, &acme_ticket, &json!({"title": "hijacked"}))
        .await;
    assert_eq!(edit.status(), 404);
    let create = app
        .post_ticket(outsider, &json!({"tenant": "acme", "title": "planted"}))
        .await;
    assert_eq!(create.status(), 404);

    let ticket: Value = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{acme_ticket}"),
        )
        .await;
    assert_eq!(ticket["title"], "Acme secret");
    assert_eq!(app.ticket_count().await, 1);
}

async fn each_role_is_checked_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ticket("acme", "Role check").await;
    let t = &app.seeded.tokens;
    let create = json!({"tenant": "acme", "title": "by role"});
    let edit = json!({"title": "edited"});
    let audit = format!("/api/v1/tickets/{id}/audit");
    let show = format!("/api/v1/tickets/{id}");

    // (token, may create, may read, may edit, may read audit, may verify)
    let matrix = [
        ("l1", &t.l1, true, true, true, true, false),
        ("approver", &t.approver, true, true, true, true, false),
        ("qa", &t.qa, false, true, false, true, true),
        ("admin", &t.admin, true, true, true, true, true),
        ("requester", &t.requester, true, true, false, false, false),
    ];
    for (role, token, create_ok, read_ok, edit_ok, audit_ok, verify_ok) in matrix {
        let expect = |ok: bool, success: u16| if ok { success } else { 403 };
        let status = app.post_ticket(token, &create).await.status();
        assert_eq!(status, expect(create_ok, 201), "{role} create");
        let status = app.get(token, &show).await.status();
        assert_eq!(status, expect(read_ok, 200), "{role} read");
        let status = app.patch_ticket(token, &id, &edit).await.status();
        assert_eq!(status, expect(edit_ok, 200), "{role} edit");
        let status = app.get(token, &audit).await.status();
        assert_eq!(status, expect(audit_ok, 200), "{role} audit");
        let response = app.get(token, "/api/v1/audit/verify").await;
        assert_eq!(response.status(), expect(verify_ok, 200), "{role} verify");
        if !verify_ok {
            assert_eq!(error_code(response).await, "forbidden");
        }
    }
}

async fn listings_show_only_the_callers_tenants(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_ticket("acme", "acme one").await;
    app.create_ticket("globex", "globex one").await;

    let acme_view: Value = app
        .get_json(&app.seeded.tokens.requester, "/api/v1/tickets")
        .await;
    let tenants: Vec<&str> = acme_view["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| t["tenant"].as_str().expect("tenant"))
        .collect();
    assert_eq!(tenants, ["acme"]);

    let globex_view: Value = app
        .get_json(&app.seeded.tokens.globex_l1, "/api/v1/tickets")
        .await;
    assert_eq!(globex_view["tickets"].as_array().expect("tickets").len(), 1);
    assert_eq!(globex_view["tickets"][0]["tenant"], "globex");
}
