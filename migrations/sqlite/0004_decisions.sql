-- Human decisions on suggestions and the priority changes they ask for.
-- A decision is never edited: a later one on the same suggestion names the one it supersedes.
create table decision (
    decision_id      blob primary key not null,
    suggestion_id    blob not null references suggestion (suggestion_id),
    ticket_id        blob not null references ticket (ticket_id),
    tenant_id        blob not null references tenant (tenant_id),
    decided_by       text not null,
    decided_by_id    blob not null references app_user (user_id),
    fields           text not null,
    next_step_text   text,
    next_step_owner  text,
    next_step_due    text,
    supersedes       blob references decision (decision_id),
    created_at       text not null
);
create index decision_suggestion_idx on decision (suggestion_id, created_at);
create index decision_ticket_idx on decision (ticket_id, created_at);
create index decision_tenant_idx on decision (tenant_id, created_at);
-- At most one decision supersedes another: two racing decisions cannot both replace it.
create unique index decision_supersedes_idx on decision (supersedes) where supersedes is not null;

-- A request to change a ticket's priority. `ticket_version` is the ticket's updated_at right
-- after the decision; an approval of a ticket that changed since is refused.
create table priority_change (
    change_id        blob primary key not null,
    ticket_id        blob not null references ticket (ticket_id),
    tenant_id        blob not null references tenant (tenant_id),
    decision_id      blob not null references decision (decision_id),
    from_priority    text check (from_priority in ('P1', 'P2', 'P3', 'P4')),
    to_priority      text not null check (to_priority in ('P1', 'P2', 'P3', 'P4')),
    requested_by     text not null,
    requested_by_id  blob not null references app_user (user_id),
    status           text not null
                     check (status in ('pending', 'approved', 'rejected', 'applied', 'superseded')),
    ticket_version   text not null,
    decided_by       text,
    decided_by_id    blob references app_user (user_id),
    decided_at       text,
    reason           text,
    created_at       text not null
);
create index priority_change_status_idx on priority_change (status, created_at);
create index priority_change_ticket_idx on priority_change (ticket_id, created_at);
create index priority_change_decision_idx on priority_change (decision_id);

