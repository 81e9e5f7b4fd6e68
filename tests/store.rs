//! Store contract: each behaviour against SQLite, and against PostgreSQL when
//! `TRIAGEGATE_TEST_POSTGRES_URL` is set.

mod support;

use std::sync::Arc;

use support::{Backend, TestDb, test_config};
use triagegate::domain::Actor;
use triagegate::domain::attachment::NewAttachment;
use triagegate::domain::tenant::{NewTenant, TenantSlug};
use triagegate::domain::ticket::{AttachmentLimits, NewTicket, TicketDraft, TicketEdit};
use triagegate::domain::user::{NewUser, Role, TenantGrant};
use triagegate::store::{self, Store, TicketQuery, Visibility};

on_both_backends!(
    tenants_are_unique_by_slug,
    a_user_with_an_unknown_tenant_is_not_written_at_all,
    users_are_found_by_token_hash_with_their_tenants,
    a_ticket_write_that_fails_midway_leaves_nothing_behind,
    listing_respects_the_granted_tenants,
    an_edit_that_changes_nothing_records_nothing,
    concurrent_writes_keep_one_unbroken_chain,
    migrations_run_twice_without_harm,
    cases_are_upserted_by_external_id_per_tenant,
    suggestions_are_listed_newest_first_and_never_edited,
    a_log_is_stored_compressed_and_read_back_as_uploaded,
);

fn limits() -> AttachmentLimits {
    AttachmentLimits {
        max_attachment: 1 << 20,
        max_total: 1 << 21,
    }
}

async fn open(backend: Backend) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let config = test_config(&db, &[]);
    let store = store::connect(&config.database).await.expect("store");
    (db, store)
}

async fn add_tenant(store: &dyn Store, slug: &str) -> triagegate::domain::tenant::Tenant {
    let new = NewTenant::new(TenantSlug::parse(slug).expect("slug"), None).expect("tenant");
    store
        .create_tenant(&new, &Actor::cli())
        .await
        .expect("tenant")
}

fn draft(title: &str) -> TicketDraft {
    TicketDraft {
        title: title.into(),
        ..TicketDraft::default()
    }
}

async fn tenants_are_unique_by_slug(backend: Backend) {
    let (db, store) = open(backend).await;
    add_tenant(store.as_ref(), "acme").await;
    let again = NewTenant::new(TenantSlug::parse("acme").expect("slug"), None).expect("tenant");
    let err = store
        .create_tenant(&again, &Actor::cli())
        .await
        .expect_err("duplicate");
    assert!(matches!(err, store::Error::Conflict(_)), "{err:?}");
    assert_eq!(db.count("tenant").await, 1);
    assert_eq!(db.count("audit_event").await, 1);
}

async fn a_user_with_an_unknown_tenant_is_not_written_at_all(backend: Backend) {
    let (db, store) = open(backend).await;
    add_tenant(store.as_ref(), "acme").await;
    let grant = TenantGrant::Only(vec![
        TenantSlug::parse("acme").expect("slug"),
        TenantSlug::parse("ghost").expect("slug"),
    ]);
    let new = NewUser::new("ann", Role::L1, grant, None, "hash".into(), None).expect("user");
    let err = store
        .create_user(&new, &Actor::cli())
        .await
        .expect_err("unknown tenant");
    assert!(
        matches!(
            err,
            store::Error::NotFound {
                entity: "tenant",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(db.count("app_user").await, 0);
    assert_eq!(db.count("user_tenant").await, 0);
    assert_eq!(db.count("audit_event").await, 1);
}

async fn users_are_found_by_token_hash_with_their_tenants(backend: Backend) {
    let (_db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let globex = add_tenant(store.as_ref(), "globex").await;
    let grant = TenantGrant::Only(vec![TenantSlug::parse("acme").expect("slug")]);
    let new = NewUser::new("ann", Role::L1, grant, None, "h1".into(), None).expect("user");
    store.create_user(&new, &Actor::cli()).await.expect("user");

    let found = store
        .user_by_token_hash("h1")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(found.name, "ann");
    assert_eq!(found.role, Role::L1);
    assert!(found.sees_tenant(acme.id));
    assert!(!found.sees_tenant(globex.id));
    assert!(
        store
            .user_by_token_hash("nope")
            .await
            .expect("query")
            .is_none()
    );

    let clash =
        NewUser::new("ann", Role::Qa, TenantGrant::All, None, "h2".into(), None).expect("user");
    let err = store
        .create_user(&clash, &Actor::cli())
        .await
        .expect_err("dup");
    assert!(matches!(err, store::Error::Conflict(_)), "{err:?}");
}

async fn a_ticket_write_that_fails_midway_leaves_nothing_behind(backend: Backend) {
    // Two attachments with the same id: the ticket row goes in, the second attachment fails
    let (db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let file = NewAttachment::new("a.log", None, b"one".to_vec()).expect("file");
    let mut twin = NewAttachment::new("b.log", None, b"two".to_vec()).expect("file");
    twin.id = file.id;
    let mut with_files = draft("half written");
    with_files.attachments = vec![file, twin];
    let new = NewTicket::from_draft(&acme, with_files, limits()).expect("ticket");
    let events_before = db.count("audit_event").await;

    let result = store.create_ticket(&new, &Actor::cli()).await;

    assert!(result.is_err());
    assert_eq!(db.count("ticket").await, 0);
    assert_eq!(db.count("attachment").await, 0);
    assert_eq!(db.count("audit_event").await, events_before);
    let report = store::verify_audit_chain(store.as_ref())
        .await
        .expect("verify");
    assert!(report.ok);
}

async fn listing_respects_the_granted_tenants(backend: Backend) {
    let (_db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let globex = add_tenant(store.as_ref(), "globex").await;
    for (tenant, title) in [(&acme, "a1"), (&globex, "g1"), (&acme, "a2")] {
        let new = NewTicket::from_draft(tenant, draft(title), limits()).expect("ticket");
        store
            .create_ticket(&new, &Actor::cli())
            .await
            .expect("ticket");
    }
    let grant = TenantGrant::Only(vec![TenantSlug::parse("globex").expect("slug")]);
    let new = NewUser::new("gus", Role::L1, grant, None, "h".into(), None).expect("user");
    let gus = store.create_user(&new, &Actor::cli()).await.expect("user");
    let query = |visibility, tenant| TicketQuery {
        visibility,
        tenant,
        stage: None,
        priority: None,
        service_group: None,
        before: None,
        limit: 50,
    };

    let titles = |tickets: Vec<triagegate::domain::ticket::Ticket>| {
        tickets.into_iter().map(|t| t.title).collect::<Vec<_>>()
    };
    let all = store
        .list_tickets(&query(Visibility::AllTenants, None))
        .await
        .expect("list");
    assert_eq!(titles(all), ["a2", "g1", "a1"]);
    let granted = store
        .list_tickets(&query(Visibility::GrantedTo(gus.id), None))
        .await
        .expect("list");
    assert_eq!(titles(granted), ["g1"]);
    let crossing = store
        .list_tickets(&query(Visibility::GrantedTo(gus.id), Some(acme.id)))
        .await
        .expect("list");
    assert!(crossing.is_empty());
}

async fn an_edit_that_changes_nothing_records_nothing(backend: Backend) {
    let (db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let new = NewTicket::from_draft(&acme, draft("same"), limits()).expect("ticket");
    store
        .create_ticket(&new, &Actor::cli())
        .await
        .expect("ticket");
    let before = db.count("audit_event").await;

    let edit = TicketEdit {
        title: Some("same".into()),
        ..TicketEdit::default()
    };
    let detail = store
        .edit_ticket(new.id, &edit, &Actor::cli())
        .await
        .expect("edit");

    assert_eq!(detail.ticket.title, "same");
    assert_eq!(db.count("audit_event").await, before);
}

async fn concurrent_writes_keep_one_unbroken_chain(backend: Backend) {
    let (db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = store.clone();
        let acme = acme.clone();
        tasks.push(tokio::spawn(async move {
            let new =
                NewTicket::from_draft(&acme, draft(&format!("t{n}")), limits()).expect("ticket");
            store
                .create_ticket(&new, &Actor::cli())
                .await
                .expect("ticket");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(db.count("ticket").await, 40);
    let report = store::verify_audit_chain(store.as_ref())
        .await
        .expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events, 41);
}

async fn migrations_run_twice_without_harm(backend: Backend) {
    let (_db, store) = open(backend).await;
    store.migrate().await.expect("second run");
    store.ping().await.expect("ping");
}

fn case_draft(id: &str, title: &str, group: &str) -> triagegate::domain::case::CaseDraft {
    triagegate::domain::case::CaseDraft {
        external_id: id.into(),
        title: title.into(),
        service_group: group.into(),
        priority: Some("P3".into()),
        created_at: Some("2026-03-01T09:00:00Z".into()),
        closed_at: Some("2026-03-02T09:00:00Z".into()),
        ..Default::default()
    }
}

async fn cases_are_upserted_by_external_id_per_tenant(backend: Backend) {
    use triagegate::domain::case::{ImportOutcome, ImportedCase};
    let (db, store) = open(backend).await;
    let actor = Actor::cli();
    let acme = store
        .create_tenant(
            &NewTenant::new(TenantSlug::parse("acme").expect("slug"), None).expect("t"),
            &actor,
        )
        .await
        .expect("acme");
    let globex = store
        .create_tenant(
            &NewTenant::new(TenantSlug::parse("globex").expect("slug"), None).expect("t"),
            &actor,
        )
        .await
        .expect("globex");
    let first = ImportedCase::from_draft(acme.id, &case_draft("INC-1", "VPN down", "Network"))
        .expect("case");
    let (outcome, stored) = store.upsert_case(&first, &actor).await.expect("created");
    assert_eq!(outcome, ImportOutcome::Created);
    let events = db.count("audit_event").await;

    let same = ImportedCase::from_draft(acme.id, &case_draft("INC-1", "VPN down", "Network"))
        .expect("case");
    let (outcome, again) = store.upsert_case(&same, &actor).await.expect("unchanged");
    assert_eq!((outcome, again.id), (ImportOutcome::Unchanged, stored.id));
    assert_eq!(
        db.count("audit_event").await,
        events,
        "an unchanged row writes no event"
    );

    let changed = ImportedCase::from_draft(
        acme.id,
        &case_draft("INC-1", "VPN down again", "Security Operations"),
    )
    .expect("case");
    let (outcome, updated) = store.upsert_case(&changed, &actor).await.expect("updated");
    assert_eq!((outcome, updated.id), (ImportOutcome::Updated, stored.id));
    let read = store.case(stored.id).await.expect("read").expect("a case");
    assert_eq!(read.title, "VPN down again");
    assert_eq!(read.service_group.as_deref(), Some("Security Operations"));
    assert_eq!(
        db.count("audit_event where action = 'case.reimported'")
            .await,
        1
    );

    // The same external id in another tenant is another case.
    let other =
        ImportedCase::from_draft(globex.id, &case_draft("INC-1", "Printer", "Service Desk"))
            .expect("case");
    let (outcome, _) = store
        .upsert_case(&other, &actor)
        .await
        .expect("other tenant");
    assert_eq!(outcome, ImportOutcome::Created);
    assert_eq!(
        store
            .cases(Some(acme.id), None, 10)
            .await
            .expect("acme")
            .len(),
        1
    );
    assert_eq!(store.cases(None, None, 10).await.expect("all").len(), 2);
    let stats = store.case_stats().await.expect("stats");
    assert_eq!(stats.count, 2);

    // The most recent cases of one tenant, newest first.
    for (id, day) in [("INC-2", "2026-05-01"), ("INC-3", "2026-04-01")] {
        let mut draft = case_draft(id, "Disk full", "Servers & Cloud");
        draft.created_at = Some(format!("{day}T08:00:00Z"));
        draft.closed_at = None;
        let case = ImportedCase::from_draft(acme.id, &draft).expect("case");
        store.upsert_case(&case, &actor).await.expect("stored");
    }
    let recent = store.recent_cases(acme.id, 2).await.expect("recent");
    let ids: Vec<_> = recent
        .iter()
        .filter_map(|c| c.external_id.as_deref())
        .collect();
    assert_eq!(ids, ["INC-2", "INC-3"]);
    assert!(
        store::verify_audit_chain(store.as_ref())
            .await
            .expect("verify")
            .ok
    );
}

async fn suggestions_are_listed_newest_first_and_never_edited(backend: Backend) {
    use triagegate::domain::suggestion::{Field, FieldProposal, Suggestion};
    let (db, store) = open(backend).await;
    let actor = Actor::cli();
    let tenant = store
        .create_tenant(
            &NewTenant::new(TenantSlug::parse("acme").expect("slug"), None).expect("t"),
            &actor,
        )
        .await
        .expect("acme");
    let draft = TicketDraft {
        title: "Printer offline".into(),
        ..TicketDraft::default()
    };
    let ticket = NewTicket::from_draft(&tenant, draft, limits()).expect("ticket");
    store.create_ticket(&ticket, &actor).await.expect("created");
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            Field::ServiceGroup,
            FieldProposal::nothing(format!("run {n}")),
        );
        let suggestion = Suggestion::new(
            ticket.id,
            tenant.id,
            "test/1".into(),
            serde_json::json!({"n": n}),
            fields,
        );
        store
            .insert_suggestion(&suggestion, &actor)
            .await
            .expect("stored");
        ids.push(suggestion.id);
    }
    let listed = store.suggestions_for(ticket.id).await.expect("listed");
    let listed_ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    ids.reverse();
    assert_eq!(listed_ids, ids, "newest first");
    assert_eq!(listed[0].inputs["n"], 2);
    assert_eq!(
        listed[2].fields[&Field::ServiceGroup].evidence.explanation,
        "run 0",
        "fields survive the round trip"
    );
    assert_eq!(
        db.count("audit_event where action = 'suggestion.created'")
            .await,
        3
    );
    assert!(
        store::verify_audit_chain(store.as_ref())
            .await
            .expect("verify")
            .ok
    );
}

/// Logs are stored LZ4-compressed, small or incompressible files as uploaded; both read back
/// byte for byte, and a stored row that does not decode is an error, never wrong bytes.
async fn a_log_is_stored_compressed_and_read_back_as_uploaded(backend: Backend) {
    let (db, store) = open(backend).await;
    let acme = add_tenant(store.as_ref(), "acme").await;
    let log: Vec<u8> = (0..3_000)
        .map(|n| {
            format!(
                "2026-12-08T01:00:{:02}Z srv-7 kernel: EXT4-fs error (device sda{}): inode {n}\n",
                n % 60,
                n % 4
            )
        })
        .collect::<String>()
        .into_bytes();
    let small = b"VPN client exited with code 809\n".to_vec();
    let mut with_files = draft("logs attached");
    with_files.attachments = vec![
        NewAttachment::new("kern.log", None, log.clone()).expect("file"),
        NewAttachment::new("vpn.txt", None, small.clone()).expect("file"),
    ];
    let new = NewTicket::from_draft(&acme, with_files, limits()).expect("ticket");
    store
        .create_ticket(&new, &Actor::cli())
        .await
        .expect("created");
    assert_eq!(
        db.count("attachment where encoding = 'lz4' and length(content) * 3 < size_bytes")
            .await,
        1,
        "the log is stored at under a third of its size"
    );
    assert_eq!(db.count("attachment where encoding = 'identity'").await, 1);
    for (attachment, content) in new.attachments.iter().zip([&log, &small]) {
        let read = store.attachment(new.id, attachment.id).await.expect("read");
        assert_eq!(&read.content, content);
        assert_eq!(read.meta.size, content.len() as i64);
    }
    let damaged = db
        .execute_raw("update attachment set encoding = 'lz4' where encoding = 'identity'")
        .await
        .expect("damage");
    assert_eq!(damaged, 1);
    let err = store
        .attachment(new.id, new.attachments[1].id)
        .await
        .expect_err("does not decode");
    assert!(matches!(err, store::Error::Corrupt(_)), "{err:?}");
}
