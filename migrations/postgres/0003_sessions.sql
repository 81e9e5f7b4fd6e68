-- Browser sign-in: sessions and the lock-out after repeated wrong passwords.
-- A session is kept only as the SHA-256 of its cookie token, so a copy of the database cannot
-- be replayed as a cookie.

alter table app_user add column failed_logins bigint not null default 0 check (failed_logins >= 0);
alter table app_user add column locked_until timestamptz;

create table web_session (
    session_hash text primary key,
    user_id      uuid not null references app_user (user_id),
    csrf_token   text not null,
    created_at   timestamptz not null,
    expires_at   timestamptz not null,
    last_seen_at timestamptz not null
);
create index web_session_user_idx on web_session (user_id);
