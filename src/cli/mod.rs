//! The command line: `serve`, `migrate`, `tenant`, `user`, `audit`, `import`, `reindex`, `demo`,
//! `digest` and `eval`. Each command is a
//! small function over the store; output meant for scripts goes to stdout, the rest to stderr.

pub mod demo;
mod digest;
mod eval;
mod eval_llm;
mod eval_similar;
mod eval_tickets;
pub mod import;
mod reindex;
mod serve;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::domain::Actor;
use crate::domain::tenant::{NewTenant, TenantSlug};
use crate::store;

#[derive(Debug, Parser)]
#[command(
    name = "triagegate",
    version,
    about = "Evidence-first ticket triage for MSPs"
)]
pub struct Cli {
    /// A TOML file overriding config/default.toml (TRIAGEGATE_* variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the HTTP service.
    Serve,
    /// Applies database migrations and exits.
    Migrate,
    /// Manages tenants (the MSP's clients).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manages users and their API tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// Works with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Creates a demo tenant and one user per role if absent, prints their credentials, serves.
    Demo,
    /// Digests logs into their message templates: budgeted text, or the full JSON.
    Digest {
        /// Log files, plain or gzip; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Prints the whole digest as JSON instead of the budgeted text.
        #[arg(long)]
        json: bool,
        /// Most cl100k_base tokens the text may take.
        #[arg(long, default_value_t = 1000)]
        budget: usize,
    },
    /// Measures the service on evaluation data.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Imports past cases of a tenant from a CSV export; safe to run again.
    Import(import::ImportArgs),
    /// Rebuilds the similar-case index from the database (the service must be stopped).
    Reindex,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Template-mining accuracy (GA, FGA, PA) and speed on Loghub-style folders.
    Logs {
        /// A folder with one sub-folder per system holding <Sys>_2k.log_structured*.csv.
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Group (or any label) proposals: accuracy, macro-F1, coverage, precision, calibration.
    Tickets(eval_tickets::EvalTicketsArgs),
    /// Similar-case retrieval on duplicate-linked reports: recall@k and MRR.
    Similar(eval_similar::EvalSimilarArgs),
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Adds a tenant named by its slug (lowercase letters, digits, dashes).
    Add {
        slug: String,
        /// Display name; defaults to the slug.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Lists tenants.
    List,
    /// Lets a tenant's past cases join (or leave) the MSP-wide pool other pooled tenants search.
    Pool {
        slug: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Adds a user and prints its API token once, alone on the last line.
    Add(UserAddArgs),
    /// Sets a user's sign-in password, lifts a lock-out and ends the user's browser sessions.
    Passwd(UserPasswdArgs),
}

#[derive(Debug, Args)]
pub struct UserPasswdArgs {
    /// The user's name.
    pub name: String,
    /// Reads the new password (at least 8 characters) from the first line of standard input.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[arg(long)]
    pub name: String,
    /// l1, approver, qa, admin or requester.
    #[arg(long)]
    pub role: String,
    /// Tenants the user may act on, by slug: a,b.
    #[arg(long, value_delimiter = ',', conflicts_with = "all_tenants")]
    pub tenants: Vec<String>,
    /// Lets a staff user act on every tenant.
    #[arg(long)]
    pub all_tenants: bool,
    /// Reads a sign-in password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Makes the token expire after this many days (default: no expiry).
    #[arg(long, value_name = "DAYS")]
    pub token_days: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recomputes the hash chain and names the first broken event; exits 1 if broken.
    Verify,
}

pub async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve::serve(config).await,
        Command::Migrate => {
            store::connect(&config.database)
                .await
                .context("migrating the database")?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::Add { slug, display_name }) => {
            let store = store::connect(&config.database)
                .await
                .context("opening the database")?;
            let slug = TenantSlug::parse(&slug)?;
            let tenant = store
                .create_tenant(
                    &NewTenant::new(slug, display_name.as_deref())?,
                    &Actor::cli(),
                )
                .await?;
            println!("tenant {} added ({})", tenant.slug, tenant.id.0);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::List) => {
            let store = store::connect(&config.database)
                .await
                .context("opening the database")?;
            for tenant in store.tenants().await? {
                println!("{}\t{}", tenant.slug, tenant.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::Pool { slug, state }) => {
            let store = store::connect(&config.database)
                .await
                .context("opening the database")?;
            let slug = TenantSlug::parse(&slug)?;
            let tenant = store
                .set_shared_pool(&slug, state == "on", &Actor::cli())
                .await?;
            println!(
                "tenant {}: shared pool {}",
                tenant.slug,
                if tenant.shared_pool { "on" } else { "off" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add(args)) => users::add(args, &config).await,
        Command::User(UserCommand::Passwd(args)) => users::passwd(args, &config).await,
        Command::Audit(AuditCommand::Verify) => {
            let store = store::connect(&config.database)
                .await
                .context("opening the database")?;
            let report = store::verify_audit_chain(store.as_ref()).await?;
            match &report.broken {
                None => {
                    println!(
                        "audit chain intact: {} events, head {}",
                        report.events, report.head
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!(
                        "audit chain BROKEN at event {} ({}): {}",
                        broken.seq, broken.event_id, broken.reason
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Demo => demo::demo(config).await,
        Command::Eval(EvalCommand::Logs { data, json }) => eval::eval_logs(&data, json),
        Command::Eval(EvalCommand::Tickets(args)) => {
            eval_tickets::eval_tickets(args, &config).await
        }
        Command::Eval(EvalCommand::Similar(args)) => eval_similar::eval_similar(args).await,
        Command::Import(args) => import::import(args, &config).await,
        Command::Reindex => reindex::reindex(&config).await,
        Command::Digest {
            files,
            json,
            budget,
        } => digest::digest_files(&files, json, budget, &config.digest),
    }
}
