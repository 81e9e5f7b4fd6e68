//! The QA agreement figures and their CSV export over the API, on both backends: overrides and
//! acceptances counted per field, superseded decisions left out, filters, roles and tenants.

use serde_json::{Value, json};

use super::decisions::{decide, triaged_ticket};
use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(
    overrides_and_acceptances_are_counted_per_field,
    the_export_lists_each_decided_field_for_auditors,
    only_qa_and_admins_read_the_figures,
);

async fn overrides_and_acceptances_are_counted_per_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let l1 = app.seeded.tokens.l1.clone();
    // Two overrides of the priority, one later superseded by an override to another value.
    let (_, first) = triaged_ticket(&app, "Printer offline").await;
    let (_, second) = triaged_ticket(&app, "Payroll server down").await;
    for (suggestion, value) in [(&first, "P4"), (&second, "P2"), (&second, "P1")] {
        let response = decide(
            &app,
            &l1,
            suggestion,
            json!({"priority": {"action": "override", "value": value, "reason": "context",
                                "reason_code": "customer_context"}}),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let figures = app
        .get_json(&app.seeded.tokens.qa, "/api/v1/qa/agreement?tenant=acme")
        .await;
    let priority = &figures["fields"]["priority"];
    assert_eq!(
        figures["decisions"], 2,
        "the superseded decision is not counted: {figures}"
    );
    assert_eq!(priority["overrides"], 2);
    assert_eq!(priority["override_rate"], 1.0);
    assert_eq!(priority["accepted"], 0);
    assert_eq!(
        priority["abstained"], 2,
        "no history: the machine abstained"
    );
    assert_eq!(
        priority["top_override_reasons"][0]["code"],
        "customer_context"
    );
    assert_eq!(priority["top_override_reasons"][0]["count"], 2);
    assert!(
        figures["disagreements"]
            .as_array()
            .is_some_and(|d| d.len() == 2)
    );
    // Filters narrow it; an empty range counts nothing.
    let none = app
        .get_json(
            &app.seeded.tokens.qa,
            "/api/v1/qa/agreement?tenant=acme&from=2001-01-01&to=2001-01-31",
        )
        .await;
    assert_eq!(none["decisions"], 0);
    assert_eq!(none["fields"], json!({}));
    let group_only = app
        .get_json(
            &app.seeded.tokens.qa,
            "/api/v1/qa/agreement?tenant=acme&field=service_group",
        )
        .await;
    assert_eq!(group_only["fields"], json!({}));
    let bad = app
        .get(&app.seeded.tokens.qa, "/api/v1/qa/agreement?field=colour")
        .await;
    assert_eq!(bad.status(), 422);
    let bad_date = app
        .get(&app.seeded.tokens.qa, "/api/v1/qa/agreement?from=yesterday")
        .await;
    assert_eq!(bad_date.status(), 422);
}

async fn the_export_lists_each_decided_field_for_auditors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ticket, suggestion) = triaged_ticket(&app, "=HYPERLINK(\"http://evil\") mail down").await;
    let response = decide(
        &app,
        &app.seeded.tokens.l1,
        &suggestion,
        json!({
            "priority": {"action": "override", "value": "P1", "reason": "=cmd|' /C calc'!A0, \"quoted\""},
            "service_group": {"action": "override", "value": "Messaging", "reason": "mail"},
        }),
    )
    .await;
    let decision: Value = response.json().await.expect("json");
    let approval = decision["approval"]["id"]
        .as_str()
        .expect("approval")
        .to_string();
    let approved = app
        .post_json(
            &app.seeded.tokens.approver,
            &format!("/api/v1/approvals/{approval}"),
            &json!({"approve": true}),
        )
        .await;
    assert_eq!(approved.status(), 200);
    let response = app
        .get(
            &app.seeded.tokens.qa,
            "/api/v1/qa/agreement.csv?tenant=acme",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/csv"))
    );
    let body = response.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().expect("header").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2, "{body}");
    let priority = rows
        .iter()
        .find(|r| &r[column("field")] == "priority")
        .expect("priority row");
    assert_eq!(&priority[column("ticket_id")], ticket.as_str());
    assert_eq!(&priority[column("decided")], "P1");
    assert_eq!(&priority[column("action")], "override");
    assert_eq!(&priority[column("approval_status")], "approved");
    assert_eq!(&priority[column("approved_by")], "bob-approver");
    // A formula in a reason is defused for spreadsheets.
    assert!(
        priority[column("reason")].starts_with("'="),
        "{}",
        &priority[column("reason")]
    );
}

async fn only_qa_and_admins_read_the_figures(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = &app.seeded.tokens;
    for (token, status) in [
        (&tokens.qa, 200),
        (&tokens.admin, 200),
        (&tokens.l1, 403),
        (&tokens.approver, 403),
        (&tokens.requester, 403),
    ] {
        for path in ["/api/v1/qa/agreement", "/api/v1/qa/agreement.csv"] {
            let response = app.get(token, path).await;
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }
    // A tenant the caller may not see looks unknown.
    let hidden = app
        .get(&tokens.globex_l1, "/api/v1/qa/agreement?tenant=acme")
        .await;
    assert_eq!(
        hidden.status(),
        403,
        "an l1 is refused before the tenant is looked at"
    );
    let unknown = app
        .get(&tokens.qa, "/api/v1/qa/agreement?tenant=nosuch")
        .await;
    assert_eq!(unknown.status(), 404);
}
