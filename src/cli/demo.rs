//! `triagegate demo`: a ready-to-try service. Creates, if absent, the `demo` tenant, one user per
//! role with known local credentials, and a few sample tickets; prints the credentials; serves.
//! The credentials are public by design: bind the demo to localhost only.

use std::process::ExitCode;

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
    let app = crate::app::App::build_with_store(config, store).await?;
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
    if created {
        for draft in sample_tickets()? {
            let limits = AttachmentLimits {
                max_attachment: u64::MAX,
                max_total: u64::MAX,
            };
            let new = NewTicket::from_draft(&tenant, draft, limits)?;
            store
                .create_ticket(&new, &Actor::user("demo-requester"))
                .await?;
        }
    }
    Ok(())
}

fn sample_tickets() -> anyhow::Result<Vec<TicketDraft>> {
    let vpn_log = "2026-11-02T08:14:03Z vpn-gw01 charon[2211]: 10[IKE] received AUTHENTICATION_FAILED notify error\n\
                   2026-11-02T08:14:09Z vpn-gw01 charon[2211]: 10[IKE] received AUTHENTICATION_FAILED notify error\n\
                   2026-11-02T08:15:12Z vpn-gw01 charon[2211]: 11[CFG] certificate \"CN=vpn.demo.example\" expired on 2026-11-01\n";
    let backup_log = "2026-11-03 01:00:00 INFO  job nightly-sql started\n\
                      2026-11-03 01:42:17 ERROR job nightly-sql failed: disk quota exceeded on \\\\nas02\\backups (98% used)\n\
                      2026-11-03 01:42:17 WARN  retention cleanup skipped\n";
    Ok(vec![
        TicketDraft {
            title: "Remote staff cannot connect to VPN".into(),
            description: Some(
                "Since this morning nobody working from home can connect. The client shows \
                 'authentication failed'."
                    .into(),
            ),
            requester: Some("demo-requester".into()),
            attachments: vec![NewAttachment::new(
                "vpn-gw01.log",
                None,
                vpn_log.as_bytes().to_vec(),
            )?],
        },
        TicketDraft {
            title: "Nightly SQL backup failed".into(),
            description: Some("The backup report e-mail says the nightly job failed.".into()),
            requester: Some("demo-requester".into()),
            attachments: vec![NewAttachment::new(
                "backup.log",
                None,
                backup_log.as_bytes().to_vec(),
            )?],
        },
        TicketDraft {
            title: "New starter needs a laptop and accounts".into(),
            description: Some("Maria Lopez starts on Monday in accounts.".into()),
            requester: Some("demo-requester".into()),
            attachments: vec![],
        },
    ])
}

fn print_credentials(config: &Config) {
    let base = format!("http://{}", config.http.listen);
    eprintln!("\ndemo tenant: {DEMO_TENANT}   (local demo credentials, do not expose)\n");
    eprintln!("{:<16} {:<10} {:<26} API token", "user", "role", "password");
    for (name, role, password, token) in DEMO_USERS {
        eprintln!("{name:<16} {:<10} {password:<26} {token}", role.as_str());
    }
    eprintln!("\ntry:  curl -H 'Authorization: Bearer tg_demo_l1_token' {base}/api/v1/tickets\n");
}
