//! `triagegate user add`: creates a user and prints its token, once, alone on the last line.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;

use super::UserAddArgs;
use crate::auth;
use crate::config::Config;
use crate::domain::Actor;
use crate::domain::tenant::TenantSlug;
use crate::domain::user::{NewUser, Role, TenantGrant};
use crate::store;

pub async fn add(args: UserAddArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let role = Role::parse(&args.role)?;
    let grant = if args.all_tenants {
        TenantGrant::All
    } else {
        let slugs = args
            .tenants
            .iter()
            .map(|s| TenantSlug::parse(s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        TenantGrant::Only(slugs)
    };
    let password_hash = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']);
        anyhow::ensure!(
            password.chars().count() >= 8,
            "the password must be at least 8 characters"
        );
        Some(auth::hash_password(password)?)
    } else {
        None
    };
    let token = auth::generate_token();
    let expires = args
        .token_days
        .map(|days| crate::domain::now() + chrono::TimeDelta::days(i64::from(days)));
    let new = NewUser::new(
        &args.name,
        role,
        grant,
        password_hash,
        auth::hash_token(&token),
        expires,
    )?;
    let store = store::connect(&config.database)
        .await
        .context("opening the database")?;
    let user = store.create_user(&new, &Actor::cli()).await?;
    eprintln!(
        "user {} added with role {}; the token below is shown only once",
        user.name, user.role
    );
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
