//! Role × action × tenant, over the JSON API and the pages: every role (l1, approver, qa,
//! admin, requester), each action of the human gate, on its own tenant's data and on another
//! tenant's. Every cell is asserted; a role that may not act gets 403, a tenant it may not see
//! looks like nothing at all (404).

use serde_json::{Value, json};
use triagegate::auth;
use triagegate::domain::Actor;
use triagegate::domain::tenant::TenantSlug;
use triagegate::domain::user::{NewUser, Role, TenantGrant};

use super::client::WebClient;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app};

on_both_backends!(every_role_action_and_tenant_cell_holds);

/// One user per role, all but admin granted only `acme`; tokens by role.
struct Cast {
    users: Vec<(Role, String, String)>,
}

async fn cast(app: &TestApp) -> Cast {
    let hash = auth::hash_password(crate::support::PASSWORD).expect("hash");
    let mut users = Vec::new();
    for role in Role::ALL {
        let name = format!("m-{}", role.as_str());
        let grant = if role == Role::Admin {
            TenantGrant::All
        } else {
            TenantGrant::Only(vec![TenantSlug::parse("acme").expect("slug")])
        };
        let token = auth::generate_token();
        let new = NewUser::new(
            &name,
            role,
            grant,
            Some(hash.clone()),
            auth::hash_token(&token),
            None,
        )
        .expect("user");
        app.store
            .create_user(&new, &Actor::cli())
            .await
            .expect("user");
        users.push((role, name, token));
    }
    Cast { users }
}

/// A ticket of `tenant` with a suggestion; returns (ticket, suggestion).
async fn triaged(app: &TestApp, tenant: &str, title: &str) -> (String, String) {
    let ticket = app.create_ticket(tenant, title).await;
    let response = app
        .post_json(
            &app.seeded.tokens.admin,
            &format!("/api/v1/tickets/{ticket}/triage"),
            &json!({}),
        )
        .await;
    let body: Value = response.json().await.expect("json");
    (ticket, body["id"].as_str().expect("id").to_string())
}

/// A pending priority change of `tenant` asked for by the admin; returns its id.
async fn pending_change(app: &TestApp, tenant: &str) -> String {
    let (_, suggestion) = triaged(app, tenant, "Needs a P1").await;
    let response = app
        .post_json(
            &app.seeded.tokens.admin,
            &format!("/api/v1/suggestions/{suggestion}/decision"),
            &json!({
                "fields": {"priority": {"action": "override", "value": "P1", "reason": "outage"}},
                "next_step": {"text": "call", "owner": "dan", "due": "2026-12-01T17:00:00Z"},
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    body["approval"]["id"]
        .as_str()
        .expect("approval")
        .to_string()
}

fn decision_body() -> Value {
    json!({
        "fields": {"priority": {"action": "override", "value": "P3", "reason": "routine"}},
        "next_step": {"text": "call", "owner": "ann", "due": "2026-12-01T17:00:00Z"},
    })
}

fn decision_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("priority_action", "override"),
        ("priority_value", "P3"),
        ("priority_reason_code", "other"),
        ("priority_reason", "routine"),
        ("next_text", "call"),
        ("next_owner", "ann"),
        ("next_due", "2026-12-01T17:00"),
    ]
}

/// What a role may do, whatever the tenant.
fn allowed(role: Role, action: &str) -> bool {
    use Role::*;
    match action {
        "read_ticket" => true,
        "create_ticket" => role != Qa,
        "read_suggestions" | "queue" | "ticket_page" => role != Requester,
        "triage" | "decide" => matches!(role, L1 | Approver | Admin),
        "approvals" | "approve" => matches!(role, Approver | Admin),
        "qa" | "qa_csv" => matches!(role, Qa | Admin),
        other => panic!("unknown action {other}"),
    }
}

/// The status a cell must answer: the role's refusal first, then the tenant's invisibility.
fn expected(role: Role, action: &str, own: bool, ok: u16) -> u16 {
    if !allowed(role, action) {
        403
    } else if own || role == Role::Admin {
        ok
    } else {
        404
    }
}

async fn every_role_action_and_tenant_cell_holds(backend: Backend) {
    let app = spawn_app(backend).await;
    let cast = cast(&app).await;
    let mut checked = 0;
    for (role, name, token) in &cast.users {
        let role = *role;
        let mut web = WebClient::sign_in(&app, name).await;
        // The queue and error pages carry the session's CSRF token for the forms below.
        let _ = web.get("/").await;
        for (tenant, own) in [("acme", true), ("globex", false)] {
            let cell = |action: &str| format!("{} {action} on {tenant}", role.as_str());
            let (ticket, suggestion) = triaged(&app, tenant, &format!("{name} {tenant}")).await;

            // JSON API.
            let api: Vec<(&str, reqwest::Response, u16)> = vec![
                (
                    "read_ticket",
                    app.get(token, &format!("/api/v1/tickets/{ticket}")).await,
                    200,
                ),
                (
                    "create_ticket",
                    app.post_json(
                        token,
                        "/api/v1/tickets",
                        &json!({"tenant": tenant, "title": "x"}),
                    )
                    .await,
                    201,
                ),
                (
                    "read_suggestions",
                    app.get(token, &format!("/api/v1/tickets/{ticket}/suggestions"))
                        .await,
                    200,
                ),
                (
                    "triage",
                    app.post_json(
                        token,
                        &format!("/api/v1/tickets/{ticket}/triage"),
                        &json!({}),
                    )
                    .await,
                    201,
                ),
                (
                    "decide",
                    app.post_json(
                        token,
                        &format!("/api/v1/suggestions/{suggestion}/decision"),
                        &decision_body(),
                    )
                    .await,
                    201,
                ),
                (
                    "approvals",
                    app.get(token, &format!("/api/v1/approvals?tenant={tenant}"))
                        .await,
                    200,
                ),
                (
                    "approve",
                    {
                        let change = pending_change(&app, tenant).await;
                        app.post_json(
                            token,
                            &format!("/api/v1/approvals/{change}"),
                            &json!({"approve": true, "reason": "ok"}),
                        )
                        .await
                    },
                    200,
                ),
                (
                    "qa",
                    app.get(token, &format!("/api/v1/qa/agreement?tenant={tenant}"))
                        .await,
                    200,
                ),
                (
                    "qa_csv",
                    app.get(token, &format!("/api/v1/qa/agreement.csv?tenant={tenant}"))
                        .await,
                    200,
                ),
            ];
            for (action, response, ok) in api {
                assert_eq!(
                    response.status().as_u16(),
                    expected(role, action, own, ok),
                    "API {}",
                    cell(action)
                );
                checked += 1;
            }

            // Pages.
            let (status, body) = web.get("/").await;
            assert_eq!(
                status,
                expected(role, "queue", true, 200),
                "page {}",
                cell("queue")
            );
            let title = format!("{name} {tenant}");
            if status == 200 {
                assert_eq!(
                    body.contains(&title),
                    own || role == Role::Admin,
                    "queue shows {}",
                    cell("queue")
                );
            }
            let (status, _) = web.get(&format!("/tickets/{ticket}")).await;
            assert_eq!(
                status,
                expected(role, "ticket_page", own, 200),
                "page {}",
                cell("ticket_page")
            );
            let (page_ticket, suggestion) = triaged(&app, tenant, "page decision").await;
            let mut form = decision_form();
            form.push(("suggestion_id", suggestion.as_str()));
            let decide_path = format!("/tickets/{page_ticket}/decision");
            let (status, _) = web.post(&decide_path, &form).await;
            assert_eq!(
                status,
                expected(role, "decide", own, 303),
                "page {}",
                cell("decide")
            );
            let (status, _) = web.get("/approvals").await;
            assert_eq!(
                status,
                expected(role, "approvals", true, 200),
                "page {}",
                cell("approvals")
            );
            let change = pending_change(&app, tenant).await;
            if status == 200 {
                let (_, body) = web.get("/approvals").await;
                assert_eq!(
                    body.contains(&change),
                    own || role == Role::Admin,
                    "approvals page lists {}",
                    cell("approve")
                );
            }
            let (status, _) = web
                .post(
                    &format!("/approvals/{change}"),
                    &[("verdict", "approve"), ("reason", "ok")],
                )
                .await;
            assert_eq!(
                status,
                expected(role, "approve", own, 303),
                "page {}",
                cell("approve")
            );
            let (status, _) = web.get(&format!("/qa?tenant={tenant}")).await;
            assert_eq!(
                status,
                expected(role, "qa", own, 200),
                "page {}",
                cell("qa")
            );
            let (status, _) = web.get(&format!("/qa/export.csv?tenant={tenant}")).await;
            assert_eq!(
                status,
                expected(role, "qa_csv", own, 200),
                "page {}",
                cell("qa_csv")
            );
            checked += 8;
        }
    }
    assert_eq!(checked, 5 * 2 * (9 + 8));
    let report = app
        .get_json(&app.seeded.tokens.qa, "/api/v1/audit/verify")
        .await;
    assert_eq!(report["ok"], true, "{report}");
}
