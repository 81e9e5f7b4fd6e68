//! Decisions, priority changes and their approvals, and the decided suggestions QA audits.
//! A second trait beside `Store` so this part of the schema reads on its own; the SQL is shared
//! by both backends like `sql.rs`, stamped out by `impl_decision_store!`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Error, Visibility};
use crate::domain::Actor;
use crate::domain::decision::{
    ChangeId, ChangeStatus, DecidedSuggestion, Decision, NewDecision, PriorityChange,
};
use crate::domain::suggestion::{Suggestion, SuggestionId};
use crate::domain::tenant::{TenantId, TenantSlug};
use crate::domain::ticket::{Ticket, TicketId};
use crate::domain::user::User;

/// What recording a decision did.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRecorded {
    pub decision: Decision,
    pub priority_change: Option<PriorityChange>,
    pub ticket: Ticket,
}

/// Which priority changes a listing returns, newest first.
#[derive(Debug, Clone)]
pub struct ChangeQuery {
    pub visibility: Visibility,
    pub tenant: Option<TenantId>,
    pub status: Option<ChangeStatus>,
    pub limit: u32,
}

/// A priority change with what an approver needs to see beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeListing {
    pub change: PriorityChange,
    pub tenant: TenantSlug,
    pub ticket_title: String,
    /// The ticket changed after the request: approving it would approve something else.
    pub stale: bool,
}

/// Which decided suggestions QA reads, newest decision first.
#[derive(Debug, Clone)]
pub struct DecidedQuery {
    pub visibility: Visibility,
    pub tenant: Option<TenantId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// Which open tickets the queue shows.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    pub visibility: Visibility,
    pub tenant: Option<TenantId>,
    pub stage: Option<crate::domain::ticket::Stage>,
    pub priority: Option<crate::domain::ticket::Priority>,
    pub service_group: Option<String>,
    pub limit: u32,
}

/// An open ticket with its latest suggestion, if any (without the suggestion's inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub ticket: Ticket,
    pub suggestion: Option<Suggestion>,
}

#[async_trait]
pub trait DecisionStore: Send + Sync {
    async fn suggestion(&self, id: SuggestionId) -> Result<Suggestion, Error>;
    /// Stores the decision, applies its effects to the ticket and records or applies its
    /// priority change, with audit events, in one transaction. `Conflict` when the ticket
    /// changed since the decision was checked.
    async fn record_decision(
        &self,
        new: &NewDecision,
        actor: &Actor,
    ) -> Result<DecisionRecorded, Error>;
    /// A ticket's decisions, newest first, superseded ones included.
    async fn decisions_for(&self, ticket: TicketId) -> Result<Vec<Decision>, Error>;
    async fn priority_change(&self, id: ChangeId) -> Result<ChangeListing, Error>;
    async fn priority_changes(&self, query: &ChangeQuery) -> Result<Vec<ChangeListing>, Error>;
    /// A ticket's priority changes, newest first.
    async fn priority_changes_for(&self, ticket: TicketId) -> Result<Vec<PriorityChange>, Error>;
    /// Approves (the ticket's priority changes) or rejects a pending change. `Conflict` when it
    /// is no longer pending, or when approving and the ticket changed since the request.
    async fn decide_priority_change(
        &self,
        id: ChangeId,
        approve: bool,
        reason: Option<&str>,
        approver: &User,
        actor: &Actor,
    ) -> Result<PriorityChange, Error>;
    /// Open tickets with each one's latest suggestion, for the L1 queue: by the ticket's own
    /// priority (unset between P2 and P3), newest first within it, so the limit never drops an
    /// urgent ticket for a newer minor one.
    async fn queue(&self, query: &QueueQuery) -> Result<Vec<QueueItem>, Error>;
    /// The latest decision of every decided suggestion in range, with what was suggested.
    async fn decided_suggestions(
        &self,
        query: &DecidedQuery,
    ) -> Result<Vec<DecidedSuggestion>, Error>;
}

pub(super) const CHANGE_COLUMNS: &str = "c.change_id, c.ticket_id, c.tenant_id, c.decision_id, \
    c.from_priority, c.to_priority, c.requested_by, c.requested_by_id, c.status, \
    c.ticket_version, c.decided_by, c.decided_at, c.reason, c.created_at";

macro_rules! change_listing_sql {
    ($where:literal) => {
        concat!(
            "select c.change_id, c.ticket_id, c.tenant_id, c.decision_id, c.from_priority, \
             c.to_priority, c.requested_by, c.requested_by_id, c.status, c.ticket_version, \
             c.decided_by, c.decided_at, c.reason, c.created_at, \
             n.slug as tenant_slug, t.title as ticket_title, t.updated_at as ticket_updated_at \
             from priority_change c join ticket t on t.ticket_id = c.ticket_id \
             join tenant n on n.tenant_id = c.tenant_id ",
            $where
        )
    };
}

pub(super) const CHANGE_BY_ID: &str = change_listing_sql!("where c.change_id = $1");

pub(super) const LIST_CHANGES: &str = change_listing_sql!(
    "where ($1 or c.tenant_id in (select ut.tenant_id from user_tenant ut where ut.user_id = $2)) \
     and ($3 is null or c.tenant_id = $3) and ($4 is null or c.status = $4) \
     order by c.created_at desc, c.change_id desc limit $5"
);

pub(super) const DECISION_COLUMNS: &str = "d.decision_id, d.suggestion_id, d.ticket_id, \
    d.tenant_id, d.decided_by, d.decided_by_id, d.fields, d.next_step_text, d.next_step_owner, \
    d.next_step_due, d.supersedes, d.created_at";

/// The decision on a suggestion that nothing supersedes yet.
pub(super) const LATEST_DECISION: &str = "select d.decision_id from decision d \
    where d.suggestion_id = $1 \
    and not exists (select 1 from decision n where n.supersedes = d.decision_id) \
    order by d.created_at desc, d.decision_id desc limit 1";

pub(super) const DECIDED_SUGGESTIONS: &str = "select d.decision_id, d.suggestion_id, \
    d.ticket_id, d.tenant_id, d.decided_by, d.decided_by_id, d.fields, d.next_step_text, \
    d.next_step_owner, d.next_step_due, d.supersedes, d.created_at, \
    s.fields as suggested_fields, s.proposer, s.llm as suggested_llm, \
    s.created_at as suggested_at, n.slug as tenant_slug, \
    c.status as change_status, c.decided_by as change_decided_by, \
    c.decided_at as change_decided_at \
    from decision d join suggestion s on s.suggestion_id = d.suggestion_id \
    join tenant n on n.tenant_id = d.tenant_id \
    left join priority_change c on c.decision_id = d.decision_id \
    where not exists (select 1 from decision x where x.supersedes = d.decision_id) \
    and ($1 or d.tenant_id in (select ut.tenant_id from user_tenant ut where ut.user_id = $2)) \
    and ($3 is null or d.tenant_id = $3) \
    and ($4 is null or d.created_at >= $4) and ($5 is null or d.created_at < $5) \
    order by d.created_at desc, d.decision_id desc limit $6";

pub(super) const QUEUE: &str = "select t.ticket_id, t.tenant_id, n.slug as tenant_slug, \
    t.title, t.description, t.requester, t.stage, t.priority, t.service_group, t.owner, \
    t.next_step_text, t.next_step_owner, t.next_step_due, t.created_at, t.updated_at, \
    t.acknowledged_at, t.resolved_at, t.closed_at, t.reopen_count, \
    s.suggestion_id as s_id, s.status as s_status, s.proposer as s_proposer, \
    s.inputs_digest as s_inputs_digest, s.fields as s_fields, s.error as s_error, \
    s.created_at as s_created_at, \
    j.job_id as j_id, j.proposer as j_proposer, j.created_at as j_created_at \
    from ticket t join tenant n on n.tenant_id = t.tenant_id \
    left join suggestion s on s.suggestion_id = (select s2.suggestion_id from suggestion s2 \
        where s2.ticket_id = t.ticket_id order by s2.created_at desc, s2.suggestion_id desc limit 1) \
    left join triage_job j on j.job_id = (select j2.job_id from triage_job j2 \
        where j2.ticket_id = t.ticket_id and j2.status in ('queued', 'running') \
        and j2.suggestion_id = j2.job_id order by j2.job_id desc limit 1) \
    where t.stage not in ('resolved', 'closed') \
    and ($1 or t.tenant_id in (select ut.tenant_id from user_tenant ut where ut.user_id = $2)) \
    and ($3 is null or t.tenant_id = $3) and ($4 is null or t.stage = $4) \
    and ($5 is null or t.priority = $5) and ($6 is null or t.service_group = $6) \
    order by case t.priority when 'P1' then 0 when 'P2' then 1 when 'P3' then 3 \
        when 'P4' then 4 else 2 end, t.ticket_id desc limit $7";

/// The (all tenants, user) pair the visibility filters of this file bind.
pub(super) fn visibility_binds(visibility: Visibility) -> (bool, uuid::Uuid) {
    match visibility {
        Visibility::AllTenants => (true, uuid::Uuid::nil()),
        Visibility::GrantedTo(user) => (false, user.0),
    }
}

macro_rules! impl_decision_store {
    ($store:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::DecisionStore for $store {
            async fn suggestion(
                &self,
                id: $crate::domain::suggestion::SuggestionId,
            ) -> Result<$crate::domain::suggestion::Suggestion, $crate::store::Error> {
                // The job first: its row and its result are written in one transaction, so a
                // job still live when read whose result is not there when read later was
                // pending at that later read.
                let job: Option<$crate::store::jobs::JobRow> =
                    sqlx::query_as($crate::store::jobs::JOB_BY_ID)
                        .bind(id.0)
                        .fetch_optional(self.pool())
                        .await?;
                let row: Option<$crate::store::rows::SuggestionRow> =
                    sqlx::query_as($crate::store::sql::SUGGESTION_BY_ID)
                        .bind(id.0)
                        .fetch_optional(self.pool())
                        .await?;
                if let Some(row) = row {
                    return row.try_into();
                }
                // No row yet: a job that has not ended shows as its pending suggestion.
                let job = job
                    .map(TryInto::<$crate::domain::job::TriageJob>::try_into)
                    .transpose()?
                    .filter($crate::domain::job::TriageJob::shows_pending);
                job.map(|job| job.pending_suggestion())
                    .ok_or_else(|| $crate::store::Error::NotFound {
                        entity: "suggestion",
                        id: id.to_string(),
                    })
            }

            #[tracing::instrument(skip_all, fields(ticket.id = %new.decision.ticket_id))]
            async fn record_decision(
                &self,
                new: &$crate::domain::decision::NewDecision,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::store::DecisionRecorded, $crate::store::Error> {
                use $crate::domain::decision::ChangeStatus;
                let mut decision = new.decision.clone();
                let ticket_id = decision.ticket_id;
                let fields = serde_json::to_string(&decision.fields)
                    .map_err(|e| $crate::store::Error::Corrupt(e.to_string()))?;
                let (_writer, mut tx) = self.begin_write().await?;
                let current = Self::ticket_in(&mut tx, ticket_id).await?;
                if current.updated_at != new.expected_version {
                    return Err(stale_ticket(ticket_id));
                }
                let previous: Option<(uuid::Uuid,)> =
                    sqlx::query_as($crate::store::decisions::LATEST_DECISION)
                        .bind(decision.suggestion_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                decision.supersedes =
                    previous.map(|(id,)| $crate::domain::decision::DecisionId(id));
                let next = decision.next_step.as_ref();
                sqlx::query(
                    "insert into decision (decision_id, suggestion_id, ticket_id, tenant_id, \
                     decided_by, decided_by_id, fields, next_step_text, next_step_owner, \
                     next_step_due, supersedes, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(decision.id.0)
                .bind(decision.suggestion_id.0)
                .bind(ticket_id.0)
                .bind(decision.tenant_id.0)
                .bind(&decision.decided_by)
                .bind(decision.decided_by_id.0)
                .bind(&fields)
                .bind(next.map(|n| n.text.as_str()))
                .bind(next.and_then(|n| n.owner.as_deref()))
                .bind(next.and_then(|n| n.due))
                .bind(decision.supersedes.map(|d| d.0))
                .bind(decision.created_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::conflict_if_unique(format!(
                    "a newer decision on suggestion {}",
                    decision.suggestion_id
                )))?;
                // A version strictly after the one read, so a change in the same microsecond
                // still reads as a change.
                let version = std::cmp::max(
                    $crate::domain::now(),
                    current.updated_at + chrono::TimeDelta::microseconds(1),
                );
                let changes = &new.changes;
                let applied_priority = new
                    .priority_change
                    .as_ref()
                    .filter(|c| c.status == ChangeStatus::Applied)
                    .map(|c| c.to.as_str());
                let step = changes.next_step.as_ref();
                let updated = sqlx::query(
                    "update ticket set service_group = coalesce($1, service_group), \
                     impact = coalesce($2, impact), urgency = coalesce($3, urgency), \
                     priority = coalesce($4, priority), \
                     next_step_text = coalesce($5, next_step_text), \
                     next_step_owner = coalesce($6, next_step_owner), \
                     next_step_due = coalesce($7, next_step_due), \
                     stage = case when $8 then 'triaged' else stage end, updated_at = $9, \
                     acknowledged_at = coalesce(acknowledged_at, $9) \
                     where ticket_id = $10 and updated_at = $11",
                )
                .bind(changes.service_group.as_deref())
                .bind(changes.impact.map(|l| l.as_str()))
                .bind(changes.urgency.map(|l| l.as_str()))
                .bind(applied_priority)
                .bind(step.map(|n| n.text.as_str()))
                .bind(step.and_then(|n| n.owner.as_deref()))
                .bind(step.and_then(|n| n.due))
                .bind(changes.to_triaged)
                .bind(version)
                .bind(ticket_id.0)
                .bind(current.updated_at)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() != 1 {
                    return Err(stale_ticket(ticket_id));
                }
                // A new decision replaces requests still waiting: they were asked against the
                // ticket as it was, and could no longer be approved.
                let superseded: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "update priority_change set status = 'superseded' \
                     where ticket_id = $1 and status = 'pending' returning change_id",
                )
                .bind(ticket_id.0)
                .fetch_all(&mut *tx)
                .await?;
                for (change_id,) in superseded {
                    let event = $crate::domain::audit::NewAuditEvent::new(
                        Some(decision.tenant_id),
                        actor,
                        "priority_change.superseded",
                        "ticket",
                        ticket_id,
                        serde_json::json!({
                            "change_id": change_id,
                            "by_decision": decision.id,
                        }),
                    );
                    Self::append_audit(&mut tx, event).await?;
                }
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(decision.tenant_id),
                    actor,
                    "decision.recorded",
                    "ticket",
                    ticket_id,
                    serde_json::json!({
                        "decision_id": decision.id,
                        "suggestion_id": decision.suggestion_id,
                        "supersedes": decision.supersedes,
                        "fields": decision.fields,
                        "next_step": decision.next_step,
                        "changes": changes,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                let mut recorded_change = None;
                if let Some(change) = &new.priority_change {
                    let mut change = change.clone();
                    change.ticket_version = version;
                    sqlx::query(
                        "insert into priority_change (change_id, ticket_id, tenant_id, \
                         decision_id, from_priority, to_priority, requested_by, requested_by_id, \
                         status, ticket_version, created_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(change.id.0)
                    .bind(ticket_id.0)
                    .bind(change.tenant_id.0)
                    .bind(decision.id.0)
                    .bind(change.from.map(|p| p.as_str()))
                    .bind(change.to.as_str())
                    .bind(&change.requested_by)
                    .bind(change.requested_by_id.0)
                    .bind(change.status.as_str())
                    .bind(change.ticket_version)
                    .bind(change.created_at)
                    .execute(&mut *tx)
                    .await?;
                    let action = if change.status == ChangeStatus::Applied {
                        "priority.changed"
                    } else {
                        "priority_change.requested"
                    };
                    let event = $crate::domain::audit::NewAuditEvent::new(
                        Some(decision.tenant_id),
                        actor,
                        action,
                        "ticket",
                        ticket_id,
                        serde_json::json!({
                            "change_id": change.id,
                            "decision_id": decision.id,
                            "from": change.from,
                            "to": change.to,
                            "status": change.status.as_str(),
                        }),
                    );
                    Self::append_audit(&mut tx, event).await?;
                    recorded_change = Some(change);
                }
                let ticket = Self::ticket_in(&mut tx, ticket_id).await?;
                tx.commit().await?;
                Ok($crate::store::DecisionRecorded {
                    decision,
                    priority_change: recorded_change,
                    ticket,
                })
            }

            async fn decisions_for(
                &self,
                ticket: $crate::domain::ticket::TicketId,
            ) -> Result<Vec<$crate::domain::decision::Decision>, $crate::store::Error> {
                let sql = format!(
                    "select {} from decision d where d.ticket_id = $1 \
                     order by d.created_at desc, d.decision_id desc",
                    $crate::store::decisions::DECISION_COLUMNS
                );
                let rows: Vec<$crate::store::rows::DecisionRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(ticket.0)
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn priority_change(
                &self,
                id: $crate::domain::decision::ChangeId,
            ) -> Result<$crate::store::ChangeListing, $crate::store::Error> {
                let row: Option<$crate::store::rows::ChangeListingRow> =
                    sqlx::query_as($crate::store::decisions::CHANGE_BY_ID)
                        .bind(id.0)
                        .fetch_optional(self.pool())
                        .await?;
                row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "approval",
                    id: id.to_string(),
                })?
                .try_into()
            }

            async fn priority_changes(
                &self,
                query: &$crate::store::ChangeQuery,
            ) -> Result<Vec<$crate::store::ChangeListing>, $crate::store::Error> {
                let (all, user) = $crate::store::decisions::visibility_binds(query.visibility);
                let rows: Vec<$crate::store::rows::ChangeListingRow> =
                    sqlx::query_as($crate::store::decisions::LIST_CHANGES)
                        .bind(all)
                        .bind(user)
                        .bind(query.tenant.map(|t| t.0))
                        .bind(query.status.map(|s| s.as_str()))
                        .bind(i64::from(query.limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn priority_changes_for(
                &self,
                ticket: $crate::domain::ticket::TicketId,
            ) -> Result<Vec<$crate::domain::decision::PriorityChange>, $crate::store::Error> {
                let sql = format!(
                    "select {} from priority_change c where c.ticket_id = $1 \
                     order by c.created_at desc, c.change_id desc",
                    $crate::store::decisions::CHANGE_COLUMNS
                );
                let rows: Vec<$crate::store::rows::ChangeRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(ticket.0)
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(skip_all, fields(change = %id))]
            async fn decide_priority_change(
                &self,
                id: $crate::domain::decision::ChangeId,
                approve: bool,
                reason: Option<&str>,
                approver: &$crate::domain::user::User,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::decision::PriorityChange, $crate::store::Error> {
                use $crate::domain::decision::ChangeStatus;
                let (_writer, mut tx) = self.begin_write().await?;
                let row: Option<$crate::store::rows::ChangeListingRow> =
                    sqlx::query_as($crate::store::decisions::CHANGE_BY_ID)
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let listing: $crate::store::ChangeListing = row
                    .ok_or_else(|| $crate::store::Error::NotFound {
                        entity: "approval",
                        id: id.to_string(),
                    })?
                    .try_into()?;
                let mut change = listing.change;
                if change.status != ChangeStatus::Pending {
                    return Err($crate::store::Error::Conflict(format!(
                        "approval {id} is already {}",
                        change.status.as_str()
                    )));
                }
                let now = $crate::domain::now();
                if approve {
                    if listing.stale {
                        return Err($crate::store::Error::Conflict(format!(
                            "ticket {} changed after this priority change was requested; \
                             it needs a new decision",
                            change.ticket_id
                        )));
                    }
                    let version = std::cmp::max(
                        now,
                        change.ticket_version + chrono::TimeDelta::microseconds(1),
                    );
                    let updated = sqlx::query(
                        "update ticket set priority = $1, updated_at = $2 \
                         where ticket_id = $3 and updated_at = $4",
                    )
                    .bind(change.to.as_str())
                    .bind(version)
                    .bind(change.ticket_id.0)
                    .bind(change.ticket_version)
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() != 1 {
                        return Err(stale_ticket(change.ticket_id));
                    }
                }
                change.status = if approve {
                    ChangeStatus::Approved
                } else {
                    ChangeStatus::Rejected
                };
                change.decided_by = Some(approver.name.clone());
                change.decided_at = Some(now);
                change.reason = reason.map(str::to_string);
                let updated = sqlx::query(
                    "update priority_change set status = $1, decided_by = $2, \
                     decided_by_id = $3, decided_at = $4, reason = $5 \
                     where change_id = $6 and status = 'pending'",
                )
                .bind(change.status.as_str())
                .bind(&approver.name)
                .bind(approver.id.0)
                .bind(now)
                .bind(reason)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() != 1 {
                    return Err($crate::store::Error::Conflict(format!(
                        "approval {id} was decided meanwhile"
                    )));
                }
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(change.tenant_id),
                    actor,
                    if approve {
                        "priority_change.approved"
                    } else {
                        "priority_change.rejected"
                    },
                    "ticket",
                    change.ticket_id,
                    serde_json::json!({
                        "change_id": change.id,
                        "from": change.from,
                        "to": change.to,
                        "requested_by": change.requested_by,
                        "reason": reason,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(change)
            }

            async fn queue(
                &self,
                query: &$crate::store::QueueQuery,
            ) -> Result<Vec<$crate::store::QueueItem>, $crate::store::Error> {
                let (all, user) = $crate::store::decisions::visibility_binds(query.visibility);
                let rows: Vec<$crate::store::rows::QueueRow> =
                    sqlx::query_as($crate::store::decisions::QUEUE)
                        .bind(all)
                        .bind(user)
                        .bind(query.tenant.map(|t| t.0))
                        .bind(query.stage.map(|s| s.as_str()))
                        .bind(query.priority.map(|p| p.as_str()))
                        .bind(query.service_group.as_deref())
                        .bind(i64::from(query.limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn decided_suggestions(
                &self,
                query: &$crate::store::DecidedQuery,
            ) -> Result<Vec<$crate::domain::decision::DecidedSuggestion>, $crate::store::Error>
            {
                let (all, user) = $crate::store::decisions::visibility_binds(query.visibility);
                let rows: Vec<$crate::store::rows::DecidedRow> =
                    sqlx::query_as($crate::store::decisions::DECIDED_SUGGESTIONS)
                        .bind(all)
                        .bind(user)
                        .bind(query.tenant.map(|t| t.0))
                        .bind(query.from)
                        .bind(query.to)
                        .bind(i64::from(query.limit))
                        .fetch_all(self.pool())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        impl $store {
            /// Reads one ticket inside a transaction.
            async fn ticket_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: $crate::domain::ticket::TicketId,
            ) -> Result<$crate::domain::ticket::Ticket, $crate::store::Error> {
                let row: Option<$crate::store::rows::TicketRow> =
                    sqlx::query_as($crate::store::sql::SELECT_TICKET)
                        .bind(id.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "ticket",
                    id: id.to_string(),
                })?
                .try_into()
            }
        }

        fn stale_ticket(id: $crate::domain::ticket::TicketId) -> $crate::store::Error {
            $crate::store::Error::Conflict(format!(
                "ticket {id} changed since it was loaded; reload it and decide again"
            ))
        }
    };
}

pub(super) use impl_decision_store;
