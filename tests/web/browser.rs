//! End to end in a real headless Chromium: an L1 signs in, opens a ticket whose title,
//! description and log carry script tags, overrides the priority to P1 with a reason; an
//! approver signs in and approves; the ticket shows P1; the QA page counts the override.
//! Screenshots of every page land in `target/screenshots/` for people to look at.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{Backend, PASSWORD, TestApp, spawn_app};

const XSS_TITLE: &str = "<script>document.title='pwned'</script> VPN down at HQ";
const XSS_DESCRIPTION: &str = "Users report <img src=x onerror=\"document.title='pwned'\"> errors.";
const XSS_LOG: &str = "2026-11-28T08:00:00Z gw01 ERROR <script>alert('log')</script> tunnel closed\n\
                       2026-11-28T08:00:05Z gw01 ERROR <script>alert('log')</script> tunnel closed\n";

fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Browser tests need Chromium; under CI its absence fails instead of skipping.
fn browser_available() -> bool {
    if Browser::available() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium and chromedriver must be installed under CI (see .ci/run)");
    }
    eprintln!("skipped: install chromium and chromium-driver to run the browser test");
    false
}

async fn sign_in(browser: &Browser, app: &TestApp, name: &str) {
    browser.goto(&app.url("/login")).await.expect("login page");
    browser
        .find("input[name=name]")
        .await
        .expect("name field")
        .fill(name)
        .await
        .expect("type name");
    browser
        .find("input[name=password]")
        .await
        .expect("password field")
        .fill(PASSWORD)
        .await
        .expect("type password");
    browser
        .find("form[action='/login'] button[type=submit]")
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
    browser
        .wait_for("nav", Duration::from_secs(10))
        .await
        .expect("signed in");
}

async fn sign_out(browser: &Browser) {
    browser
        .find("form[action='/logout'] button")
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    browser
        .wait_for("input[name=password]", Duration::from_secs(10))
        .await
        .expect("back at the login page");
}

async fn shot(browser: &Browser, name: &str) {
    let path = shots().join(format!("{name}.png"));
    browser.screenshot(&path).await.expect("screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_to_p1_is_approved_and_counted_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let created = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({
                "tenant": "acme",
                "title": XSS_TITLE,
                "description": XSS_DESCRIPTION,
                "attachments": [{"name": "gw01.log", "content": XSS_LOG}],
            }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let ticket: Value = created.json().await.expect("json");
    let ticket_id = ticket["id"].as_str().expect("id").to_string();
    let triaged = app
        .post_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{ticket_id}/triage"),
            &json!({}),
        )
        .await;
    assert_eq!(triaged.status(), 201);

    let browser = Browser::start().await.expect("chromium starts");

    // The L1 signs in, sees the queue, opens the ticket.
    sign_in(&browser, &app, "ann-l1").await;
    shot(&browser, "01-queue").await;
    let queue_text = browser.body_text().await.expect("text");
    assert!(queue_text.contains(XSS_TITLE), "the title shows as text");
    browser
        .find(&format!("a[href='/tickets/{ticket_id}']"))
        .await
        .expect("ticket link")
        .click()
        .await
        .expect("open ticket");
    browser
        .wait_for("#decide", Duration::from_secs(10))
        .await
        .expect("decision form");
    shot(&browser, "02-ticket").await;
    let text = browser.body_text().await.expect("text");
    for shown in [XSS_TITLE, "onerror=", "<script>alert('log')</script>"] {
        assert!(text.contains(shown), "{shown} renders as text");
    }
    assert_ne!(browser.title().await.expect("title"), "pwned");
    let injected = browser
        .execute(
            "return document.querySelectorAll('script, img[src=x]').length",
            &[],
        )
        .await
        .expect("script");
    assert_eq!(
        injected,
        json!(0),
        "no script or img element came from user text"
    );

    // Override the priority to P1 with a reason.
    browser
        .find("#decide-priority input[value=override]")
        .await
        .expect("override radio")
        .click()
        .await
        .expect("choose override");
    browser
        .find("#priority_value")
        .await
        .expect("priority select")
        .select_by_value("P1")
        .await
        .expect("pick P1");
    browser
        .find("#priority_reason_code")
        .await
        .expect("reason code")
        .select_by_value("customer_context")
        .await
        .expect("pick reason");
    browser
        .find("#priority_reason")
        .await
        .expect("reason")
        .fill("Head office cannot reach the ERP")
        .await
        .expect("type reason");
    browser
        .find("#next_text")
        .await
        .expect("next step")
        .fill("Escalate to the network team")
        .await
        .expect("type next step");
    browser
        .find("#record-decision")
        .await
        .expect("record button")
        .click()
        .await
        .expect("record");
    let flash = browser
        .wait_for(".flash.ok", Duration::from_secs(10))
        .await
        .expect("recorded");
    assert!(
        flash
            .text()
            .await
            .expect("text")
            .contains("waits for an approver"),
        "the change waits"
    );
    shot(&browser, "03-decided").await;
    assert_eq!(
        browser
            .find("#ticket-priority")
            .await
            .expect("priority")
            .text()
            .await
            .expect("text"),
        "no priority",
        "nothing changes before approval"
    );
    sign_out(&browser).await;

    // The approver approves.
    sign_in(&browser, &app, "bob-approver").await;
    browser
        .goto(&app.url("/approvals"))
        .await
        .expect("approvals");
    browser
        .wait_for("#pending", Duration::from_secs(10))
        .await
        .expect("pending list");
    shot(&browser, "04-approvals").await;
    browser
        .find("form.verdict input[name=reason]")
        .await
        .expect("reason")
        .fill("Confirmed with the site")
        .await
        .expect("type reason");
    browser
        .find("form.verdict button[value=approve]")
        .await
        .expect("approve")
        .click()
        .await
        .expect("approve");
    browser
        .wait_for(".flash.ok", Duration::from_secs(10))
        .await
        .expect("approved");
    browser
        .goto(&app.url(&format!("/tickets/{ticket_id}")))
        .await
        .expect("ticket");
    let priority = browser
        .wait_for("#ticket-priority", Duration::from_secs(10))
        .await
        .expect("priority")
        .text()
        .await
        .expect("text");
    assert_eq!(priority, "P1");
    shot(&browser, "05-ticket-p1").await;
    sign_out(&browser).await;

    // QA counts the override.
    sign_in(&browser, &app, "cat-qa").await;
    browser.goto(&app.url("/qa")).await.expect("qa");
    let overrides = browser
        .wait_for("#agreement-priority .overrides", Duration::from_secs(10))
        .await
        .expect("priority row")
        .text()
        .await
        .expect("text");
    assert_eq!(overrides, "1");
    shot(&browser, "06-qa").await;

    // The cited log lines render as text too.
    browser
        .goto(&app.url(&format!("/tickets/{ticket_id}")))
        .await
        .expect("ticket");
    browser
        .find("#digest a[href*='/lines']")
        .await
        .expect("citation")
        .click()
        .await
        .expect("open lines");
    let log = browser
        .wait_for("pre.log", Duration::from_secs(10))
        .await
        .expect("lines")
        .text()
        .await
        .expect("text");
    assert!(log.contains("<script>alert('log')</script>"), "{log}");
    shot(&browser, "07-log-lines").await;
    browser.close().await.expect("close");
}

/// What a newcomer sees: the demo's data, signed in as the printed L1 user, a ticket with
/// proposals and their evidence at once. The screenshot is the README's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_a_newcomer_proposals_with_evidence() {
    if !browser_available() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    triagegate::cli::demo::seed(app.store.as_ref())
        .await
        .expect("demo data");
    app.triage.resync().await.expect("index");
    let listed = app
        .get_json(
            &app.seeded.tokens.admin,
            "/api/v1/tickets?tenant=demo&stage=new",
        )
        .await;
    let tickets: Vec<String> = listed["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    assert!(!tickets.is_empty(), "the demo has open tickets");
    for id in &tickets {
        let triaged = app
            .post_json(
                &app.seeded.tokens.admin,
                &format!("/api/v1/tickets/{id}/triage"),
                &json!({}),
            )
            .await;
        assert_eq!(triaged.status(), 201);
    }
    let browser = Browser::start().await.expect("chromium starts");
    browser.goto(&app.url("/login")).await.expect("login page");
    let (name, _, password, _) = triagegate::cli::demo::DEMO_USERS[0];
    for (selector, text) in [
        ("input[name=name]", name),
        ("input[name=password]", password),
    ] {
        browser
            .find(selector)
            .await
            .expect("field")
            .fill(text)
            .await
            .expect("type");
    }
    browser
        .find("form[action='/login'] button[type=submit]")
        .await
        .expect("sign in")
        .click()
        .await
        .expect("sign in");
    browser
        .wait_for("table.queue", Duration::from_secs(10))
        .await
        .expect("the queue");
    shot(&browser, "demo-queue").await;
    // The first ticket of the queue whose service group is proposed.
    let mut shown = None;
    for id in &tickets {
        browser
            .goto(&app.url(&format!("/tickets/{id}")))
            .await
            .expect("ticket");
        browser
            .wait_for("#proposal", Duration::from_secs(10))
            .await
            .expect("proposal");
        let group = browser
            .find("#proposal-service_group")
            .await
            .expect("group row")
            .text()
            .await
            .expect("text");
        if !group.contains("no suggestion") {
            shown = Some(id.clone());
            break;
        }
    }
    assert!(
        shown.is_some(),
        "some demo ticket gets a service group proposed"
    );
    let similar = browser
        .find_all("#similar tbody tr")
        .await
        .expect("similar cases");
    assert!(!similar.is_empty(), "similar past cases show");
    shot(&browser, "demo-ticket").await;
    browser.close().await.expect("close");
}
