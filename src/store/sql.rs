//! The SQL both backends share. SQLite and PostgreSQL accept the same `$n` statements here, so the
//! `Store` methods are written once and stamped out for each pool type by `impl_sql_store!`;
//! what differs (opening, write locking, migrations) lives in `sqlite.rs` and `postgres.rs`,
//! which must provide `MIGRATOR`, `pool`, `begin_write` and `lock_audit_head`.

/// Selects one ticket with its tenant's slug by id.
pub(super) const SELECT_TICKET: &str = "select t.ticket_id, t.tenant_id, n.slug as tenant_slug, \
    t.title, t.description, t.requester, t.stage, t.priority, t.service_group, t.owner, \
    t.next_step_text, t.next_step_owner, t.next_step_due, t.created_at, t.updated_at, \
    t.acknowledged_at, t.resolved_at, t.closed_at, t.reopen_count \
    from ticket t join tenant n on n.tenant_id = t.tenant_id where t.ticket_id = $1";

/// Lists tickets visible to a user (or all), with optional filters, newest first.
pub(super) const LIST_TICKETS: &str = "select t.ticket_id, t.tenant_id, n.slug as tenant_slug, \
    t.title, t.description, t.requester, t.stage, t.priority, t.service_group, t.owner, \
    t.next_step_text, t.next_step_owner, t.next_step_due, t.created_at, t.updated_at, \
    t.acknowledged_at, t.resolved_at, t.closed_at, t.reopen_count \
    from ticket t join tenant n on n.tenant_id = t.tenant_id \
    where ($1 or t.tenant_id in (select ut.tenant_id from user_tenant ut where ut.user_id = $2)) \
      and ($3 is null or t.tenant_id = $3) \
      and ($4 is null or t.stage = $4) \
      and ($5 is null or t.priority = $5) \
      and ($6 is null or t.service_group = $6) \
      and ($7 is null or t.ticket_id < $7) \
    order by t.ticket_id desc limit $8";

/// A user joined with its granted tenants, a row each, by token hash or by name: one round trip.
pub(super) const USER_BY_TOKEN_HASH: &str = "select u.user_id, u.name, u.role, u.all_tenants, \
    u.token_expires_at, ut.tenant_id from app_user u \
    left join user_tenant ut on ut.user_id = u.user_id where u.token_hash = $1";

pub(super) const USER_BY_NAME: &str = "select u.user_id, u.name, u.role, u.all_tenants, \
    u.token_expires_at, ut.tenant_id from app_user u \
    left join user_tenant ut on ut.user_id = u.user_id where u.name = $1";

/// Past cases: resolved or closed tickets, optionally of one tenant, in id order.
/// The columns of a past case, with how many attachments it has (their digests are indexed).
macro_rules! case_columns {
    () => {
        "select ticket_id, tenant_id, external_id, title, description, resolution, service_group, \
         priority, impact, urgency, created_at, closed_at, \
         (select count(*) from attachment a where a.ticket_id = ticket.ticket_id) as attachments \
         from ticket "
    };
}

pub(super) const LIST_CASES: &str = concat!(
    case_columns!(),
    "where stage in ('resolved', 'closed') and ($1 is null or tenant_id = $1) \
     and ($2 is null or ticket_id > $2) order by ticket_id limit $3"
);

/// A tenant's most recent past cases, newest first.
pub(super) const RECENT_CASES: &str = concat!(
    case_columns!(),
    "where stage in ('resolved', 'closed') and tenant_id = $1 \
     order by created_at desc, ticket_id desc limit $2"
);

pub(super) const CASE_BY_ID: &str = concat!(
    case_columns!(),
    "where stage in ('resolved', 'closed') and ticket_id = $1"
);

pub(super) const CASE_BY_EXTERNAL_ID: &str =
    concat!(case_columns!(), "where tenant_id = $1 and external_id = $2");

/// The columns of a suggestion row (`SuggestionRow`).
/// The one insert of a new ticket's row, with `values` for its columns.
macro_rules! ticket_insert {
    ($values:literal) => {
        concat!(
            "insert into ticket (ticket_id, tenant_id, title, description, requester, stage, \
             created_at, updated_at) values ",
            $values
        )
    };
}
pub(super) use ticket_insert;

macro_rules! suggestion_columns {
    () => {
        "select suggestion_id, ticket_id, tenant_id, status, proposer, inputs_digest, fields, \
         inputs, error, llm, created_at from suggestion "
    };
}

pub(super) const SUGGESTIONS_FOR: &str = concat!(
    suggestion_columns!(),
    "where ticket_id = $1 order by created_at desc, suggestion_id desc"
);

pub(super) const SUGGESTION_BY_ID: &str =
    concat!(suggestion_columns!(), "where suggestion_id = $1");

pub(super) const AUDIT_FOR_ENTITY: &str = "select seq, event_id, tenant_id, actor, action, \
    entity_type, entity_id, payload, created_at, prev_hash, hash from audit_event \
    where entity_type = $1 and entity_id = $2 order by seq";

pub(super) const AUDIT_AFTER: &str = "select seq, event_id, tenant_id, actor, action, \
    entity_type, entity_id, payload, created_at, prev_hash, hash from audit_event \
    where seq > $1 order by seq limit $2";

macro_rules! impl_sql_store {
    ($store:ident, $db:ty) => {
        impl $store {
            /// Seals `event` after the current head of the chain and inserts it in `tx`.
            async fn append_audit(
                tx: &mut sqlx::Transaction<'static, $db>,
                event: $crate::domain::audit::NewAuditEvent,
            ) -> Result<$crate::domain::audit::AuditEvent, $crate::store::Error> {
                Self::lock_audit_head(tx).await?;
                let head: Option<(i64, String)> =
                    sqlx::query_as("select seq, hash from audit_event order by seq desc limit 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                let (seq, prev) = match head {
                    Some((seq, hash)) => (seq + 1, hash),
                    None => (1, $crate::domain::audit::GENESIS_HASH.to_string()),
                };
                let sealed = event.seal(seq, &prev);
                sqlx::query(
                    "insert into audit_event (seq, event_id, tenant_id, actor, action, \
                     entity_type, entity_id, payload, created_at, prev_hash, hash) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(sealed.seq)
                .bind(sealed.event_id)
                .bind(sealed.tenant_id.map(|t| t.0))
                .bind(&sealed.actor)
                .bind(&sealed.action)
                .bind(&sealed.entity_type)
                .bind(&sealed.entity_id)
                .bind(&sealed.payload)
                .bind(sealed.created_at)
                .bind(&sealed.prev_hash)
                .bind(&sealed.hash)
                .execute(&mut **tx)
                .await?;
                Ok(sealed)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> Result<(), $crate::store::Error> {
                Self::MIGRATOR.run(self.pool()).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), $crate::store::Error> {
                sqlx::query("select 1").execute(self.pool()).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(tenant = %new.slug))]
            async fn create_tenant(
                &self,
                new: &$crate::domain::tenant::NewTenant,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::tenant::Tenant, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                sqlx::query(
                    "insert into tenant (tenant_id, slug, name, created_at) values ($1, $2, $3, $4)",
                )
                .bind(new.id.0)
                .bind(new.slug.as_str())
                .bind(&new.name)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::conflict_if_unique(format!("tenant {}", new.slug)))?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(new.id),
                    actor,
                    "tenant.created",
                    "tenant",
                    new.id.0,
                    serde_json::json!({ "slug": new.slug.as_str(), "name": new.name }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok($crate::domain::tenant::Tenant {
                    id: new.id,
                    slug: new.slug.clone(),
                    name: new.name.clone(),
                    shared_pool: false,
                    created_at: new.created_at,
                })
            }

            async fn tenant_by_slug(
                &self,
                slug: &$crate::domain::tenant::TenantSlug,
            ) -> Result<$crate::domain::tenant::Tenant, $crate::store::Error> {
                let row: Option<$crate::store::rows::TenantRow> = sqlx::query_as(
                    "select tenant_id, slug, name, shared_pool, created_at from tenant where slug = $1",
                )
                .bind(slug.as_str())
                .fetch_optional(self.pool())
                .await?;
                row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "tenant",
                    id: slug.to_string(),
                })?
                .try_into()
            }

            async fn tenants(
                &self,
            ) -> Result<Vec<$crate::domain::tenant::Tenant>, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::TenantRow> = sqlx::query_as(
                    "select tenant_id, slug, name, shared_pool, created_at from tenant order by slug",
                )
                .fetch_all(self.pool())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_shared_pool(
                &self,
                slug: &$crate::domain::tenant::TenantSlug,
                shared: bool,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::tenant::Tenant, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let row: Option<$crate::store::rows::TenantRow> = sqlx::query_as(
                    "update tenant set shared_pool = $1 where slug = $2 \
                     returning tenant_id, slug, name, shared_pool, created_at",
                )
                .bind(shared)
                .bind(slug.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let tenant: $crate::domain::tenant::Tenant = row
                    .ok_or_else(|| $crate::store::Error::NotFound {
                        entity: "tenant",
                        id: slug.to_string(),
                    })?
                    .try_into()?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(tenant.id),
                    actor,
                    "tenant.shared_pool_set",
                    "tenant",
                    tenant.id.0,
                    serde_json::json!({ "shared_pool": shared }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(tenant)
            }

            #[tracing::instrument(skip_all, fields(case = %case.external_id))]
            async fn upsert_case(
                &self,
                case: &$crate::domain::case::ImportedCase,
                actor: &$crate::domain::Actor,
            ) -> Result<
                ($crate::domain::case::ImportOutcome, $crate::domain::case::CaseRecord),
                $crate::store::Error,
            > {
                use $crate::domain::case::{CaseRecord, ImportOutcome};
                let (_writer, mut tx) = self.begin_write().await?;
                let existing: Option<$crate::store::rows::CaseRow> =
                    sqlx::query_as($crate::store::sql::CASE_BY_EXTERNAL_ID)
                        .bind(case.tenant_id.0)
                        .bind(&case.external_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let existing: Option<CaseRecord> = existing.map(TryInto::try_into).transpose()?;
                let now = $crate::domain::now();
                let (outcome, id) = match &existing {
                    Some(stored) if case.same_content(stored) => {
                        tx.rollback().await?;
                        return Ok((ImportOutcome::Unchanged, stored.clone()));
                    }
                    Some(stored) => {
                        let case = &case.keeping_times_of(stored);
                        sqlx::query(
                            "update ticket set title = $1, description = $2, service_group = $3, \
                             priority = $4, impact = $5, urgency = $6, resolution = $7, \
                             created_at = $8, closed_at = $9, resolved_at = $9, updated_at = $10, \
                             case_changed_at = $10, stage = 'closed' where ticket_id = $11",
                        )
                        .bind(&case.title)
                        .bind(&case.description)
                        .bind(&case.service_group)
                        .bind(case.priority.map(|p| p.as_str()))
                        .bind(case.impact.map(|l| l.as_str()))
                        .bind(case.urgency.map(|l| l.as_str()))
                        .bind(&case.resolution)
                        .bind(case.created_at)
                        .bind(case.closed_at)
                        .bind(now)
                        .bind(stored.id.0)
                        .execute(&mut *tx)
                        .await?;
                        (ImportOutcome::Updated, stored.id)
                    }
                    None => {
                        sqlx::query(
                            "insert into ticket (ticket_id, tenant_id, external_id, title, \
                             description, stage, priority, service_group, impact, urgency, \
                             resolution, created_at, updated_at, case_changed_at, resolved_at, \
                             closed_at) \
                             values ($1, $2, $3, $4, $5, 'closed', $6, $7, $8, $9, $10, $11, $12, \
                             $12, $13, $13)",
                        )
                        .bind(case.id.0)
                        .bind(case.tenant_id.0)
                        .bind(&case.external_id)
                        .bind(&case.title)
                        .bind(&case.description)
                        .bind(case.priority.map(|p| p.as_str()))
                        .bind(&case.service_group)
                        .bind(case.impact.map(|l| l.as_str()))
                        .bind(case.urgency.map(|l| l.as_str()))
                        .bind(&case.resolution)
                        .bind(case.created_at)
                        .bind(now)
                        .bind(case.closed_at)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::store::conflict_if_unique(format!(
                            "case {}",
                            case.external_id
                        )))?;
                        (ImportOutcome::Created, case.id)
                    }
                };
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(case.tenant_id),
                    actor,
                    match outcome {
                        ImportOutcome::Created => "case.imported",
                        _ => "case.reimported",
                    },
                    "ticket",
                    id,
                    serde_json::json!({
                        "external_id": case.external_id,
                        "service_group": case.service_group,
                        "priority": case.priority.map(|p| p.as_str()),
                        "title": case.title,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                let mut record = case.record();
                record.id = id;
                Ok((outcome, record))
            }

            async fn cases(
                &self,
                tenant: Option<$crate::domain::tenant::TenantId>,
                after: Option<$crate::domain::ticket::TicketId>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::case::CaseRecord>, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::CaseRow> =
                    sqlx::query_as($crate::store::sql::LIST_CASES)
                        .bind(tenant.map(|t| t.0))
                        .bind(after.map(|t| t.0))
                        .bind(i64::from(limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn recent_cases(
                &self,
                tenant: $crate::domain::tenant::TenantId,
                limit: u32,
            ) -> Result<Vec<$crate::domain::case::CaseRecord>, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::CaseRow> =
                    sqlx::query_as($crate::store::sql::RECENT_CASES)
                        .bind(tenant.0)
                        .bind(i64::from(limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn case_stats(&self) -> Result<$crate::store::CaseStats, $crate::store::Error> {
                let (count, last_change): (i64, Option<chrono::DateTime<chrono::Utc>>) =
                    sqlx::query_as(
                        "select count(*), max(case_changed_at) from ticket \
                         where stage in ('resolved', 'closed')",
                    )
                    .fetch_one(self.pool())
                    .await?;
                Ok($crate::store::CaseStats {
                    count: u64::try_from(count).unwrap_or(0),
                    last_change,
                })
            }

            async fn case(
                &self,
                id: $crate::domain::ticket::TicketId,
            ) -> Result<Option<$crate::domain::case::CaseRecord>, $crate::store::Error> {
                let row: Option<$crate::store::rows::CaseRow> =
                    sqlx::query_as($crate::store::sql::CASE_BY_ID)
                        .bind(id.0)
                        .fetch_optional(self.pool())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(skip_all, fields(ticket.id = %suggestion.ticket_id))]
            async fn insert_suggestion(
                &self,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                Self::insert_suggestion_in(&mut tx, suggestion).await?;
                let event = $crate::store::jobs::suggestion_event(suggestion, actor);
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn suggestions_for(
                &self,
                ticket: $crate::domain::ticket::TicketId,
            ) -> Result<Vec<$crate::domain::suggestion::Suggestion>, $crate::store::Error> {
                // Live jobs first: a job that ends between the two reads then shows up twice,
                // pending and with its row, and the row wins; read the other way round, it
                // would be missed.
                let live: Vec<$crate::store::jobs::JobRow> =
                    sqlx::query_as($crate::store::jobs::LIVE_JOBS_FOR)
                        .bind(ticket.0)
                        .fetch_all(self.pool())
                        .await?;
                let rows: Vec<$crate::store::rows::SuggestionRow> =
                    sqlx::query_as($crate::store::sql::SUGGESTIONS_FOR)
                        .bind(ticket.0)
                        .fetch_all(self.pool())
                        .await?;
                let mut all = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<Vec<$crate::domain::suggestion::Suggestion>, _>>()?;
                for row in live {
                    let job: $crate::domain::job::TriageJob = row.try_into()?;
                    if job.shows_pending() && !all.iter().any(|s| s.id == job.suggestion_id) {
                        all.push(job.pending_suggestion());
                    }
                }
                all.sort_by(|a, b| (b.created_at, b.id.0).cmp(&(a.created_at, a.id.0)));
                Ok(all)
            }

            #[tracing::instrument(skip_all, fields(user = %new.name))]
            async fn create_user(
                &self,
                new: &$crate::domain::user::NewUser,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::user::User, $crate::store::Error> {
                use $crate::domain::user::TenantGrant;
                let (_writer, mut tx) = self.begin_write().await?;
                let mut tenant_ids = Vec::new();
                if let TenantGrant::Only(slugs) = &new.tenants {
                    for slug in slugs {
                        let id: Option<(uuid::Uuid,)> =
                            sqlx::query_as("select tenant_id from tenant where slug = $1")
                                .bind(slug.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let (id,) = id.ok_or_else(|| $crate::store::Error::NotFound {
                            entity: "tenant",
                            id: slug.to_string(),
                        })?;
                        if !tenant_ids.contains(&id) {
                            tenant_ids.push(id);
                        }
                    }
                }
                let all_tenants = matches!(new.tenants, TenantGrant::All);
                sqlx::query(
                    "insert into app_user (user_id, name, role, all_tenants, password_hash, \
                     token_hash, token_expires_at, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(new.id.0)
                .bind(&new.name)
                .bind(new.role.as_str())
                .bind(all_tenants)
                .bind(new.password_hash.as_deref())
                .bind(&new.token_hash)
                .bind(new.token_expires_at)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::conflict_if_unique(format!("user {}", new.name)))?;
                for tenant_id in &tenant_ids {
                    sqlx::query("insert into user_tenant (user_id, tenant_id) values ($1, $2)")
                        .bind(new.id.0)
                        .bind(*tenant_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let tenants_json = match &new.tenants {
                    TenantGrant::All => serde_json::json!("all"),
                    TenantGrant::Only(slugs) => serde_json::json!(
                        slugs.iter().map(|s| s.as_str()).collect::<Vec<_>>()
                    ),
                };
                // A requester belongs to one tenant, so its creation is filed under that tenant;
                // staff span tenants and are filed under none.
                let scope = match (new.role, tenant_ids.as_slice()) {
                    ($crate::domain::user::Role::Requester, [only]) => {
                        Some($crate::domain::tenant::TenantId(*only))
                    }
                    _ => None,
                };
                let event = $crate::domain::audit::NewAuditEvent::new(
                    scope,
                    actor,
                    "user.created",
                    "user",
                    new.id.0,
                    serde_json::json!({
                        "name": new.name,
                        "role": new.role.as_str(),
                        "tenants": tenants_json,
                        "password_set": new.password_hash.is_some(),
                        "token_expires_at": new.token_expires_at,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok($crate::domain::user::User {
                    id: new.id,
                    name: new.name.clone(),
                    role: new.role,
                    tenants: if all_tenants {
                        $crate::domain::user::TenantAccess::All
                    } else {
                        $crate::domain::user::TenantAccess::Only(
                            tenant_ids.into_iter().map($crate::domain::tenant::TenantId).collect(),
                        )
                    },
                    token_expires_at: new.token_expires_at,
                })
            }

            async fn user_by_token_hash(
                &self,
                token_hash: &str,
            ) -> Result<Option<$crate::domain::user::User>, $crate::store::Error> {
                // One round trip on every request: the user joined with its tenants, a row each.
                let rows: Vec<$crate::store::rows::UserTenantRow> =
                    sqlx::query_as($crate::store::sql::USER_BY_TOKEN_HASH)
                .bind(token_hash)
                .fetch_all(self.pool())
                .await?;
                $crate::store::rows::UserTenantRow::into_user(rows)
            }

            async fn user_by_name(
                &self,
                name: &str,
            ) -> Result<$crate::domain::user::User, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::UserTenantRow> =
                    sqlx::query_as($crate::store::sql::USER_BY_NAME)
                        .bind(name)
                        .fetch_all(self.pool())
                        .await?;
                $crate::store::rows::UserTenantRow::into_user(rows)?.ok_or_else(|| {
                    $crate::store::Error::NotFound {
                        entity: "user",
                        id: name.to_string(),
                    }
                })
            }

            #[tracing::instrument(skip_all, fields(ticket.id = %new.id))]
            async fn create_ticket(
                &self,
                new: &$crate::domain::ticket::NewTicket,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::ticket::TicketDetail, $crate::store::Error> {
                // Compressed before the write lock is taken: only the stored bytes go inside.
                let stored: Vec<$crate::store::blob::Stored<'_>> = new
                    .attachments
                    .iter()
                    .map(|a| $crate::store::blob::encode(&a.content))
                    .collect();
                let (_writer, mut tx) = self.begin_write().await?;
                // Queued with the ticket, in the same statement: a crash after this commit
                // cannot lose the triage, and the rows cost no extra round trip. The audit event
                // records them too, so the audit lock is taken once, last.
                if let Some(job) = &new.triage {
                    Self::insert_ticket_with_job_in(&mut tx, new, job).await?;
                } else {
                    sqlx::query($crate::store::sql::ticket_insert!(
                        "($1, $2, $3, $4, $5, 'new', $6, $6)"
                    ))
                    .bind(new.id.0)
                    .bind(new.tenant_id.0)
                    .bind(&new.title)
                    .bind(&new.description)
                    .bind(new.requester.as_deref())
                    .bind(new.created_at)
                    .execute(&mut *tx)
                    .await?;
                }
                let mut listed = Vec::with_capacity(new.attachments.len());
                for (attachment, stored) in new.attachments.iter().zip(&stored) {
                    sqlx::query(
                        "insert into attachment (attachment_id, ticket_id, name, media_type, \
                         size_bytes, sha256, content, encoding, created_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(attachment.id.0)
                    .bind(new.id.0)
                    .bind(&attachment.name)
                    .bind(&attachment.media_type)
                    .bind(attachment.content.len() as i64)
                    .bind(&attachment.sha256)
                    .bind(stored.bytes.as_ref())
                    .bind(stored.encoding.as_str())
                    .bind(new.created_at)
                    .execute(&mut *tx)
                    .await?;
                    listed.push(serde_json::json!({
                        "id": attachment.id.0,
                        "name": attachment.name,
                        "media_type": attachment.media_type,
                        "size": attachment.content.len(),
                        "sha256": attachment.sha256,
                    }));
                }
                let mut payload = serde_json::json!({
                    "title": new.title,
                    "description_chars": new.description.chars().count(),
                    "requester": new.requester,
                    "attachments": listed,
                });
                if let Some(job) = &new.triage {
                    payload["triage_job"] = $crate::store::jobs::queued_payload(job);
                }
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(new.tenant_id),
                    actor,
                    "ticket.created",
                    "ticket",
                    new.id,
                    payload,
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                // Built from what was written rather than read back: one round trip fewer.
                Ok(new.stored())
            }

            async fn ticket(
                &self,
                id: $crate::domain::ticket::TicketId,
            ) -> Result<$crate::domain::ticket::TicketDetail, $crate::store::Error> {
                let row: Option<$crate::store::rows::TicketRow> =
                    sqlx::query_as($crate::store::sql::SELECT_TICKET)
                        .bind(id.0)
                        .fetch_optional(self.pool())
                        .await?;
                let row = row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "ticket",
                    id: id.to_string(),
                })?;
                let attachments: Vec<$crate::store::rows::AttachmentMetaRow> = sqlx::query_as(
                    "select attachment_id, name, media_type, size_bytes, sha256, created_at \
                     from attachment where ticket_id = $1 order by attachment_id",
                )
                .bind(id.0)
                .fetch_all(self.pool())
                .await?;
                Ok($crate::domain::ticket::TicketDetail {
                    ticket: row.try_into()?,
                    attachments: attachments.into_iter().map(Into::into).collect(),
                })
            }

            async fn list_tickets(
                &self,
                query: &$crate::store::TicketQuery,
            ) -> Result<Vec<$crate::domain::ticket::Ticket>, $crate::store::Error> {
                let (all, user) = match query.visibility {
                    $crate::store::Visibility::AllTenants => (true, uuid::Uuid::nil()),
                    $crate::store::Visibility::GrantedTo(user) => (false, user.0),
                };
                let rows: Vec<$crate::store::rows::TicketRow> =
                    sqlx::query_as($crate::store::sql::LIST_TICKETS)
                        .bind(all)
                        .bind(user)
                        .bind(query.tenant.map(|t| t.0))
                        .bind(query.stage.map(|s| s.as_str()))
                        .bind(query.priority.map(|p| p.as_str()))
                        .bind(query.service_group.as_deref())
                        .bind(query.before.map(|t| t.0))
                        .bind(i64::from(query.limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(skip_all, fields(ticket.id = %id))]
            async fn edit_ticket(
                &self,
                id: $crate::domain::ticket::TicketId,
                edit: &$crate::domain::ticket::TicketEdit,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::ticket::TicketDetail, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let row: Option<$crate::store::rows::TicketRow> =
                    sqlx::query_as($crate::store::sql::SELECT_TICKET)
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let current: $crate::domain::ticket::Ticket = row
                    .ok_or_else(|| $crate::store::Error::NotFound {
                        entity: "ticket",
                        id: id.to_string(),
                    })?
                    .try_into()?;
                let (updated, changes) = edit.apply(&current, $crate::domain::now());
                let changed = changes.as_object().is_some_and(|c| !c.is_empty());
                if changed {
                    let next = updated.next_step.as_ref();
                    sqlx::query(
                        "update ticket set title = $1, description = $2, owner = $3, \
                         next_step_text = $4, next_step_owner = $5, next_step_due = $6, \
                         updated_at = $7 where ticket_id = $8",
                    )
                    .bind(&updated.title)
                    .bind(&updated.description)
                    .bind(updated.owner.as_deref())
                    .bind(next.map(|n| n.text.as_str()))
                    .bind(next.and_then(|n| n.owner.as_deref()))
                    .bind(next.and_then(|n| n.due))
                    .bind(updated.updated_at)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                    let event = $crate::domain::audit::NewAuditEvent::new(
                        Some(current.tenant_id),
                        actor,
                        "ticket.updated",
                        "ticket",
                        id,
                        serde_json::json!({ "changes": changes }),
                    );
                    Self::append_audit(&mut tx, event).await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                self.ticket(id).await
            }

            async fn attachment(
                &self,
                ticket: $crate::domain::ticket::TicketId,
                id: $crate::domain::attachment::AttachmentId,
            ) -> Result<$crate::domain::attachment::AttachmentContent, $crate::store::Error> {
                let row: Option<$crate::store::rows::AttachmentContentRow> = sqlx::query_as(
                    "select attachment_id, name, media_type, size_bytes, sha256, created_at, \
                     content, encoding from attachment where attachment_id = $1 and ticket_id = $2",
                )
                .bind(id.0)
                .bind(ticket.0)
                .fetch_optional(self.pool())
                .await?;
                let row = row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "attachment",
                    id: id.0.to_string(),
                })?;
                row.try_into()
            }

            async fn audit_events_for(
                &self,
                entity_type: &str,
                entity_id: &str,
            ) -> Result<Vec<$crate::domain::audit::AuditEvent>, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::AuditRow> = sqlx::query_as($crate::store::sql::AUDIT_FOR_ENTITY)
                .bind(entity_type)
                .bind(entity_id)
                .fetch_all(self.pool())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn audit_events_after(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::domain::audit::AuditEvent>, $crate::store::Error> {
                let rows: Vec<$crate::store::rows::AuditRow> = sqlx::query_as($crate::store::sql::AUDIT_AFTER)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

pub(super) use impl_sql_store;
