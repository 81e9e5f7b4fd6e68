//! Similar cases, suggestions and triage through the API, on both backends: tenant isolation,
//! the suggestion contract, the ticket left untouched, the audit chain, stop-the-line rules,
//! query text full of search syntax, and an index that is deleted or corrupted.

use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp, error_code, spawn_app, spawn_app_with};

on_both_backends!(
    similar_cases_come_from_the_tickets_tenant_only,
    triage_stores_a_suggestion_and_never_changes_the_ticket,
    a_stop_the_line_rule_forces_p1_and_says_why,
    a_new_ticket_is_triaged_in_the_background,
    search_syntax_in_ticket_text_never_errors,
    requesters_and_other_tenants_see_no_suggestions,
    a_pooled_tenant_sees_the_pools_cases,
    a_deleted_index_is_rebuilt_while_serving,
    with_no_history_every_field_abstains,
    an_import_beside_the_running_service_is_picked_up,
    a_closed_tickets_logs_make_it_findable,
);

/// The demo's past cases: written for the project, so usable as a fixture.
const CASES: &[u8] = include_bytes!("../../demo/cases.csv");

/// Two cases for globex whose words would match acme's VPN tickets if tenants leaked.
const GLOBEX_CASES: &str = "id,title,description,service_group,priority\n\
    G-1,VPN tunnel drops every ten minutes,IPsec dead peer detection timeout on the VPN gateway,Globex Network Team,P2\n\
    G-2,VPN tunnel drops for remote staff,VPN gateway rekey fails,Globex Network Team,P3\n";

async fn vpn_ticket(app: &TestApp) -> String {
    let log = "2026-11-03T08:00:01Z vpn-gw01 charon: DPD timeout for peer 203.0.113.7, tunnel closed\n\
               2026-11-03T08:10:01Z vpn-gw01 charon: DPD timeout for peer 203.0.113.8, tunnel closed\n\
               2026-11-03T08:20:01Z vpn-gw01 charon: rekeying CHILD_SA failed: no proposal chosen\n";
    app.ticket_with_log(
        "VPN keeps dropping for home workers",
        "Remote sales staff lose the VPN tunnel every few minutes.",
        Some(log),
    )
    .await
}

async fn similar_cases_come_from_the_tickets_tenant_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.import_cases("acme", CASES).await;
    assert_eq!((acme.created, acme.failed), (122, 0));
    app.import_cases("globex", GLOBEX_CASES.as_bytes()).await;
    let id = vpn_ticket(&app).await;

    let page = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{id}/similar?k=10"),
        )
        .await;
    let similar = page["similar"].as_array().expect("similar list");
    assert_eq!(similar.len(), 10, "{page}");
    assert!(
        similar
            .iter()
            .all(|c| c["service_group"] != "Globex Network Team"),
        "another tenant's case leaked: {page}"
    );
    let top = &similar[0];
    assert!(
        top["title"]
            .as_str()
            .expect("title")
            .to_lowercase()
            .contains("vpn"),
        "{top}"
    );
    assert_eq!(top["service_group"], "Network");
    assert!(
        top["external_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("DEMO-")),
        "the imported case's own number is shown: {top}"
    );
    assert!(!top["matched_terms"].as_array().expect("terms").is_empty());
    assert!(top["resolution"].as_str().is_some_and(|r| !r.is_empty()));
    let scores: Vec<f64> = similar
        .iter()
        .map(|c| c["score"].as_f64().expect("score"))
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    assert!(page["templates_used"].as_u64().expect("templates") >= 2);

    let bad_k = app
        .get(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{id}/similar?k=0"),
        )
        .await;
    assert_eq!(bad_k.status(), 422);
}

async fn triage_stores_a_suggestion_and_never_changes_the_ticket(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("acme", CASES).await;
    let id = vpn_ticket(&app).await;
    let before = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;

    let first = app.triage_now(&id).await;
    let second = app.triage_now(&id).await;

    assert_eq!(first["status"], "done");
    for field in ["service_group", "impact", "urgency", "priority"] {
        let f = &first["fields"][field];
        for key in ["value", "confidence", "abstained", "source", "evidence"] {
            assert!(f.get(key).is_some(), "{field}.{key} missing: {first}");
        }
        let confidence = f["confidence"].as_f64().expect("confidence");
        assert!((0.0..=1.0).contains(&confidence), "{field}: {confidence}");
        assert_eq!(
            f["abstained"].as_bool(),
            Some(f["value"].is_null()),
            "{field}: {f}"
        );
    }
    let group = &first["fields"]["service_group"];
    assert_eq!(group["source"], "retrieval");
    let candidate = group["value"]
        .as_str()
        .or(group["evidence"]["candidate"].as_str());
    assert_eq!(candidate, Some("Network"), "{group}");
    assert!(
        !group["evidence"]["neighbours"]
            .as_array()
            .expect("neighbours")
            .is_empty()
    );
    assert_eq!(first["fields"]["priority"]["source"], "matrix");
    assert_eq!(
        first["inputs_digest"], second["inputs_digest"],
        "same inputs, same digest"
    );
    assert!(
        first["proposer"]
            .as_str()
            .expect("proposer")
            .contains("severity:")
    );

    let list = app
        .get_json(
            &app.seeded.tokens.qa,
            &format!("/api/v1/tickets/{id}/suggestions"),
        )
        .await;
    let ids: Vec<&str> = list["suggestions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            second["id"].as_str().expect("id"),
            first["id"].as_str().expect("id")
        ]
    );

    let after = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(before, after, "a suggestion never changes the ticket");
    let verify = app
        .get_json(&app.seeded.tokens.qa, "/api/v1/audit/verify")
        .await;
    assert_eq!(verify["ok"], true, "{verify}");
    let sid = first["id"].as_str().expect("id");
    assert_eq!(
        app.db.count("suggestion").await,
        2,
        "two triages, two suggestion rows"
    );
    let events = app
        .get_json(
            &app.seeded.tokens.qa,
            &format!("/api/v1/tickets/{id}/audit"),
        )
        .await;
    let _ = events; // ticket events are about the ticket; the suggestion has its own entity
    let audit = app
        .db
        .count(&format!(
            "audit_event where action = 'suggestion.created' and entity_id = '{sid}'"
        ))
        .await;
    assert_eq!(audit, 1);
    // Without a model each request ran the triage itself: its job was written once, done, with
    // its suggestion, and recorded in the suggestion's event rather than queued.
    assert_eq!(
        app.db
            .count("triage_job where reason = 'requested' and status = 'done' and attempts = 1")
            .await,
        2
    );
    assert_eq!(
        app.db
            .count("audit_event where action = 'triage_job.queued'")
            .await,
        0
    );
    assert_eq!(
        app.db
            .count(&format!(
                "audit_event where action = 'suggestion.created' and entity_id = '{sid}' \
                 and payload like '%\"ran_in_request\":true%'"
            ))
            .await,
        1
    );
}

async fn a_stop_the_line_rule_forces_p1_and_says_why(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("acme", CASES).await;
    let id = app.ticket_with_log("File server shares unreadable",
        "Users report odd file names on the S: drive since 07:00.",
        Some("07:02:11 fs01 smbd: 4312 files renamed with .locked extension\n07:02:12 fs01 smbd: README_RANSOM.txt created\n"),
    )
    .await;
    let suggestion = app.triage_now(&id).await;
    let priority = &suggestion["fields"]["priority"];
    assert_eq!(priority["value"], "P1", "{suggestion}");
    assert_eq!(priority["source"], "rule");
    assert_eq!(priority["confidence"], 1.0);
    assert_eq!(priority["evidence"]["rule"]["rule"], "ransomware");
    assert!(
        priority["evidence"]["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("Stop-the-line")),
        "{priority}"
    );
    assert_eq!(
        suggestion["fields"]["service_group"]["value"],
        "Security Operations"
    );
}

async fn a_new_ticket_is_triaged_in_the_background(backend: Backend) {
    let app = spawn_app_with(backend, &[("TRIAGEGATE_TRIAGE__ON_CREATE", "true")]).await;
    app.import_cases("acme", CASES).await;
    let id = vpn_ticket(&app).await;
    let path = format!("/api/v1/tickets/{id}/suggestions");
    // The pending suggestion is stored with the ticket, so the list is never empty.
    let first = app.get_json(&app.seeded.tokens.l1, &path).await;
    let first = first["suggestions"].as_array().expect("list").clone();
    assert_eq!(first.len(), 1, "queued with the ticket");
    assert!(
        first[0]["status"] == "pending" || first[0]["status"] == "done",
        "{first:?}"
    );
    let mut list = Value::Null;
    for _ in 0..200 {
        list = app.get_json(&app.seeded.tokens.l1, &path).await;
        if list["suggestions"][0]["status"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let suggestions = list["suggestions"].as_array().expect("list");
    assert_eq!(suggestions.len(), 1, "{list}");
    assert_eq!(suggestions[0]["status"], "done");
    assert_eq!(
        suggestions[0]["id"], first[0]["id"],
        "the pending one became the result, under the same id"
    );
    assert_eq!(suggestions[0]["llm"]["status"], "skipped");
    assert!(suggestions[0]["fields"]["service_group"].is_object());
}

async fn search_syntax_in_ticket_text_never_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("acme", CASES).await;
    for title in [
        "\"unbalanced quote",
        "field:value AND (broken",
        "wild* card~2 fuzzy^3 -not +must",
        "\\ / [ ] { } ! ? : ~ * ( ) \"",
        "OR AND NOT",
    ] {
        let response = app
            .post_ticket(
                &app.seeded.tokens.l1,
                &json!({"tenant": "acme", "title": title}),
            )
            .await;
        let body: Value = response.json().await.expect("json");
        let id = body["id"].as_str().expect("id");
        let similar = app
            .get(
                &app.seeded.tokens.l1,
                &format!("/api/v1/tickets/{id}/similar"),
            )
            .await;
        assert_eq!(similar.status(), 200, "{title}");
        app.triage_now(id).await;
    }
    app.assert_still_serving().await;
}

async fn requesters_and_other_tenants_see_no_suggestions(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ticket("acme", "Printer offline").await;
    let tokens = &app.seeded.tokens;
    for path in ["similar", "suggestions"] {
        let path = format!("/api/v1/tickets/{id}/{path}");
        assert_eq!(app.get(&tokens.requester, &path).await.status(), 403);
        assert_eq!(app.get(&tokens.globex_l1, &path).await.status(), 404);
        assert_eq!(app.get(&tokens.qa, &path).await.status(), 200);
    }
    let triage_path = format!("/api/v1/tickets/{id}/triage");
    let qa = app.post_json(&tokens.qa, &triage_path, &json!({})).await;
    assert_eq!(qa.status(), 403);
    assert_eq!(error_code(qa).await, "forbidden");
    let other = app
        .post_json(&tokens.globex_l1, &triage_path, &json!({}))
        .await;
    assert_eq!(other.status(), 404);
    assert_eq!(
        app.db.count("suggestion").await,
        0,
        "refused triage stores nothing"
    );
}

async fn a_pooled_tenant_sees_the_pools_cases(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("globex", GLOBEX_CASES.as_bytes()).await;
    let id = vpn_ticket(&app).await;
    let path = format!("/api/v1/tickets/{id}/similar");
    let alone = app.get_json(&app.seeded.tokens.l1, &path).await;
    assert_eq!(
        alone["similar"].as_array().map(Vec::len),
        Some(0),
        "{alone}"
    );

    let actor = triagegate::domain::Actor::cli();
    for slug in ["acme", "globex"] {
        let slug = triagegate::domain::tenant::TenantSlug::parse(slug).expect("slug");
        app.store
            .set_shared_pool(&slug, true, &actor)
            .await
            .expect("pool on");
    }
    let pooled = app.get_json(&app.seeded.tokens.l1, &path).await;
    let groups: Vec<&str> = pooled["similar"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["service_group"].as_str())
        .collect();
    assert_eq!(
        groups,
        ["Globex Network Team", "Globex Network Team"],
        "{pooled}"
    );
}

async fn a_deleted_index_is_rebuilt_while_serving(backend: Backend) {
    let app = spawn_app(backend).await;
    app.import_cases("acme", CASES).await;
    let id = vpn_ticket(&app).await;
    let path = format!("/api/v1/tickets/{id}/similar");
    assert_eq!(app.get(&app.seeded.tokens.l1, &path).await.status(), 200);

    // Deleted under the running service: its periodic check notices and rebuilds from the store.
    let folder = app.db.dir().join("index");
    let versioned: Vec<_> = std::fs::read_dir(&folder)
        .expect("index folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cases-v"))
        .map(|e| e.path())
        .collect();
    assert_eq!(versioned.len(), 1);
    std::fs::remove_dir_all(&versioned[0]).expect("delete the index");
    // Searches may go on from the files still open until the check notices the folder is gone.
    for _ in 0..100 {
        if versioned[0].join("triagegate-ready").is_file() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(versioned[0].join("meta.json").is_file(), "rebuilt in place");
    wait_until_similar_works(&app, &path).await;

    // A second service on the same folder must refuse rather than rebuild under the first.
    let config = crate::support::test_config(&app.db, &[]);
    let second = triagegate::app::App::build_with_store(config, app.store.clone()).await;
    assert!(second.is_err(), "two services on one index folder");
    app.assert_still_serving().await;
}

async fn wait_until_similar_works(app: &TestApp, path: &str) {
    for _ in 0..300 {
        let response = app.get(&app.seeded.tokens.l1, path).await;
        if response.status() == 200 {
            let body: Value = response.json().await.expect("json");
            if body["similar"].as_array().is_some_and(|s| !s.is_empty()) {
                return;
            }
        } else {
            assert_eq!(
                response.status(),
                503,
                "only 'rebuilding' while it rebuilds"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the index was not rebuilt");
}

async fn with_no_history_every_field_abstains(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ticket("acme", "Mouse is broken").await;
    let suggestion = app.triage_now(&id).await;
    for field in ["service_group", "impact", "urgency", "priority"] {
        let f = &suggestion["fields"][field];
        assert_eq!(f["abstained"], true, "{field}: {f}");
        assert!(f["value"].is_null());
    }
    assert!(
        suggestion["fields"]["service_group"]["evidence"]["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("Not enough history")),
        "{suggestion}"
    );
}

async fn an_import_beside_the_running_service_is_picked_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = vpn_ticket(&app).await;
    // Stored the way `triagegate import` in another process stores them: the running service
    // is not told, and finds out at its next check.
    let args = triagegate::cli::import::ImportArgs::defaults("acme", "cases.csv".into());
    let summary = triagegate::cli::import::import_bytes(
        CASES,
        &args,
        app.seeded.acme.id,
        app.store.as_ref(),
        &triagegate::domain::Actor::cli(),
    )
    .await
    .expect("import");
    assert_eq!(summary.created, 122);
    wait_until_similar_works(&app, &format!("/api/v1/tickets/{id}/similar")).await;
    let suggestion = app.triage_now(&id).await;
    assert!(
        suggestion["inputs"]["history_cases"].as_u64() == Some(122),
        "models retrained on the imported history: {}",
        suggestion["inputs"]
    );
}

async fn a_closed_tickets_logs_make_it_findable(backend: Backend) {
    let app = spawn_app(backend).await;
    // Its title and description say nothing of the error; only the attached log does.
    let log = "2026-10-01T03:00:00Z docs-app02 kernel: EXT4-fs error (device sdb1): journal aborted\n\
               2026-10-01T03:00:01Z docs-app02 kernel: EXT4-fs (sdb1): remounting filesystem read-only\n";
    let closed = app
        .ticket_with_log("Website slow", "Customers complain.", Some(log))
        .await;
    // Closed the way a later decision will close it; here behind the API's back.
    app.db
        .execute_raw(&format!(
            "update ticket set stage = 'closed', service_group = 'Servers & Cloud' \
             where ticket_id = {}",
            match backend {
                Backend::Sqlite => format!("x'{}'", closed.replace('-', "")),
                Backend::Postgres => format!("'{closed}'"),
            }
        ))
        .await
        .expect("close the ticket");
    app.triage.resync().await.expect("reindexed");
    let fresh = app
        .create_ticket(
            "acme",
            "EXT4-fs error, journal aborted, filesystem read-only",
        )
        .await;
    let page = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{fresh}/similar"),
        )
        .await;
    let ids: Vec<&str> = page["similar"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["case_id"].as_str())
        .collect();
    assert_eq!(ids, [closed.as_str()], "{page}");
}
