//! `triagegate demo`: a ready-to-try service. Creates, if absent, the `demo` tenant, one user per
//! role with known local credentials, its past cases and a few open tickets with logs; prints the
//! credentials; serves, and proposes for the open tickets as soon as the index is built.
//! The credentials are public by design: bind the demo to localhost only.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::auth;
use crate::config::Config;
use crate::domain::Actor;
use crate::domain::attachment::NewAttachment;
use crate::domain::tenant::{NewTenant, TenantSlug};
use crate::domain::ticket::{AttachmentLimits, NewTicket, TicketDraft};
use crate::domain::user::{NewUser, Role, TenantGrant};
use crate::store::{self, Store};

pub const DEMO_TENANT: &str = "demo";

/// Demo users: name, role, password, API token.
pub const DEMO_USERS: [(&str, Role, &str, &str); 5] = [
    ("demo-l1", Role::L1, "demo-l1-password", "tg_demo_l1_token"),
    (
        "demo-approver",
        Role::Approver,
        "demo-approver-password",
        "tg_demo_approver_token",
    ),
    ("demo-qa", Role::Qa, "demo-qa-password", "tg_demo_qa_token"),
    (
        "demo-admin",
        Role::Admin,
        "demo-admin-password",
        "tg_demo_admin_token",
    ),
    (
        "demo-requester",
        Role::Requester,
        "demo-requester-password",
        "tg_demo_requester_token",
    ),
];

pub async fn demo(config: Config) -> anyhow::Result<ExitCode> {
    let store = store::connect(&config.database)
        .await
        .context("opening the database")?;
    seed(store.as_ref()).await?;
    print_credentials(&config);
    let app = crate::app::App::build_with_store(config, store.clone()).await?;
    tokio::spawn(triage_open_tickets(store, app.triage()));
    eprintln!("triagegate demo listening on http://{}", app.local_addr());
    app.run_until_stopped(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Creates what is missing of the demo data; running it twice changes nothing.
pub async fn seed(store: &dyn Store) -> anyhow::Result<()> {
    let slug = TenantSlug::parse(DEMO_TENANT)?;
    let actor = Actor::cli();
    let (tenant, created) = match store.tenant_by_slug(&slug).await {
        Ok(tenant) => (tenant, false),
        Err(store::Error::NotFound { .. }) => {
            let new = NewTenant::new(slug.clone(), Some("Demo Client Ltd"))?;
            (store.create_tenant(&new, &actor).await?, true)
        }
        Err(other) => return Err(other.into()),
    };
    for (name, role, password, token) in DEMO_USERS {
        match store.user_by_name(name).await {
            Ok(_) => continue,
            Err(store::Error::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        let grant = if role == Role::Admin || role == Role::Qa {
            TenantGrant::All
        } else {
            TenantGrant::Only(vec![slug.clone()])
        };
        let new = NewUser::new(
            name,
            role,
            grant,
            Some(auth::hash_password(password)?),
            auth::hash_token(token),
            None,
        )?;
        store.create_user(&new, &actor).await?;
    }
    import_cases(store, &tenant).await?;
    if created {
        for draft in sample_tickets()? {
            let limits = AttachmentLimits {
                max_attachment: u64::MAX,
                max_total: u64::MAX,
            };
            // No triage queued here: the service triages the demo's open tickets once it runs.
            let new = NewTicket::from_draft(&tenant, draft, limits)?;
            store
                .create_ticket(&new, &Actor::user("demo-requester"))
                .await?;
        }
    }
    Ok(())
}

/// The demo's past cases and open tickets, written for the project (see demo/NOTICE.md); embedded
/// so the binary runs from any directory.
const DEMO_CASES: &[u8] = include_bytes!("../../demo/cases.csv");
const DEMO_TICKETS: &str = include_str!("../../demo/tickets.json");

#[derive(serde::Deserialize)]
struct DemoTicket {
    title: String,
    description: String,
    log_name: String,
    log: String,
}

fn sample_tickets() -> anyhow::Result<Vec<TicketDraft>> {
    let tickets: Vec<DemoTicket> =
        serde_json::from_str(DEMO_TICKETS).context("demo/tickets.json is not valid")?;
    tickets
        .into_iter()
        .map(|t| {
            Ok(TicketDraft {
                title: t.title,
                description: Some(t.description),
                requester: Some("demo-requester".into()),
                attachments: vec![NewAttachment::new(&t.log_name, None, t.log.into_bytes())?],
            })
        })
        .collect()
}

/// Imports the demo's past cases into the demo tenant; unchanged rows are left alone.
async fn import_cases(
    store: &dyn Store,
    tenant: &crate::domain::tenant::Tenant,
) -> anyhow::Result<()> {
    let args = super::import::ImportArgs::defaults(DEMO_TENANT, "demo/cases.csv".into());
    let summary =
        super::import::import_bytes(DEMO_CASES, &args, tenant.id, store, &Actor::cli()).await?;
    anyhow::ensure!(
        summary.failed == 0,
        "demo/cases.csv has {} bad rows",
        summary.failed
    );
    Ok(())
}

/// Proposes for the demo's open tickets that have no suggestion yet, once the index is ready,
/// so a newcomer sees suggestions with evidence at the first look.
async fn triage_open_tickets(store: Arc<dyn Store>, triage: Arc<crate::triage::Triage>) {
    for _ in 0..600 {
        if triage.index().is_ready() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Ok(tenant) = TenantSlug::parse(DEMO_TENANT) else {
        return;
    };
    let Ok(tenant) = store.tenant_by_slug(&tenant).await else {
        return;
    };
    let query = crate::store::TicketQuery {
        visibility: crate::store::Visibility::AllTenants,
        tenant: Some(tenant.id),
        stage: Some(crate::domain::ticket::Stage::New),
        priority: None,
        service_group: None,
        before: None,
        limit: 100,
    };
    let Ok(tickets) = store.list_tickets(&query).await else {
        return;
    };
    for ticket in tickets {
        if store
            .suggestions_for(ticket.id)
            .await
            .is_ok_and(|s| s.is_empty())
            && let Err(err) = triage
                .request(ticket.id, ticket.tenant_id, &Actor::system("demo"))
                .await
        {
            tracing::warn!(ticket.id = %ticket.id, error = %err, "the demo ticket's triage failed");
        }
    }
}

fn print_credentials(config: &Config) {
    let base = format!("http://{}", config.http.listen);
    eprintln!("\ndemo tenant: {DEMO_TENANT}   (local demo credentials, do not expose)\n");
    eprintln!("{:<16} {:<10} {:<26} API token", "user", "role", "password");
    for (name, role, password, token) in DEMO_USERS {
        eprintln!("{name:<16} {:<10} {password:<26} {token}", role.as_str());
    }
    eprintln!("\nsign in: {base}/login as demo-l1 / demo-l1-password (the L1 queue and proposals)");
    eprintln!("         approvals as demo-approver, the QA figures as demo-qa");
    eprintln!("try:     curl -H 'Authorization: Bearer tg_demo_l1_token' {base}/api/v1/tickets\n");
}
