//! API tests: the real app on a random port, through a real socket, on SQLite and (when
//! `TRIAGEGATE_TEST_POSTGRES_URL` is set) PostgreSQL. One binary for all of them.

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod auth;
mod bad_input;
mod decisions;
mod health;
mod qa;
mod tickets;
mod triage;
