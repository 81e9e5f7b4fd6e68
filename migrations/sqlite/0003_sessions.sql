-- Browser sign-in: sessions and the lock-out after repeated wrong passwords.
-- A session is kept only as the SHA-256 of its cookie token, so a copy of the database cannot
-- be replayed as a cookie. Times are RFC 3339 text in UTC and are compared in Rust, not in SQL,
-- because text comparison breaks when the fraction of a second changes length.

alter table app_user add column failed_logins integer not null default 0 check (failed_logins >= 0);
alter table app_user add column locked_until text;

create table web_session (
    session_hash text primary key not null,
    user_id      blob not null references app_user (user_id),
    csrf_token   text not null,
    created_at   text not null,
    expires_at   text not null,
    last_seen_at text not null
);
create index web_session_user_idx on web_session (user_id);
