//! The pages over HTTP, on both backends: the queue, the ticket page with its digest, similar
//! cases and proposal, the decision and approval forms with their CSRF tokens, escaping of
//! every user-supplied string, the log-lines view, and the QA page and export.

use serde_json::json;

use super::client::WebClient;
use crate::on_both_backends;
use crate::support::{Backend, spawn_app, spawn_app_with};

on_both_backends!(
    the_queue_shows_open_tickets_most_urgent_first,
    the_ticket_page_shows_evidence_and_escapes_user_text,
    the_decision_form_records_and_the_approver_approves,
    forms_without_the_csrf_token_change_nothing,
    a_bad_decision_shows_the_page_again_with_the_reason,
    the_qa_page_counts_and_exports,
    the_models_answer_shows_as_the_models_and_escaped,
);

const CASES: &[u8] = include_bytes!("../../demo/cases.csv");

async fn the_queue_shows_open_tickets_most_urgent_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let minor = app.ticket_with_log("Mouse battery low", "", None).await;
    let major = app
        .ticket_with_log("Ransomware note on the file server", "", None)
        .await;
    app.triage_now(&minor).await;
    app.triage_now(&major).await;
    let globex = app.create_ticket("globex", "Globex secret outage").await;
    let mut web = WebClient::sign_in(&app, "ann-l1").await;
    let (status, page) = web.get("/").await;
    assert_eq!(status, 200);
    let at = |needle: &str| page.find(needle).unwrap_or(usize::MAX);
    // The stop-the-line proposal (P1) ranks above the rest although it is not the newest.
    assert!(at(&major) < at(&minor), "most urgent first");
    assert!(
        !page.contains(&globex) && !page.contains("Globex secret"),
        "other tenants hidden"
    );
    assert!(page.contains("class=\"sla "), "the SLA clock shows");
    let (_, filtered) = web.get("/?priority=P1").await;
    assert!(!filtered.contains(&minor), "the filter applies");
    let (status, _) = web.get("/?tenant=globex").await;
    assert_eq!(
        status, 200,
        "an invisible tenant filter shows nothing, not an error"
    );
}

async fn the_ticket_page_shows_evidence_and_escapes_user_text(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("acme", CASES).await;
    let log = "2026-11-03T08:00:01Z vpn-gw01 charon: DPD timeout for peer 203.0.113.7 <script>alert(1)</script>\n\
               2026-11-03T08:10:01Z vpn-gw01 charon: DPD timeout for peer 203.0.113.8 <script>alert(1)</script>\n";
    let id = app
        .ticket_with_log(
            "VPN <script>alert('title')</script> drops",
            "Home workers lose the tunnel <img src=x onerror=alert(2)>",
            Some(log),
        )
        .await;
    app.triage_now(&id).await;
    let mut web = WebClient::sign_in(&app, "ann-l1").await;
    let (status, page) = web.get(&format!("/tickets/{id}")).await;
    assert_eq!(status, 200);
    for raw in ["<script>alert", "<img src=x"] {
        assert!(!page.contains(raw), "{raw} must be escaped");
    }
    assert!(
        unescape(&page).contains("VPN <script>alert('title')</script> drops"),
        "the title shows as text"
    );
    assert!(page.contains("id=\"similar\""));
    assert!(
        page.contains("Log digest") && page.contains("/lines?from="),
        "citations link to lines"
    );
    assert!(
        page.contains("name=\"csrf_token\""),
        "forms carry the token"
    );
    assert!(
        page.contains("id=\"decide\""),
        "an L1 gets the decision form"
    );
    // The cited lines render as text, numbered like the digest numbers them.
    let link_at = page.find("/lines?from=").expect("citation");
    let start = page[..link_at].rfind("href=\"").expect("href") + 6;
    let href = page[start..]
        .split('"')
        .next()
        .expect("href")
        .replace("&amp;", "&");
    let (status, lines) = web.get(&href).await;
    assert_eq!(status, 200, "{href}");
    assert!(lines.contains("DPD timeout") && !lines.contains("<script>alert(1)"));
    let far = href.replace("from=", "from=18446744073709551615&x=");
    let (status, _) = web.get(&far).await;
    assert_eq!(status, 200, "any line number is answered, none overflows");
    // QA reads the page but gets no form; a requester gets no page.
    let mut qa = WebClient::sign_in(&app, "cat-qa").await;
    let (status, qa_page) = qa.get(&format!("/tickets/{id}")).await;
    assert_eq!(status, 200);
    assert!(!qa_page.contains("id=\"decide\""));
    let mut requester = WebClient::sign_in(&app, "eve-client").await;
    assert_eq!(requester.get(&format!("/tickets/{id}")).await.0, 403);
    let mut other = WebClient::sign_in(&app, "gus-l1").await;
    assert_eq!(other.get(&format!("/tickets/{id}")).await.0, 404);
}

fn override_form<'a>(suggestion: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("suggestion_id", suggestion),
        ("priority_action", "override"),
        ("priority_value", value),
        ("priority_reason_code", "customer_context"),
        ("priority_reason", "Head office down"),
        ("service_group_action", "skip"),
        ("next_text", "Call the site"),
        ("next_owner", "ann-l1"),
        ("next_due", "2026-12-01T17:00"),
    ]
}

async fn the_decision_form_records_and_the_approver_approves(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ticket_with_log("Core router down", "", None).await;
    let suggestion = app.triage_now(&id).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut l1 = WebClient::sign_in(&app, "ann-l1").await;
    l1.get(&format!("/tickets/{id}")).await;
    let (status, _) = l1
        .post(
            &format!("/tickets/{id}/decision"),
            &override_form(&suggestion, "P1"),
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = l1.get(&format!("/tickets/{id}?notice=approval")).await;
    assert!(page.contains("waits for an approver"));
    assert!(page.contains("Head office down"), "the decision is listed");
    let mut approver = WebClient::sign_in(&app, "bob-approver").await;
    let (status, approvals) = approver.get("/approvals").await;
    assert_eq!(status, 200);
    let change_at = approvals
        .find("action=\"/approvals/")
        .expect("a verdict form");
    let change = approvals[change_at + "action=\"/approvals/".len()..]
        .split('"')
        .next()
        .expect("id")
        .to_string();
    // The L1 cannot approve even by posting the form by hand.
    let (status, _) = l1
        .post(&format!("/approvals/{change}"), &[("verdict", "approve")])
        .await;
    assert_eq!(status, 403);
    let (status, _) = approver
        .post(
            &format!("/approvals/{change}"),
            &[("verdict", "approve"), ("reason", "Confirmed")],
        )
        .await;
    assert_eq!(status, 303);
    let stored = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(stored["priority"], "P1");
    assert_eq!(stored["next_step"]["text"], "Call the site");
}

async fn forms_without_the_csrf_token_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app
        .ticket_with_log("Disk full on file server", "", None)
        .await;
    let suggestion = app.triage_now(&id).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut web = WebClient::sign_in(&app, "ann-l1").await;
    web.get("/").await;
    let events = app.db.count("audit_event").await;
    web.csrf = "forged".into();
    let (status, _) = web
        .post(
            &format!("/tickets/{id}/decision"),
            &override_form(&suggestion, "P2"),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = web.post(&format!("/tickets/{id}/triage"), &[]).await;
    assert_eq!(status, 403);
    assert_eq!(app.db.count("decision").await, 0);
    assert_eq!(app.db.count("audit_event").await, events);
}

async fn a_bad_decision_shows_the_page_again_with_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ticket_with_log("Phone system echo", "", None).await;
    let suggestion = app.triage_now(&id).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut web = WebClient::sign_in(&app, "ann-l1").await;
    web.get(&format!("/tickets/{id}")).await;
    let mut form = override_form(&suggestion, "P2");
    form.retain(|(k, _)| *k != "priority_reason");
    let (status, page) = web.post(&format!("/tickets/{id}/decision"), &form).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("an override needs a reason"),
        "the reason is shown"
    );
    assert!(
        page.contains("id=\"decide\""),
        "the form is there to try again"
    );
    assert_eq!(app.db.count("decision").await, 0);

    // A page opened before someone else changed the ticket cannot decide.
    let version_at = page
        .find("name=\"ticket_version\" value=\"")
        .expect("version field");
    let start = version_at + "name=\"ticket_version\" value=\"".len();
    let version = page[start..]
        .split('"')
        .next()
        .expect("version")
        .to_string();
    let edited = app
        .patch_ticket(
            &app.seeded.tokens.approver,
            &id,
            &json!({"owner": "bob-approver"}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let mut form = override_form(&suggestion, "P2");
    form.push(("ticket_version", version.as_str()));
    let (status, page) = web.post(&format!("/tickets/{id}/decision"), &form).await;
    assert_eq!(status, 409);
    assert!(
        page.contains("changed since you opened it"),
        "the page says why"
    );
    assert_eq!(app.db.count("decision").await, 0);
}

async fn the_qa_page_counts_and_exports(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app
        .ticket_with_log("<b>Bold</b> printer jam", "", None)
        .await;
    let suggestion = app.triage_now(&id).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut l1 = WebClient::sign_in(&app, "ann-l1").await;
    l1.get(&format!("/tickets/{id}")).await;
    let (status, _) = l1
        .post(
            &format!("/tickets/{id}/decision"),
            &override_form(&suggestion, "P4"),
        )
        .await;
    assert_eq!(status, 303);
    let mut qa = WebClient::sign_in(&app, "cat-qa").await;
    let (status, page) = qa.get("/qa").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"agreement-priority\""));
    assert!(
        page.contains("<td class=\"overrides\">1</td>"),
        "one override counted"
    );
    assert!(page.contains("<svg"), "charts render");
    assert!(!page.contains("<b>Bold</b>"));
    let (status, csv) = qa.get("/qa/export.csv?tenant=acme").await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("tenant,"), "{csv}");
    assert!(csv.contains(&id));
    let (status, _) = l1.get("/qa").await;
    assert_eq!(status, 403);
}

/// Decodes the entities an HTML escaper writes, so tests read the text a browser shows.
fn unescape(html: &str) -> String {
    [
        ("&lt;", "<"),
        ("&#60;", "<"),
        ("&gt;", ">"),
        ("&#62;", ">"),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&amp;", "&"),
        ("&#38;", "&"),
    ]
    .iter()
    .fold(html.to_string(), |text, (entity, raw)| {
        text.replace(entity, raw)
    })
}

async fn the_models_answer_shows_as_the_models_and_escaped(backend: Backend) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let answer = json!({
        "summary": "Tunnels drop <script>alert('model')</script> on DPD timeouts",
        "citations": ["L1"],
        "service_group": "Network",
        "impact": "medium",
        "urgency": "high",
        "rationale": "Past VPN cases <img src=x onerror=alert(3)> went to Network"
    });
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer.to_string()}}],
        "usage": {"prompt_tokens": 700, "completion_tokens": 90, "total_tokens": 790}
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let app = spawn_app_with(
        backend,
        &[
            ("TRIAGEGATE_LLM__PROVIDER", "openai"),
            ("TRIAGEGATE_LLM__BASE_URL", &base),
            ("TRIAGEGATE_LLM__MODEL", "test-model"),
            ("TRIAGEGATE_LLM__API_KEY_ENV", ""),
        ],
    )
    .await;
    app.import_cases("acme", CASES).await;
    let log =
        "2026-11-03T08:00:01Z vpn-gw01 charon: DPD timeout for peer 203.0.113.7, tunnel closed\n";
    let id = app
        .ticket_with_log("VPN drops", "Home workers lose the tunnel", Some(log))
        .await;
    app.triage_now(&id).await;
    let mut web = WebClient::sign_in(&app, "ann-l1").await;
    let (status, page) = web.get(&format!("/tickets/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"model\""), "the model's panel shows");
    assert!(page.contains("model test-model: answered"));
    for raw in ["<script>alert('model')", "<img src=x"] {
        assert!(!page.contains(raw), "{raw} must be escaped");
    }
    let text = unescape(&page);
    assert!(text.contains("Tunnels drop <script>alert('model')</script> on DPD timeouts"));
    assert!(page.contains("The model proposed: Network"));
    assert!(
        text.contains("/lines?from=1&to=1&mark=1\">L1</a>"),
        "the citation opens the cited line: {}",
        &page[page.find("id=\"model\"").unwrap_or(0)..][..1500.min(page.len())]
    );
}
