//! A deliberately small W3C WebDriver client for end-to-end tests, driving headless Chromium
//! through chromedriver. Hand-written instead of fantoccini/thirtyfour so the tests need no
//! crates beyond those the project already uses, and so every wire detail is visible here
//! when a browser test misbehaves in CI.
//!
//! Everything talks the plain W3C protocol (`{"value": ...}` bodies) over HTTP to a
//! chromedriver this module spawns on a free localhost port; each `Browser` owns its own
//! driver, Chromium profile and temp dir, so tests can run in parallel without sharing state.
#![allow(dead_code)] // each test binary uses a different part

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// Debian's locations; CI images elsewhere can point at other builds through the env vars.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM_ENV: &str = "TRIAGEGATE_CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "TRIAGEGATE_CHROMEDRIVER";

/// The W3C "web element identifier": the key under which element references travel on the
/// wire (spec constant; chromedriver rejects references under any other key).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Generous because two shared cores can make a cold chromedriver slow; a healthy one is
/// ready in well under a second.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Page loads and scripts give up well before the HTTP client does, so a hung page surfaces
/// as a WebDriver `timeout` error naming the command rather than an opaque transport error.
const PAGE_LOAD_TIMEOUT_MS: u64 = 30_000;
const HTTP_TIMEOUT: Duration = Duration::from_secs(90);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// WebDriver key codes for `send_keys`, e.g. `el.send_keys(&format!("x{}", keys::ENTER))`.
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const TAB: &str = "\u{E004}";
    pub const BACKSPACE: &str = "\u{E003}";
    pub const ESCAPE: &str = "\u{E00C}";
}

/// Why a browser operation failed. `Debug` prints the same text as `Display`, so an
/// `.unwrap()`/`.expect()` in a test shows the driver's own explanation instead of a
/// struct dump.
pub enum BrowserError {
    /// Chromium or chromedriver is missing; tests usually check `Browser::available()` first.
    NotInstalled(String),
    /// Spawning chromedriver, or getting it to a ready state, failed. `log` is the tail of
    /// its output, which is where the actual reason (bad flag, port in use...) ends up.
    Startup { detail: String, log: String },
    /// The driver answered with a W3C error (`{"value": {"error", "message"}}`); `code` is
    /// the spec's error code such as `no such element` or `session not created`.
    WebDriver {
        command: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The driver could not be reached or the connection broke.
    Http {
        command: String,
        source: reqwest::Error,
    },
    /// The driver answered something that is not W3C-shaped; only a driver bug gets here.
    Protocol { command: String, detail: String },
    /// A `wait_for`-style poll gave up.
    Timeout(String),
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BrowserError {
    /// The W3C error code, so callers can match on e.g. `Some("no such element")`.
    pub fn code(&self) -> Option<&str> {
        match self {
            BrowserError::WebDriver { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrowserError::NotInstalled(m) => write!(f, "browser not installed: {m}"),
            BrowserError::Startup { detail, log } => {
                write!(f, "chromedriver startup failed: {detail}")?;
                if !log.trim().is_empty() {
                    write!(
                        f,
                        "\n--- chromedriver output (tail) ---\n{}",
                        log.trim_end()
                    )?;
                }
                Ok(())
            }
            BrowserError::WebDriver {
                command,
                status,
                code,
                message,
            } => {
                let message = without_code(code, message);
                write!(
                    f,
                    "webdriver {command} failed (HTTP {status}): {code}: {message}"
                )
            }
            BrowserError::Http { command, source } => {
                write!(
                    f,
                    "webdriver {command}: cannot talk to chromedriver: {source}"
                )
            }
            BrowserError::Protocol { command, detail } => {
                write!(f, "webdriver {command}: unexpected response: {detail}")
            }
            BrowserError::Timeout(m) => write!(f, "timed out: {m}"),
            BrowserError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BrowserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BrowserError::Http { source, .. } => Some(source),
            BrowserError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

/// What both `Browser` and its `Element`s need to send commands; cheap to clone so elements
/// don't borrow the browser and can be held across awaits freely.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    url: String,
}

impl Session {
    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        send(&self.http, method, &format!("{}{path}", self.url), body).await
    }
}

/// One W3C round trip: success is `{"value": X}` → `X`; errors are `{"value": {"error",
/// "message"}}` with a 4xx/5xx status.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value> {
    // Label errors with the path after the session id: the id is noise in a test failure.
    let path = url.splitn(4, '/').nth(3).unwrap_or("");
    let command = match path.strip_prefix("session/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("{method} /{tail}"),
            None => format!("{method} /session"),
        },
        None => format!("{method} /{path}"),
    };
    let mut req = http.request(method.clone(), url);
    // chromedriver rejects POSTs without a JSON body, even for body-less commands like click.
    if let Some(b) = body.or_else(|| (method == Method::POST).then(|| json!({}))) {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|source| BrowserError::Http {
        command: command.clone(),
        source,
    })?;
    let status = resp.status();
    let text = resp.text().await.map_err(|source| BrowserError::Http {
        command: command.clone(),
        source,
    })?;
    let parsed: Value = serde_json::from_str(&text).map_err(|e| BrowserError::Protocol {
        command: command.clone(),
        detail: format!("HTTP {status}, not JSON ({e}): {}", truncate(&text, 500)),
    })?;
    let Some(value) = parsed.get("value").cloned() else {
        return Err(BrowserError::Protocol {
            command,
            detail: format!("HTTP {status}, no `value` key: {}", truncate(&text, 500)),
        });
    };
    if let Some(code) = value.get("error").and_then(Value::as_str) {
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Err(BrowserError::WebDriver {
            command,
            status: status.as_u16(),
            code: code.to_string(),
            message,
        });
    }
    if !status.is_success() {
        return Err(BrowserError::Protocol {
            command,
            detail: format!("HTTP {status} without a W3C error: {value}"),
        });
    }
    Ok(value)
}

/// chromedriver usually repeats the error code at the start of the message.
fn without_code<'a>(code: &str, message: &'a str) -> &'a str {
    message
        .strip_prefix(code)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn as_string(command: &str, v: Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(BrowserError::Protocol {
            command: command.to_string(),
            detail: format!("expected a string, got {other}"),
        }),
    }
}

/// Owns the temp dir holding the Chromium profile and the chromedriver log; removed on drop
/// so parallel and repeated test runs don't accumulate profiles in /tmp.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "triagegate-browser-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).map_err(|source| BrowserError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn binary(env: &str, default: &str) -> PathBuf {
    match std::env::var_os(env) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(default),
    }
}

fn read_log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A headless Chromium session. Call `close()` at the end of a test: it ends the session
/// cleanly. Dropping without `close()` (e.g. on a panic) still tears everything down, but
/// blocks the thread briefly while doing so.
pub struct Browser {
    session: Session,
    session_id: Option<String>,
    port: u16,
    child: tokio::process::Child,
    log_path: PathBuf,
    // Last, so the directory is removed only after the driver is gone.
    tmp: TempDir,
}

impl Browser {
    /// Whether both binaries exist, so browser tests can skip (or, under CI, fail loudly)
    /// instead of failing with a spawn error on machines without Chromium.
    pub fn available() -> bool {
        binary(CHROMIUM_ENV, DEFAULT_CHROMIUM).is_file()
            && binary(CHROMEDRIVER_ENV, DEFAULT_CHROMEDRIVER).is_file()
    }

    /// Spawns a private chromedriver and opens a session in a fresh headless profile.
    ///
    /// Flags: `--no-sandbox` because CI runs as root, where Chromium refuses to start with
    /// its sandbox; `--disable-dev-shm-usage` because containers often have a tiny
    /// /dev/shm and Chromium then crashes mid-test; `--disable-gpu` since there is none;
    /// a fixed window size so layouts and screenshots are reproducible.
    pub async fn start() -> Result<Browser> {
        let chromium = binary(CHROMIUM_ENV, DEFAULT_CHROMIUM);
        let driver = binary(CHROMEDRIVER_ENV, DEFAULT_CHROMEDRIVER);
        for (path, env, pkg) in [
            (&chromium, CHROMIUM_ENV, "chromium"),
            (&driver, CHROMEDRIVER_ENV, "chromium-driver"),
        ] {
            if !path.is_file() {
                return Err(BrowserError::NotInstalled(format!(
                    "{} not found (install the Debian package `{pkg}` or set {env})",
                    path.display()
                )));
            }
        }
        let tmp = TempDir::new()?;
        let log_path = tmp.0.join("chromedriver.log");
        let profile = tmp.0.join("profile");
        // reqwest honours HTTP_PROXY & co.; a CI proxy must never see calls to the local driver.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|source| BrowserError::Http {
                command: "client setup".into(),
                source,
            })?;

        // The free port is found by binding and releasing it, so another process can grab it
        // before chromedriver does; a driver that dies at startup is retried on a new port.
        let mut attempt = 0;
        let (child, port) = loop {
            attempt += 1;
            let port = free_port()?;
            let child = spawn_driver(&driver, port, &log_path)?;
            match wait_ready(&http, child, port, &log_path).await {
                Ok(child) => break (child, port),
                // Exited on its own, most likely having lost the port race: try another.
                Err((_, true)) if attempt < 3 => continue,
                Err((e, _)) => return Err(e),
            }
        };

        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": PAGE_LOAD_TIMEOUT_MS, "script": PAGE_LOAD_TIMEOUT_MS, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium.to_string_lossy(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--window-size=1280,1000",
                            format!("--user-data-dir={}", profile.display()),
                        ],
                    },
                }
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        // On error `child` is dropped here, and kill_on_drop stops the driver.
        let value = match send(&http, Method::POST, &format!("{base}/session"), Some(caps)).await {
            Ok(v) => v,
            Err(BrowserError::WebDriver { code, message, .. }) => {
                return Err(BrowserError::Startup {
                    detail: format!(
                        "creating the Chromium session failed: {code}: {}",
                        without_code(&code, &message)
                    ),
                    log: read_log_tail(&log_path),
                });
            }
            Err(e) => return Err(e),
        };
        let id = as_string(
            "POST /session",
            value.get("sessionId").cloned().unwrap_or(Value::Null),
        )?;
        Ok(Browser {
            session: Session {
                http,
                url: format!("{base}/session/{id}"),
            },
            session_id: Some(id),
            port,
            child,
            log_path,
            tmp,
        })
    }

    /// chromedriver's own output, worth reading when the browser behaves oddly.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Ends the session (which quits Chromium) and stops chromedriver. Preferred over
    /// dropping because it reports failures and doesn't block the runtime thread.
    pub async fn close(mut self) -> Result<()> {
        let result = match self.session_id.take() {
            Some(_) => self.session.cmd(Method::DELETE, "", None).await.map(|_| ()),
            None => Ok(()),
        };
        let _ = self.child.kill().await;
        result
    }

    /// Navigates and, with the `normal` page load strategy, returns once the page has
    /// loaded (`document.readyState == "complete"`).
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.session
            .cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    pub async fn current_url(&self) -> Result<String> {
        as_string(
            "GET /url",
            self.session.cmd(Method::GET, "/url", None).await?,
        )
    }

    pub async fn title(&self) -> Result<String> {
        as_string(
            "GET /title",
            self.session.cmd(Method::GET, "/title", None).await?,
        )
    }

    /// The current DOM serialised as HTML (not the bytes the server sent).
    pub async fn source(&self) -> Result<String> {
        as_string(
            "GET /source",
            self.session.cmd(Method::GET, "/source", None).await?,
        )
    }

    /// What a user sees: rendered text, without markup or hidden elements. Asserting on
    /// this rather than `source()` checks that escaped input shows up as literal text.
    pub async fn body_text(&self) -> Result<String> {
        self.find("body").await?.text().await
    }

    /// Saves a PNG of the viewport; handy to attach to CI artefacts on failure.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let b64 = as_string(
            "GET /screenshot",
            self.session.cmd(Method::GET, "/screenshot", None).await?,
        )?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| BrowserError::Protocol {
                command: "GET /screenshot".into(),
                detail: format!("invalid base64: {e}"),
            })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| BrowserError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        tokio::fs::write(path, png)
            .await
            .map_err(|source| BrowserError::Io {
                path: path.to_path_buf(),
                source,
            })
    }

    /// The first match right now; fails with code `no such element` if there is none.
    /// Use `wait_for` for anything that appears asynchronously.
    pub async fn find(&self, css: &str) -> Result<Element> {
        find_in(&self.session, "", css).await
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_all_in(&self.session, "", css).await
    }

    /// Polls until an element matching `css` exists. This is the way to wait for content,
    /// both after a navigating `click()` (which can return before the navigation starts)
    /// and for anything rendered by scripts. Pick a selector only the awaited page has,
    /// or the old page satisfies it. Presence, not visibility, is awaited; check
    /// `is_displayed()` when that matters.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let start = Instant::now();
        loop {
            let last = match self.find(css).await {
                Ok(el) => return Ok(el),
                // A navigation in progress can briefly invalidate the document.
                Err(e)
                    if matches!(
                        e.code(),
                        Some("no such element" | "stale element reference")
                    ) =>
                {
                    e
                }
                Err(e) => return Err(e),
            };
            if start.elapsed() >= timeout {
                let url = self
                    .current_url()
                    .await
                    .unwrap_or_else(|e| format!("<unknown: {e}>"));
                return Err(BrowserError::Timeout(format!(
                    "no element matching `{css}` after {timeout:?} on {url} (last error: {last})"
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Runs a synchronous script (`return ...;` gives the result). Elements can be passed
    /// with `Element::as_arg()`; returned elements come back as raw W3C references.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.session
            .cmd(
                Method::POST,
                "/execute/sync",
                Some(json!({ "script": script, "args": args })),
            )
            .await
    }

    /// Cookies visible to the current page, as W3C cookie objects (`name`, `value`,
    /// `path`, `httpOnly`, ...), including HttpOnly ones that `document.cookie` hides.
    pub async fn cookies(&self) -> Result<Vec<Value>> {
        match self.session.cmd(Method::GET, "/cookie", None).await? {
            Value::Array(v) => Ok(v),
            other => Err(BrowserError::Protocol {
                command: "GET /cookie".into(),
                detail: format!("expected an array, got {other}"),
            }),
        }
    }
}

impl Drop for Browser {
    /// Best-effort cleanup when `close()` was skipped, typically because a test panicked.
    /// The session is deleted with a blocking request because killing only chromedriver
    /// can leave its Chromium running; Drop cannot await.
    fn drop(&mut self) {
        if let Some(id) = self.session_id.take() {
            let _ = delete_session_blocking(self.port, &id);
        }
        let _ = self.child.start_kill();
    }
}

fn delete_session_blocking(port: u16, id: &str) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // The reply arrives once Chromium has quit. chromedriver keeps the connection open
    // despite `Connection: close`, so read just the headers and the announced body.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(());
            }
        }
    }
}

fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| BrowserError::Startup {
            detail: format!("cannot find a free port: {e}"),
            log: String::new(),
        })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| BrowserError::Startup {
            detail: format!("cannot find a free port: {e}"),
            log: String::new(),
        })
}

fn spawn_driver(driver: &Path, port: u16, log_path: &Path) -> Result<tokio::process::Child> {
    let log = std::fs::File::create(log_path).map_err(|source| BrowserError::Io {
        path: log_path.to_path_buf(),
        source,
    })?;
    let log2 = log.try_clone().map_err(|source| BrowserError::Io {
        path: log_path.to_path_buf(),
        source,
    })?;
    tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        // Puts Chromium's own stderr in the log: without it a failed launch only says
        // "Chrome instance exited", not why (e.g. "Running as root without --no-sandbox").
        .arg("--enable-chrome-logs")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| BrowserError::Startup {
            detail: format!("cannot run {}: {e}", driver.display()),
            log: String::new(),
        })
}

/// Waits for `GET /status` to report ready. The error's flag says whether the driver exited
/// on its own (worth retrying on another port) rather than timing out.
async fn wait_ready(
    http: &reqwest::Client,
    mut child: tokio::process::Child,
    port: u16,
    log_path: &Path,
) -> Result<tokio::process::Child, (BrowserError, bool)> {
    let url = format!("http://127.0.0.1:{port}/status");
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let detail =
                format!("chromedriver exited with {status} before becoming ready on port {port}");
            return Err((
                BrowserError::Startup {
                    detail,
                    log: read_log_tail(log_path),
                },
                true,
            ));
        }
        if let Ok(resp) = http.get(&url).timeout(Duration::from_secs(2)).send().await
            && let Ok(body) = resp.json::<Value>().await
            && body.pointer("/value/ready").and_then(Value::as_bool) == Some(true)
        {
            return Ok(child);
        }
        if start.elapsed() >= DRIVER_READY_TIMEOUT {
            let detail = format!("chromedriver not ready on {url} after {DRIVER_READY_TIMEOUT:?}");
            return Err((
                BrowserError::Startup {
                    detail,
                    log: read_log_tail(log_path),
                },
                false,
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn find_in(session: &Session, scope: &str, css: &str) -> Result<Element> {
    let v = session
        .cmd(
            Method::POST,
            &format!("{scope}/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await?;
    Element::from_ref(session, &v, "POST /element")
}

async fn find_all_in(session: &Session, scope: &str, css: &str) -> Result<Vec<Element>> {
    let v = session
        .cmd(
            Method::POST,
            &format!("{scope}/elements"),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await?;
    match v {
        Value::Array(items) => items
            .iter()
            .map(|r| Element::from_ref(session, r, "POST /elements"))
            .collect(),
        other => Err(BrowserError::Protocol {
            command: "POST /elements".into(),
            detail: format!("expected an array, got {other}"),
        }),
    }
}

/// A reference to a DOM element in the current page. It goes stale (error code
/// `stale element reference`) once the page navigates, so look elements up again after
/// a submit instead of reusing them.
#[derive(Clone)]
pub struct Element {
    session: Session,
    id: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", self.id)
    }
}

impl Element {
    fn from_ref(session: &Session, v: &Value, command: &str) -> Result<Element> {
        match v.get(ELEMENT_KEY).and_then(Value::as_str) {
            Some(id) => Ok(Element {
                session: session.clone(),
                id: id.to_string(),
            }),
            None => Err(BrowserError::Protocol {
                command: command.into(),
                detail: format!("not an element reference: {v}"),
            }),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// The W3C wire form, for passing this element to `Browser::execute`.
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// A descendant matching `css`.
    pub async fn find(&self, css: &str) -> Result<Element> {
        find_in(&self.session, &self.path(""), css).await
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_all_in(&self.session, &self.path(""), css).await
    }

    /// Clicks like a user would (scrolls into view, fails with `element not interactable`
    /// or `element click intercepted` when a user couldn't). On a submit button with the
    /// default `normal` page load strategy chromedriver usually returns after the next page
    /// has loaded, but not always: a form submission starts asynchronously, and about one
    /// click in 40 returned while the old page was still current. So follow a navigating
    /// click with `wait_for` on something only the next page has; the following command
    /// then also waits for that page to finish loading.
    pub async fn click(&self) -> Result<()> {
        self.session
            .cmd(Method::POST, &self.path("/click"), None)
            .await
            .map(|_| ())
    }

    pub async fn clear(&self) -> Result<()> {
        self.session
            .cmd(Method::POST, &self.path("/clear"), None)
            .await
            .map(|_| ())
    }

    /// Types `text` as key presses, appending to what is already there; see `keys` for
    /// special keys.
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .cmd(
                Method::POST,
                &self.path("/value"),
                Some(json!({ "text": text })),
            )
            .await
            .map(|_| ())
    }

    /// Replaces the field's content, since `send_keys` alone appends to prefilled values.
    pub async fn fill(&self, text: &str) -> Result<()> {
        self.clear().await?;
        self.send_keys(text).await
    }

    /// Rendered, visible text (as `innerText`), so hidden descendants are left out.
    pub async fn text(&self) -> Result<String> {
        as_string(
            "GET /element/text",
            self.session
                .cmd(Method::GET, &self.path("/text"), None)
                .await?,
        )
    }

    /// The HTML attribute as written in markup (`None` when absent); for live state such
    /// as a typed-in value use `property("value")`.
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        match self
            .session
            .cmd(
                Method::GET,
                &self.path(&format!("/attribute/{}", encode_segment(name))),
                None,
            )
            .await?
        {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Ok(Some(other.to_string())),
        }
    }

    /// The live DOM property (`value`, `checked`, ...), as JSON because it need not be a string.
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session
            .cmd(
                Method::GET,
                &self.path(&format!("/property/{}", encode_segment(name))),
                None,
            )
            .await
    }

    /// Chooses an `<option>` of this `<select>` by its value, by clicking it as a user would,
    /// so `change` handlers fire.
    pub async fn select_by_value(&self, value: &str) -> Result<()> {
        let css = format!("option[value={}]", css_string(value));
        match self.find(&css).await {
            Ok(option) => option.click().await,
            Err(e) if e.code() == Some("no such element") => Err(BrowserError::WebDriver {
                command: "select_by_value".into(),
                status: 404,
                code: "no such element".into(),
                message: format!("this <select> has no option with value {value:?}"),
            }),
            Err(e) => Err(e),
        }
    }

    pub async fn is_displayed(&self) -> Result<bool> {
        match self
            .session
            .cmd(Method::GET, &self.path("/displayed"), None)
            .await?
        {
            Value::Bool(b) => Ok(b),
            other => Err(BrowserError::Protocol {
                command: "GET /element/displayed".into(),
                detail: format!("expected a bool, got {other}"),
            }),
        }
    }
}

/// Quotes `s` as a CSS string literal so any option value, quotes included, can be selected.
fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\{:x} ", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Percent-encodes a URL path segment, so odd attribute names can't alter the command path.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
