//! Page tests: the real app on a random port, driven like a browser without JavaScript (forms,
//! cookies by hand, redirects not followed), on SQLite and (when
//! `TRIAGEGATE_TEST_POSTGRES_URL` is set) PostgreSQL. One binary for all of them.

#[path = "../support/mod.rs"]
mod support;

mod browser;
mod client;
mod helpers;
mod login;
mod matrix;
mod pages;
mod passwd;
mod sessions;
