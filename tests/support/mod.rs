//! Shared by the integration tests and the benches: a fresh database per test (a temporary
//! SQLite file, or a PostgreSQL database created and dropped around the test when
//! `TRIAGEGATE_TEST_POSTGRES_URL` is set), and the real app on a random port.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;

use triagegate::app::App;
use triagegate::auth;
use triagegate::config::Config;
use triagegate::domain::Actor;
use triagegate::domain::tenant::{NewTenant, Tenant, TenantSlug};
use triagegate::domain::user::{NewUser, Role, TenantGrant};
use triagegate::store::{self, Store};

pub mod browser;

pub const POSTGRES_ENV: &str = "TRIAGEGATE_TEST_POSTGRES_URL";

/// The sign-in password of every seeded user.
pub const PASSWORD: &str = "correct horse battery";

/// The argon2 hash of [`PASSWORD`], computed once per test process: hashing is deliberately
/// slow, and every seeded user shares it.
pub fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password(PASSWORD).expect("hash the test password"))
        .clone()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` as two tests: `<name>::sqlite` and `<name>::postgres`.
/// The PostgreSQL one is skipped when no server is configured, except under CI, where a
/// missing server must fail loudly instead of silently skipping.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::support::postgres_available() {
                        super::$name($crate::support::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

/// Whether PostgreSQL tests can run; panics under `CI=true` when they cannot.
pub fn postgres_available() -> bool {
    if std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.is_empty()) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{POSTGRES_ENV} must be set under CI so PostgreSQL tests never skip silently");
    }
    eprintln!("skipped: set {POSTGRES_ENV} to run this test against PostgreSQL");
    false
}

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("data/test.db").display());
                Self {
                    url,
                    backend,
                    admin_url: None,
                    name: None,
                    _dir: dir,
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).expect("postgres url");
                let name = format!("tg_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = connect_pg(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                Self {
                    url: with_database(&admin_url, &name),
                    backend,
                    admin_url: Some(admin_url),
                    name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Runs raw SQL behind the service's back, as an attacker with database access would.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                use sqlx::Connection;
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut conn)
                    .await?;
                Ok(done.rows_affected())
            }
            Backend::Postgres => {
                let mut conn = connect_pg(&self.url).await;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut conn)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    }

    /// Counts rows of a table, read straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {table}");
        match self.backend {
            Backend::Sqlite => {
                use sqlx::Connection;
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .expect("count")
            }
            Backend::Postgres => {
                let mut conn = connect_pg(&self.url).await;
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .expect("count")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(admin_url), Some(name)) = (self.admin_url.take(), self.name.take()) else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut admin = connect_pg(&admin_url).await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .execute(&mut admin)
                .await;
            });
        })
        .join();
    }
}

async fn connect_pg(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to PostgreSQL for tests: {err}"))
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

/// A test configuration on `db`, listening on a random port, with extra `TRIAGEGATE_*` pairs.
pub fn test_config(db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        ("TRIAGEGATE_DATABASE_URL".to_string(), db.url.clone()),
        ("TRIAGEGATE_LISTEN".to_string(), "127.0.0.1:0".to_string()),
        (
            "TRIAGEGATE_INDEX_DIR".to_string(),
            db.dir().join("index").display().to_string(),
        ),
        // Tests that count audit events need to know every write; the triage tests turn the
        // background triage of new tickets back on.
        (
            "TRIAGEGATE_TRIAGE__ON_CREATE".to_string(),
            "false".to_string(),
        ),
        // Notices a deleted index within a second instead of fifteen.
        (
            "TRIAGEGATE_INDEX__CHECK_SECONDS".to_string(),
            "1".to_string(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::load_with_env(None, env).expect("test config")
}

/// API tokens of the seeded users. Tenants: `acme` and `globex`.
pub struct Tokens {
    pub l1: String,
    pub approver: String,
    pub qa: String,
    pub admin: String,
    pub requester: String,
    /// An l1 of `globex` only.
    pub globex_l1: String,
    /// An l1 of `acme` whose token expired yesterday.
    pub expired: String,
}

pub struct Seeded {
    pub acme: Tenant,
    pub globex: Tenant,
    pub tokens: Tokens,
}

/// Creates the two tenants and one user per role.
pub async fn seed(store: &dyn Store) -> Seeded {
    let actor = Actor::cli();
    let mut tenants = Vec::new();
    for slug in ["acme", "globex"] {
        let new = NewTenant::new(TenantSlug::parse(slug).expect("slug"), None).expect("tenant");
        tenants.push(store.create_tenant(&new, &actor).await.expect("tenant"));
    }
    let acme = || TenantGrant::Only(vec![TenantSlug::parse("acme").expect("slug")]);
    let add = async |name: &str, role: Role, grant: TenantGrant, expired: bool| {
        let token = auth::generate_token();
        let expires = expired.then(|| chrono::Utc::now() - chrono::TimeDelta::days(1));
        let new = NewUser::new(
            name,
            role,
            grant,
            Some(password_hash()),
            auth::hash_token(&token),
            expires,
        )
        .expect("user");
        store.create_user(&new, &actor).await.expect("user");
        token
    };
    let tokens = Tokens {
        l1: add("ann-l1", Role::L1, acme(), false).await,
        approver: add("bob-approver", Role::Approver, acme(), false).await,
        qa: add("cat-qa", Role::Qa, TenantGrant::All, false).await,
        admin: add("dan-admin", Role::Admin, TenantGrant::All, false).await,
        requester: add("eve-client", Role::Requester, acme(), false).await,
        globex_l1: add(
            "gus-l1",
            Role::L1,
            TenantGrant::Only(vec![TenantSlug::parse("globex").expect("slug")]),
            false,
        )
        .await,
        expired: add("old-l1", Role::L1, acme(), true).await,
    };
    let globex = tenants.pop().expect("globex");
    let acme = tenants.pop().expect("acme");
    Seeded {
        acme,
        globex,
        tokens,
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub seeded: Seeded,
    pub db: TestDb,
    pub triage: Arc<triagegate::triage::Triage>,
}

/// Starts the real app on a fresh database and seeds it.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`] with extra `TRIAGEGATE_*` settings, such as smaller limits.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    triagegate::telemetry::init(if std::env::var("TEST_LOG").is_ok() {
        "debug"
    } else {
        "off"
    });
    let db = TestDb::new(backend).await;
    let config = test_config(&db, extra);
    let store = store::connect(&config.database).await.expect("store");
    let seeded = seed(store.as_ref()).await;
    let app = App::build_with_store(config, store.clone())
        .await
        .expect("app builds");
    let triage = app.triage();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        store,
        seeded,
        db,
        triage,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_ticket(&self, token: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/tickets"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a ticket in `tenant` as the acme L1 (or admin for other tenants) and returns its id.
    pub async fn create_ticket(&self, tenant: &str, title: &str) -> String {
        let token = if tenant == "acme" {
            &self.seeded.tokens.l1
        } else {
            &self.seeded.tokens.admin
        };
        let response = self
            .post_ticket(
                token,
                &serde_json::json!({"tenant": tenant, "title": title}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating a ticket");
        let body: serde_json::Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// GETs `path` and reads the JSON body, whatever the status.
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        self.get(token, path).await.json().await.expect("JSON body")
    }

    pub async fn patch_ticket(
        &self,
        token: &str,
        id: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/api/v1/tickets/{id}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Asserts the process still answers after whatever a test threw at it.
    pub async fn assert_still_serving(&self) {
        let alive = self
            .client
            .get(self.url("/healthz"))
            .send()
            .await
            .expect("request");
        assert_eq!(alive.status(), 200, "the process keeps serving");
    }

    /// Imports past cases into `tenant` from CSV text with the default columns, then makes them
    /// searchable at once (the service alone would notice within seconds).
    pub async fn import_cases(
        &self,
        tenant: &str,
        csv: &[u8],
    ) -> triagegate::cli::import::ImportSummary {
        let slug = TenantSlug::parse(tenant).expect("slug");
        let tenant_row = self.store.tenant_by_slug(&slug).await.expect("tenant");
        let args = triagegate::cli::import::ImportArgs::defaults(tenant, "cases.csv".into());
        let summary = triagegate::cli::import::import_bytes(
            csv,
            &args,
            tenant_row.id,
            self.store.as_ref(),
            &Actor::cli(),
        )
        .await
        .expect("import");
        self.triage.resync().await.expect("index rebuilt");
        summary
    }

    /// Creates an `acme` ticket as the L1, with `log` attached as `gateway.log` when given;
    /// returns its id.
    pub async fn ticket_with_log(
        &self,
        title: &str,
        description: &str,
        log: Option<&str>,
    ) -> String {
        let mut body =
            serde_json::json!({"tenant": "acme", "title": title, "description": description});
        if let Some(log) = log {
            body["attachments"] = serde_json::json!([{"name": "gateway.log", "content": log}]);
        }
        let response = self.post_ticket(&self.seeded.tokens.l1, &body).await;
        assert_eq!(response.status(), 201, "ticket created");
        let body: serde_json::Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_string()
    }

    /// Triages the ticket as the L1 and returns the finished suggestion.
    pub async fn triage_now(&self, id: &str) -> serde_json::Value {
        let response = self
            .post_json(
                &self.seeded.tokens.l1,
                &format!("/api/v1/tickets/{id}/triage"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(response.status(), 201, "triage finished within triage.wait");
        response.json().await.expect("json")
    }

    pub async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn ticket_count(&self) -> i64 {
        self.db.count("ticket").await
    }
}

/// Reads a JSON error body and returns its `error.code`.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_string()
}
