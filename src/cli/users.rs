//! `triagegate user add`: creates a user and prints its token, once, alone on the last line.
//! `triagegate user passwd`: sets a user's sign-in password.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;

use super::{UserAddArgs, UserPasswdArgs};
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
        Some(auth::hash_password(&read_password()?)?)
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

pub async fn passwd(args: UserPasswdArgs, config: &Config) -> anyhow::Result<ExitCode> {
    // `--password-stdin` is required: clap refuses the command without it.
    let password_hash = auth::hash_password(&read_password()?)?;
    let store = store::connect(&config.database)
        .await
        .context("opening the database")?;
    match store
        .set_password(&args.name, &password_hash, &Actor::cli())
        .await
    {
        Ok(()) => {
            eprintln!(
                "password of {} set; the user's browser sessions have ended",
                args.name
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(store::Error::NotFound { .. }) => {
            anyhow::bail!(
                "no user is called {:?}; see `triagegate user add`",
                args.name
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// Reads a password from the first line of standard input, so it never shows in `ps` or the
/// shell history.
fn read_password() -> anyhow::Result<String> {
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
    Ok(password.to_string())
}
