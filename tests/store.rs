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
