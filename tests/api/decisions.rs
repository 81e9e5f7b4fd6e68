//! The human gate over the API, on both backends: decisions beside suggestions, priority changes
//! that wait for an approver who is not the requester, stale approvals, supersession, bad input
//! that writes nothing, and the audit chain after all of it.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp, error_code, spawn_app, spawn_app_with};

on_both_backends!(
    an_override_to_p1_waits_for_an_approver_then_applies,
    a_minor_change_applies_at_once_and_the_group_is_assigned,
    nobody_approves_their_own_request,
    an_approval_of_a_changed_ticket_is_refused,
    a_second_decision_supersedes_and_both_are_kept,
    bad_decisions_are_refused_and_write_nothing,
    every_change_waits_when_the_policy_says_all,
    racing_decisions_form_one_chain_or_are_refused,
);

/// Creates an acme ticket and triages it; returns (ticket id, suggestion id).
pub async fn triaged_ticket(app: &TestApp, title: &str) -> (String, String) {
    let ticket = app.create_ticket("acme", title).await;
    let response = app
        .post_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket}/triage"),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 201, "triage");
    let suggestion: Value = response.json().await.expect("json");
    (ticket, suggestion["id"].as_str().expect("id").to_string())
}

pub fn next_step() -> Value {
    json!({"text": "Call the site manager", "owner": "ann-l1", "due": "2026-12-01T17:00:00Z"})
}

pub async fn decide(
    app: &TestApp,
    token: &str,
    suggestion: &str,
    fields: Value,
) -> reqwest::Response {
    app.post_json(
        token,
        &format!("/api/v1/suggestions/{suggestion}/decision"),
        &json!({"fields": fields, "next_step": next_step()}),
    )
    .await
}

async fn ticket(app: &TestApp, id: &str) -> Value {
    app.get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await
}

async fn chain_ok(app: &TestApp) {
    let report = app
        .get_json(&app.seeded.tokens.qa, "/api/v1/audit/verify")
        .await;
    assert_eq!(report["ok"], true, "{report}");
}

async fn an_override_to_p1_waits_for_an_approver_then_applies(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "Printer on floor 3 jams").await;
    let response = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P1", "reason": "Payroll run blocked",
                            "reason_code": "customer_context"}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["approval"]["status"], "pending", "{body}");
    assert_eq!(body["fields"]["priority"]["action"], "override");
    assert_eq!(
        body["fields"]["priority"]["reason_code"],
        "customer_context"
    );
    let approval = body["approval"]["id"].as_str().expect("id").to_string();
    // Nothing changes before the approver says so.
    assert_eq!(ticket(&app, &ticket_id).await["priority"], Value::Null);
    assert_eq!(ticket(&app, &ticket_id).await["stage"], "triaged");

    let pending = app
        .get_json(
            &app.seeded.tokens.approver,
            "/api/v1/approvals?status=pending",
        )
        .await;
    let listed = &pending["approvals"][0];
    assert_eq!(listed["id"], approval.as_str());
    assert_eq!(listed["ticket_id"], ticket_id.as_str());
    assert_eq!(listed["from"], Value::Null);
    assert_eq!(listed["to"], "P1");
    assert_eq!(listed["requested_by"], "ann-l1");
    assert_eq!(listed["status"], "pending");
    // An L1 cannot approve at all, and the other tenant's approver queue is empty of it.
    let l1_list = app.get(&app.seeded.tokens.l1, "/api/v1/approvals").await;
    assert_eq!(l1_list.status(), 403);

    let path = format!("/api/v1/approvals/{approval}");
    let approved = app
        .post_json(
            &app.seeded.tokens.approver,
            &path,
            &json!({"approve": true, "reason": "Confirmed with the client"}),
        )
        .await;
    assert_eq!(approved.status(), 200);
    let approved: Value = approved.json().await.expect("json");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "bob-approver");
    assert_eq!(ticket(&app, &ticket_id).await["priority"], "P1");
    // A second verdict on a decided request is a conflict.
    let again = app
        .post_json(
            &app.seeded.tokens.admin,
            &path,
            &json!({"approve": false, "reason": "no"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let none_left = app
        .get_json(
            &app.seeded.tokens.approver,
            "/api/v1/approvals?status=pending",
        )
        .await;
    assert_eq!(none_left["approvals"], json!([]));
    chain_ok(&app).await;
    let history = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/audit"),
        )
        .await;
    let actions: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "decision.recorded",
        "priority_change.requested",
        "priority_change.approved",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

async fn a_minor_change_applies_at_once_and_the_group_is_assigned(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "New starter needs a mailbox").await;
    let response = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({
            "priority": {"action": "override", "value": "p4", "reason": "One user, not urgent"},
            "service_group": {"action": "override", "value": "Service Desk", "reason": "Onboarding"},
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("approval").is_none(), "{body}");
    assert_eq!(body["priority_change"]["status"], "applied");
    let stored = ticket(&app, &ticket_id).await;
    assert_eq!(stored["priority"], "P4");
    assert_eq!(stored["service_group"], "Service Desk");
    assert_eq!(stored["next_step"]["owner"], "ann-l1");
    assert_eq!(stored["next_step"]["due"], "2026-12-01T17:00:00Z");
    assert_ne!(
        stored["acknowledged_at"],
        Value::Null,
        "a person's decision acknowledges the ticket, so the SLA clock moves on to resolve"
    );
    // The suggestion itself is untouched: the decision sits beside it.
    let suggestions = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/suggestions"),
        )
        .await;
    assert_eq!(
        suggestions["suggestions"][0]["fields"]["priority"]["value"],
        Value::Null
    );
    chain_ok(&app).await;
}

async fn nobody_approves_their_own_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, suggestion) = triaged_ticket(&app, "Core switch fan failure").await;
    let response = decide(
        &app,
        &app.seeded.tokens.approver,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P2", "reason": "Site at risk"}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    let path = format!(
        "/api/v1/approvals/{}",
        body["approval"]["id"].as_str().expect("id")
    );
    let own = app
        .post_json(
            &app.seeded.tokens.approver,
            &path,
            &json!({"approve": true, "reason": "ok"}),
        )
        .await;
    assert_eq!(own.status(), 403);
    // Someone else may; a rejection needs a reason.
    let no_reason = app
        .post_json(&app.seeded.tokens.admin, &path, &json!({"approve": false}))
        .await;
    assert_eq!(no_reason.status(), 422);
    let rejected = app
        .post_json(
            &app.seeded.tokens.admin,
            &path,
            &json!({"approve": false, "reason": "The spare fan covers it"}),
        )
        .await;
    assert_eq!(rejected.status(), 200);
    let body: Value = rejected.json().await.expect("json");
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["reason"], "The spare fan covers it");
    chain_ok(&app).await;
}

async fn an_approval_of_a_changed_ticket_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "Mail delivery delayed").await;
    let response = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P1", "reason": "CEO mail"}}),
    )
    .await;
    let body: Value = response.json().await.expect("json");
    let path = format!(
        "/api/v1/approvals/{}",
        body["approval"]["id"].as_str().expect("id")
    );
    let edited = app
        .patch_ticket(
            &app.seeded.tokens.l1,
            &ticket_id,
            &json!({"title": "Mail delivery delayed for everyone"}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let listed = app.get_json(&app.seeded.tokens.approver, &path).await;
    assert_eq!(listed["stale"], true);
    let stale = app
        .post_json(
            &app.seeded.tokens.approver,
            &path,
            &json!({"approve": true, "reason": "ok"}),
        )
        .await;
    assert_eq!(stale.status(), 409);
    assert_eq!(error_code(stale).await, "conflict");
    assert_eq!(ticket(&app, &ticket_id).await["priority"], Value::Null);
    // A stale request can still be rejected, which clears the queue and changes nothing.
    let rejected = app
        .post_json(
            &app.seeded.tokens.approver,
            &path,
            &json!({"approve": false, "reason": "Ticket changed; decide again"}),
        )
        .await;
    assert_eq!(rejected.status(), 200);
    chain_ok(&app).await;
}

async fn a_second_decision_supersedes_and_both_are_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "Backup job failed twice").await;
    let first = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P2", "reason": "Backups at risk"}}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let second = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P3", "reason": "Retry succeeded"}}),
    )
    .await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.expect("json");
    assert_eq!(second["supersedes"], first["id"]);
    let listed = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/decisions"),
        )
        .await;
    assert_eq!(listed["decisions"].as_array().map(Vec::len), Some(2));
    assert_eq!(listed["decisions"][0]["id"], second["id"]);
    // The first request no longer waits: the later verdict replaced it.
    let statuses: Vec<&str> = listed["priority_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["applied", "superseded"]);
    let history = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/audit"),
        )
        .await;
    let superseded = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "priority_change.superseded")
        .count();
    assert_eq!(superseded, 1, "the cancelled request is on the record");
    assert_eq!(ticket(&app, &ticket_id).await["priority"], "P3");
    chain_ok(&app).await;
}

async fn bad_decisions_are_refused_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, suggestion) = triaged_ticket(&app, "Laptop will not boot").await;
    let events_before = app.db.count("audit_event").await;
    let path = format!("/api/v1/suggestions/{suggestion}/decision");
    let l1 = &app.seeded.tokens.l1;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"fields": {"priority": {"action": "override", "value": "P1"}}, "next_step": next_step()}),
            422,
            "fields.priority.reason",
        ),
        (
            json!({"fields": {"priority": {"action": "override", "value": "P1", "reason": "  "}}, "next_step": next_step()}),
            422,
            "fields.priority.reason",
        ),
        (
            json!({"fields": {"priority": {"action": "override", "value": "P7", "reason": "x"}}, "next_step": next_step()}),
            422,
            "fields.priority.value",
        ),
        (
            json!({"fields": {"colour": {"action": "accept"}}, "next_step": next_step()}),
            422,
            "fields.colour",
        ),
        (
            json!({"fields": {"priority": {"action": "accept"}}, "next_step": next_step()}),
            422,
            "fields.priority.action",
        ),
        (
            json!({"fields": {"priority": {"action": "override", "value": "P3", "reason": "x"}}}),
            422,
            "next_step",
        ),
        (
            json!({"fields": {"priority": {"action": "override", "value": "P3", "reason": "x"}},
                   "next_step": {"text": "call", "owner": "ann", "due": "soon"}}),
            422,
            "next_step.due",
        ),
        (
            json!({"fields": {}, "next_step": next_step()}),
            422,
            "fields",
        ),
    ];
    for (body, status, field) in cases {
        let response = app.post_json(l1, &path, &body).await;
        assert_eq!(response.status().as_u16(), status, "{body}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let garbage = app
        .client
        .post(app.url(&path))
        .bearer_auth(l1)
        .header("content-type", "application/json")
        .body("{\"fields\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(garbage.status(), 400);
    // Unknown, malformed and other tenants' suggestions look the same; wrong roles are refused.
    let fields = json!({"priority": {"action": "override", "value": "P3", "reason": "x"}});
    for (token, id, status) in [
        (l1.as_str(), "not-a-uuid", 404),
        (l1.as_str(), "0190b5d2-6c4e-7000-8000-000000000000", 404),
        (
            app.seeded.tokens.globex_l1.as_str(),
            suggestion.as_str(),
            404,
        ),
        (app.seeded.tokens.qa.as_str(), suggestion.as_str(), 403),
        (
            app.seeded.tokens.requester.as_str(),
            suggestion.as_str(),
            403,
        ),
    ] {
        let response = decide(&app, token, id, fields.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{id}");
    }
    assert_eq!(app.db.count("decision").await, 0);
    assert_eq!(app.db.count("priority_change").await, 0);
    assert_eq!(app.db.count("audit_event").await, events_before);
    app.assert_still_serving().await;
}

async fn every_change_waits_when_the_policy_says_all(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("TRIAGEGATE_APPROVALS__PRIORITY_CHANGES", "all")],
    )
    .await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "Monitor flickers").await;
    let response = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({"priority": {"action": "override", "value": "P4", "reason": "Cosmetic"}}),
    )
    .await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["approval"]["status"], "pending", "{body}");
    assert_eq!(ticket(&app, &ticket_id).await["priority"], Value::Null);
}

async fn racing_decisions_form_one_chain_or_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket_id, suggestion) = triaged_ticket(&app, "Shared drive slow").await;
    let attempts = ["P1", "P2", "P3", "P4", "P2", "P3"];
    let responses = futures_util::future::join_all(attempts.iter().map(|value| {
        decide(
            &app,
            &app.seeded.tokens.l1,
            &suggestion,
            json!({"priority": {"action": "override", "value": value, "reason": "race"}}),
        )
    }))
    .await;
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => {}
            other => panic!("a racing decision answered {other}"),
        }
    }
    assert!(created >= 1);
    let listed = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/decisions"),
        )
        .await;
    let decisions = listed["decisions"].as_array().expect("decisions");
    assert_eq!(
        decisions.len(),
        created,
        "every 201 is stored, nothing else"
    );
    // Newest first: each decision supersedes the next older one, the oldest none.
    for pair in decisions.windows(2) {
        assert_eq!(pair[0]["supersedes"], pair[1]["id"], "one chain, no fork");
    }
    assert_eq!(decisions[created - 1]["supersedes"], Value::Null);
    let pending = listed["priority_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["status"] == "pending")
        .count();
    assert!(pending <= 1, "at most one request waits");
    chain_ok(&app).await;
}
