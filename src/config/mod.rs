//! Loads the configuration: `config/default.toml` (embedded at build time, so the binary runs from
//! any directory), then an optional file given with `--config`, then `TRIAGEGATE_*` variables.
//! It validates every value once, here, so the rest of the service can trust it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::domain::severity::{RawSeverity, SeverityMatrix};

mod llm;
pub use llm::{LlmConfig, Provider, ResponseMode, parse_duration};

/// The defaults shipped in the repository.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
/// The shipped severity matrix, used unless `triage.severity_file` names another.
const DEFAULT_SEVERITY_TOML: &str = include_str!("../../config/severity.toml");

/// Variables with a short name, kept stable for operators and outside checks.
const SHORT_ENV_KEYS: [(&str, &str); 3] = [
    ("database_url", "database.url"),
    ("listen", "http.listen"),
    ("index_dir", "index.dir"),
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error(
        "configuration file {path} cannot be read: {source}; pass an existing file to --config"
    )]
    MissingFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub index: IndexConfig,
    pub limits: Limits,
    pub digest: DigestConfig,
    pub triage: TriageConfig,
    /// Which priority changes wait for an approver.
    pub approvals: crate::domain::decision::ApprovalPolicy,
    pub web: WebConfig,
    pub llm: LlmConfig,
    pub log: LogConfig,
}

/// Browser sign-in: how long a session lasts, when wrong passwords lock an account, and
/// whether cookies are marked `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct WebConfig {
    pub session_ttl: chrono::TimeDelta,
    pub max_failed_logins: u32,
    pub lockout: chrono::TimeDelta,
    /// Marks cookies `Secure`, so browsers send them over https only; set behind https.
    pub secure_cookies: bool,
}

#[derive(Debug, Clone)]
pub struct TriageConfig {
    pub severity: std::sync::Arc<SeverityMatrix>,
    /// First 12 hex digits of the severity file's SHA-256, recorded with each suggestion.
    pub severity_version: String,
    pub on_create: bool,
    pub neighbours: usize,
    pub min_history: usize,
    pub target_precision: f64,
    pub thresholds: Thresholds,
    /// Triage workers in this process; SQLite always runs one.
    pub workers: usize,
    /// Attempts of a triage job before it is buried (dead).
    pub job_attempts: u32,
    /// How long a worker's claim on a job lasts unless renewed; a job whose worker died is
    /// taken over once it runs out.
    pub lease: std::time::Duration,
    /// How long `POST /tickets/{id}/triage` waits for the result before answering 202.
    pub wait: std::time::Duration,
}

/// Per-field confidence a proposal needs before it is shown as a suggestion.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub service_group: f32,
    pub impact: f32,
    pub urgency: f32,
    pub priority: f32,
}

impl Thresholds {
    pub fn get(&self, field: crate::domain::suggestion::Field) -> f32 {
        use crate::domain::suggestion::Field;
        match field {
            Field::ServiceGroup => self.service_group,
            Field::Impact => self.impact,
            Field::Urgency => self.urgency,
            Field::Priority => self.priority,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct DigestConfig {
    pub max_input: u64,
    pub max_line: u64,
    pub redact_ips: bool,
}

#[derive(Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

impl std::fmt::Debug for DatabaseConfig {
    /// Hides a password in the URL, since configs get logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url_password(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct IndexConfig {
    pub dir: PathBuf,
    /// How often the service checks that the index is whole and in step with the store.
    pub check_every: std::time::Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single attachment, in bytes.
    pub max_attachment: u64,
    /// Largest sum of attachments on one ticket, in bytes.
    pub max_ticket_attachments: u64,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub filter: String,
}

/// The file layout, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: RawDatabase,
    http: RawHttp,
    index: RawIndex,
    limits: RawLimits,
    digest: RawDigest,
    triage: RawTriage,
    approvals: RawApprovals,
    web: RawWeb,
    llm: llm::RawLlm,
    log: RawLog,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovals {
    priority_changes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    session_hours: u32,
    max_failed_logins: u32,
    lockout_minutes: u32,
    secure_cookies: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriage {
    severity_file: PathBuf,
    on_create: bool,
    neighbours: usize,
    min_history: usize,
    target_precision: f64,
    thresholds: Thresholds,
    workers: usize,
    job_attempts: u32,
    lease: String,
    wait: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    max_input: ByteSizeValue,
    max_line: ByteSizeValue,
    redact_ips: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    dir: PathBuf,
    check_seconds: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_attachment: ByteSizeValue,
    max_ticket_attachments: ByteSizeValue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    filter: String,
}

/// A size written as a number of bytes or as text such as `"20 MiB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ByteSizeValue {
    Bytes(u64),
    Text(String),
}

impl Config {
    /// Loads the defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Loads like [`Config::load`] with an explicit environment, so tests need not touch the process's.
    pub fn load_with_env(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let mut figment = Figment::new().merge(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::MissingFile {
                path: path.to_path_buf(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
        }
        for (key, value) in env_overrides(vars)? {
            // Parsed the way figment's own Env provider does, so "8" is a number and "1 MiB" text.
            let value: figment::value::Value = value.parse().unwrap_or_else(|never| match never {});
            figment = figment.merge((key, value));
        }
        let raw: RawConfig = figment
            .extract()
            .map_err(|err| Error::Invalid(describe_figment_error(&err)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, Error> {
        let url = raw.database.url.trim().to_string();
        if url.is_empty() {
            return Err(Error::Invalid(
                "database.url is empty; set it in the config file or TRIAGEGATE_DATABASE_URL \
                 (sqlite://PATH or postgres://USER@HOST/DB)"
                    .into(),
            ));
        }
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(Error::Invalid(format!(
                "database.url {:?} has an unsupported scheme; use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url_password(&url)
            )));
        }
        if raw.database.max_connections == 0 {
            return Err(Error::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        let listen: SocketAddr = raw.http.listen.trim().parse().map_err(|_| {
            Error::Invalid(format!(
                "http.listen {:?} is not HOST:PORT with a numeric IP, e.g. 127.0.0.1:8080 \
                 (set TRIAGEGATE_LISTEN)",
                raw.http.listen
            ))
        })?;
        let max_attachment = parse_size("limits.max_attachment", &raw.limits.max_attachment)?;
        let max_ticket_attachments = parse_size(
            "limits.max_ticket_attachments",
            &raw.limits.max_ticket_attachments,
        )?;
        if max_attachment == 0 || max_ticket_attachments < max_attachment {
            return Err(Error::Invalid(
                "limits: max_attachment must be above 0 and not above max_ticket_attachments"
                    .into(),
            ));
        }
        let digest = DigestConfig {
            max_input: parse_size("digest.max_input", &raw.digest.max_input)?,
            max_line: parse_size("digest.max_line", &raw.digest.max_line)?,
            redact_ips: raw.digest.redact_ips,
        };
        if digest.max_input == 0 || digest.max_line < 80 {
            return Err(Error::Invalid(
                "digest: max_input must be above 0 and max_line at least 80 bytes".into(),
            ));
        }
        if raw.index.dir.as_os_str().is_empty() {
            return Err(Error::Invalid(
                "index.dir is empty; set it or TRIAGEGATE_INDEX_DIR".into(),
            ));
        }
        let triage = load_triage(raw.triage)?;
        let approvals =
            crate::domain::decision::ApprovalPolicy::parse(raw.approvals.priority_changes.trim())
                .map_err(|e| Error::Invalid(e.to_string()))?;
        let web = load_web(&raw.web)?;
        let llm = llm::load_llm(raw.llm)?;
        Ok(Self {
            database: DatabaseConfig {
                url,
                max_connections: raw.database.max_connections,
            },
            http: HttpConfig { listen },
            index: IndexConfig {
                dir: raw.index.dir,
                check_every: std::time::Duration::from_secs(raw.index.check_seconds.max(1)),
            },
            limits: Limits {
                max_attachment,
                max_ticket_attachments,
            },
            digest,
            triage,
            approvals,
            web,
            llm,
            log: LogConfig {
                filter: raw.log.filter,
            },
        })
    }
}

fn load_web(raw: &RawWeb) -> Result<WebConfig, Error> {
    // A month bounds how long a stolen cookie stays useful.
    if !(1..=720).contains(&raw.session_hours) {
        return Err(Error::Invalid(
            "web.session_hours must lie in 1..=720 (TRIAGEGATE_WEB__SESSION_HOURS)".into(),
        ));
    }
    if raw.max_failed_logins == 0 {
        return Err(Error::Invalid(
            "web.max_failed_logins must be at least 1 (TRIAGEGATE_WEB__MAX_FAILED_LOGINS)".into(),
        ));
    }
    if !(1..=10_080).contains(&raw.lockout_minutes) {
        return Err(Error::Invalid(
            "web.lockout_minutes must lie in 1..=10080, a week at most \
             (TRIAGEGATE_WEB__LOCKOUT_MINUTES)"
                .into(),
        ));
    }
    Ok(WebConfig {
        session_ttl: chrono::TimeDelta::hours(i64::from(raw.session_hours)),
        max_failed_logins: raw.max_failed_logins,
        lockout: chrono::TimeDelta::minutes(i64::from(raw.lockout_minutes)),
        secure_cookies: raw.secure_cookies,
    })
}

fn load_triage(raw: RawTriage) -> Result<TriageConfig, Error> {
    let text = if raw.severity_file.as_os_str().is_empty() {
        DEFAULT_SEVERITY_TOML.to_string()
    } else {
        std::fs::read_to_string(&raw.severity_file).map_err(|source| Error::MissingFile {
            path: raw.severity_file.clone(),
            source,
        })?
    };
    let parsed: RawSeverity = Figment::new()
        .merge(Toml::string(&text))
        .extract()
        .map_err(|err| {
            Error::Invalid(format!("severity matrix: {}", describe_figment_error(&err)))
        })?;
    let severity =
        SeverityMatrix::from_raw(parsed).map_err(|err| Error::Invalid(err.to_string()))?;
    let thresholds = raw.thresholds;
    for (name, value) in [
        ("service_group", thresholds.service_group),
        ("impact", thresholds.impact),
        ("urgency", thresholds.urgency),
        ("priority", thresholds.priority),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(Error::Invalid(format!(
                "triage.thresholds.{name} is {value}; a confidence threshold lies in 0..=1"
            )));
        }
    }
    if !(0.5..=1.0).contains(&raw.target_precision) {
        return Err(Error::Invalid(
            "triage.target_precision must lie in 0.5..=1".into(),
        ));
    }
    if !(1..=32).contains(&raw.workers) {
        return Err(Error::Invalid(
            "triage.workers must be within 1..=32".into(),
        ));
    }
    if !(1..=20).contains(&raw.job_attempts) {
        return Err(Error::Invalid(
            "triage.job_attempts must be within 1..=20".into(),
        ));
    }
    let lease = parse_duration("triage.lease", &raw.lease)?;
    // The contract: a dead worker's job is taken over within a minute.
    if !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(60)).contains(&lease) {
        return Err(Error::Invalid(
            "triage.lease must lie between 1s and 60s".into(),
        ));
    }
    let wait = parse_duration("triage.wait", &raw.wait)?;
    if wait > std::time::Duration::from_secs(300) {
        return Err(Error::Invalid("triage.wait must be at most 5m".into()));
    }
    if raw.neighbours == 0 || raw.neighbours > 100 {
        return Err(Error::Invalid(
            "triage.neighbours must be within 1..=100".into(),
        ));
    }
    let digest = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(text.as_bytes()))
    };
    Ok(TriageConfig {
        severity: std::sync::Arc::new(severity),
        severity_version: digest[..12].to_string(),
        on_create: raw.on_create,
        neighbours: raw.neighbours,
        min_history: raw.min_history.max(2),
        target_precision: raw.target_precision,
        thresholds,
        workers: raw.workers,
        job_attempts: raw.job_attempts,
        lease,
        wait,
    })
}

/// Turns `TRIAGEGATE_*` variables into dotted config keys; unknown names stop start-up because a
/// misspelt variable that is silently ignored is worse than a refusal.
fn env_overrides(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, String)>, Error> {
    let mut overrides = Vec::new();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("TRIAGEGATE_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("test_") || lower.starts_with("bench_") {
            continue; // read by the test suite and benches, not by the service
        }
        let key = match SHORT_ENV_KEYS.iter().find(|(short, _)| *short == lower) {
            Some((_, key)) => (*key).to_string(),
            None if lower.contains("__") => lower.replace("__", "."),
            None => {
                return Err(Error::Invalid(format!(
                    "unknown environment variable {name}; known: TRIAGEGATE_DATABASE_URL, \
                     TRIAGEGATE_LISTEN, TRIAGEGATE_INDEX_DIR, or TRIAGEGATE_<SECTION>__<KEY>"
                )));
            }
        };
        overrides.push((key, value));
    }
    Ok(overrides)
}

fn describe_figment_error(err: &figment::Error) -> String {
    let mut parts = Vec::new();
    for one in err.clone() {
        let path = one.path.join(".");
        if path.is_empty() {
            parts.push(one.kind.to_string());
        } else {
            parts.push(format!("{path}: {}", one.kind));
        }
    }
    format!(
        "{}; see config/default.toml for the keys and their formats",
        parts.join("; ")
    )
}

fn parse_size(key: &str, value: &ByteSizeValue) -> Result<u64, Error> {
    match value {
        ByteSizeValue::Bytes(n) => Ok(*n),
        ByteSizeValue::Text(text) => parse_byte_size(text).ok_or_else(|| {
            Error::Invalid(format!(
                "{key} {text:?} is not a size; write e.g. \"20 MiB\", \"512 KiB\" or a number of bytes"
            ))
        }),
    }
}

/// Parses `"20 MiB"`, `"1.5GiB"`, `"300KB"` or `"1024"` into bytes.
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    let bytes = number * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// Replaces the password in `scheme://user:password@host` with `***`.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let after = &url[scheme_end + 3..];
    let Some(at) = after.find('@') else {
        return url.to_string();
    };
    let credentials = &after[..at];
    match credentials.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &credentials[..colon],
            &after[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let config = Config::load_with_env(None, env(&[])).expect("defaults load");
        assert_eq!(config.database.url, "sqlite://data/triagegate.db");
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.index.dir, PathBuf::from("index"));
        assert_eq!(config.limits.max_attachment, 20 * 1024 * 1024);
        assert_eq!(config.limits.max_ticket_attachments, 100 * 1024 * 1024);
    }

    #[test]
    fn environment_overrides_the_defaults() {
        let config = Config::load_with_env(
            None,
            env(&[
                ("TRIAGEGATE_DATABASE_URL", "postgres://tg@localhost/tg"),
                ("TRIAGEGATE_LISTEN", "0.0.0.0:9000"),
                ("TRIAGEGATE_INDEX_DIR", "/var/lib/tg/index"),
                ("TRIAGEGATE_LIMITS__MAX_ATTACHMENT", "1 MiB"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.database.url, "postgres://tg@localhost/tg");
        assert_eq!(config.http.listen.port(), 9000);
        assert_eq!(config.index.dir, PathBuf::from("/var/lib/tg/index"));
        assert_eq!(config.limits.max_attachment, 1 << 20);
    }

    #[test]
    fn a_file_overrides_the_defaults_and_the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tg.toml");
        std::fs::write(
            &path,
            "[http]\nlisten = \"127.0.0.1:7000\"\n[database]\nurl = \"sqlite://x.db\"\n",
        )
        .expect("write");
        let config =
            Config::load_with_env(Some(&path), env(&[("TRIAGEGATE_LISTEN", "127.0.0.1:7001")]))
                .expect("loads");
        assert_eq!(config.database.url, "sqlite://x.db");
        assert_eq!(config.http.listen.port(), 7001);
    }

    #[test]
    fn bad_values_say_how_to_fix_them() {
        let err = Config::load_with_env(None, env(&[("TRIAGEGATE_LISTEN", "localhost")]))
            .expect_err("refused");
        assert!(err.to_string().contains("TRIAGEGATE_LISTEN"), "{err}");

        let err = Config::load_with_env(None, env(&[("TRIAGEGATE_DATABASE_URL", "mysql://x")]))
            .expect_err("refused");
        assert!(err.to_string().contains("unsupported scheme"), "{err}");

        let err = Config::load_with_env(None, env(&[("TRIAGEGATE_DATABSE_URL", "x")]))
            .expect_err("refused");
        assert!(
            err.to_string().contains("unknown environment variable"),
            "{err}"
        );

        let err =
            Config::load_with_env(None, env(&[("TRIAGEGATE_LIMITS__MAX_ATTACHMENT", "lots")]))
                .expect_err("refused");
        assert!(err.to_string().contains("is not a size"), "{err}");

        let err =
            Config::load(Some(Path::new("/nonexistent/triagegate.toml"))).expect_err("refused");
        assert!(err.to_string().contains("--config"), "{err}");
    }

    #[test]
    fn web_sign_in_settings_default_and_follow_the_environment() {
        let config = Config::load_with_env(None, env(&[])).expect("loads");
        assert_eq!(config.web.session_ttl, chrono::TimeDelta::hours(12));
        assert_eq!(config.web.max_failed_logins, 5);
        assert_eq!(config.web.lockout, chrono::TimeDelta::minutes(15));
        assert!(!config.web.secure_cookies);

        let config = Config::load_with_env(
            None,
            env(&[
                ("TRIAGEGATE_WEB__SECURE_COOKIES", "true"),
                ("TRIAGEGATE_WEB__MAX_FAILED_LOGINS", "3"),
            ]),
        )
        .expect("loads");
        assert!(config.web.secure_cookies);
        assert_eq!(config.web.max_failed_logins, 3);

        let err = Config::load_with_env(None, env(&[("TRIAGEGATE_WEB__SESSION_HOURS", "0")]))
            .expect_err("refused");
        assert!(err.to_string().contains("SESSION_HOURS"), "{err}");
    }

    #[test]
    fn sizes_parse_in_common_units() {
        assert_eq!(parse_byte_size("20 MiB"), Some(20 << 20));
        assert_eq!(parse_byte_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_byte_size("1.5 GiB"), Some(3 << 29));
        assert_eq!(parse_byte_size("300"), Some(300));
        assert_eq!(parse_byte_size("3 parsecs"), None);
    }

    #[test]
    fn passwords_are_hidden_in_debug_output() {
        let db = DatabaseConfig {
            url: "postgres://tg:hunter2@db/tg".into(),
            max_connections: 1,
        };
        let shown = format!("{db:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("tg:***@db"), "{shown}");
    }
}
