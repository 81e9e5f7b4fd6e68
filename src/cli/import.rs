//! `triagegate import --tenant T FILE.csv`: past cases from another tool's CSV export. Each row
//! is validated and stored in its own transaction (with its audit event), keyed by the external
//! id so that running the same import twice changes nothing. Bad rows are reported with their
//! line numbers and skipped; the rest import. A running service notices the new cases within
//! seconds and re-indexes them.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::domain::Actor;
use crate::domain::case::{CaseDraft, ImportOutcome, ImportedCase};
use crate::domain::tenant::TenantSlug;
use crate::store::{self, Store};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant the cases belong to.
    #[arg(long)]
    pub tenant: String,
    /// A CSV file with a header row, UTF-8.
    pub file: PathBuf,
    /// Header of the external id column.
    #[arg(long, default_value = "id")]
    pub id_col: String,
    #[arg(long, default_value = "title")]
    pub title_col: String,
    #[arg(long, default_value = "description")]
    pub description_col: String,
    #[arg(long, default_value = "service_group")]
    pub group_col: String,
    #[arg(long, default_value = "priority")]
    pub priority_col: String,
    #[arg(long, default_value = "impact")]
    pub impact_col: String,
    #[arg(long, default_value = "urgency")]
    pub urgency_col: String,
    #[arg(long, default_value = "resolution")]
    pub resolution_col: String,
    #[arg(long, default_value = "created_at")]
    pub created_col: String,
    #[arg(long, default_value = "closed_at")]
    pub closed_col: String,
    /// Field separator, one character.
    #[arg(long, default_value_t = ',')]
    pub delimiter: char,
    /// Hides the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl ImportArgs {
    /// The default column names, as `triagegate import` reads them without options.
    pub fn defaults(tenant: &str, file: PathBuf) -> Self {
        Self {
            tenant: tenant.to_string(),
            file,
            id_col: "id".into(),
            title_col: "title".into(),
            description_col: "description".into(),
            group_col: "service_group".into(),
            priority_col: "priority".into(),
            impact_col: "impact".into(),
            urgency_col: "urgency".into(),
            resolution_col: "resolution".into(),
            created_col: "created_at".into(),
            closed_col: "closed_at".into(),
            delimiter: ',',
            quiet: true,
        }
    }
}

/// Where each target column sits in the file; optional ones may be absent.
struct Columns {
    id: usize,
    title: usize,
    group: usize,
    description: Option<usize>,
    priority: Option<usize>,
    impact: Option<usize>,
    urgency: Option<usize>,
    resolution: Option<usize>,
    created: Option<usize>,
    closed: Option<usize>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

pub async fn import(args: ImportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let bytes = read_file(&args.file)?;
    let store = store::connect(&config.database)
        .await
        .context("opening the database")?;
    let slug = TenantSlug::parse(&args.tenant)?;
    let tenant = store
        .tenant_by_slug(&slug)
        .await
        .with_context(|| format!("tenant {slug} (add it with `triagegate tenant add {slug}`)"))?;
    let summary = import_bytes(&bytes, &args, tenant.id, store.as_ref(), &Actor::cli()).await?;
    println!(
        "{} rows: {} created, {} updated, {} unchanged, {} failed",
        summary.rows, summary.created, summary.updated, summary.unchanged, summary.failed
    );
    Ok(if summary.failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        anyhow::bail!(
            "{} is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel) and import again",
            path.display()
        );
    }
    // Excel's "CSV UTF-8" starts with a byte-order mark that would stick to the first header.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    Ok(bytes)
}

/// Imports every row of a CSV held in memory; rows that fail are reported on stderr.
pub async fn import_bytes(
    bytes: &[u8],
    args: &ImportArgs,
    tenant: crate::domain::tenant::TenantId,
    store: &dyn Store,
    actor: &Actor,
) -> anyhow::Result<ImportSummary> {
    let delimiter = u8::try_from(args.delimiter)
        .ok()
        .filter(u8::is_ascii)
        .context("--delimiter must be one ASCII character")?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .context("reading the header row")?
        .clone();
    let header: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let columns = find_columns(&header, args)?;
    let progress = progress_bar(args.quiet, bytes.len() as u64);
    let mut summary = ImportSummary::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::default();
    loop {
        let before = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(err) => {
                summary.rows += 1;
                summary.failed += 1;
                let line = lines.line_at(bytes, before);
                progress.suspend(|| eprintln!("line {line}: unreadable row: {err}"));
                continue;
            }
        }
        let start = record.position().map_or(before, csv::Position::byte);
        let end = reader.position().byte();
        let line = lines.line_at(bytes, start);
        summary.rows += 1;
        progress.set_position(end);
        let checked = if unclosed_quote(bytes, start, end) {
            Err(
                "a quote opened in this row is never closed (a truncated file?); \
                 the row is not imported"
                    .to_string(),
            )
        } else {
            import_row(&record, &header, &columns, tenant, line, &mut seen)
        };
        match checked {
            Err(message) => {
                summary.failed += 1;
                progress.suspend(|| eprintln!("line {line}: {message}"));
            }
            Ok(case) => match store.upsert_case(&case, actor).await {
                Ok((ImportOutcome::Created, _)) => summary.created += 1,
                Ok((ImportOutcome::Updated, _)) => summary.updated += 1,
                Ok((ImportOutcome::Unchanged, _)) => summary.unchanged += 1,
                Err(err) => {
                    summary.failed += 1;
                    progress.suspend(|| eprintln!("line {line}: not stored: {err}"));
                }
            },
        }
    }
    progress.finish_and_clear();
    Ok(summary)
}

/// Whether the row's raw bytes hold an odd number of quotes. A quoted field has its opening and
/// closing quote and doubles any inside, so only a quote left open (the file cut off inside a
/// field, which the CSV reader takes to the end of the file) makes the count odd.
fn unclosed_quote(bytes: &[u8], start: u64, end: u64) -> bool {
    let to_index = |at: u64| usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    let (start, end) = (to_index(start), to_index(end));
    start < end && memchr::memchr_iter(b'"', &bytes[start..end]).count() % 2 == 1
}

/// Line numbers from byte offsets, counted once through the file. The csv reader's own line
/// count lags by one after a CRLF ending, which Excel writes.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    /// The 1-based line of the first character at or after `offset` that is not a line break.
    fn line_at(&mut self, bytes: &[u8], offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while target < bytes.len() && (bytes[target] == b'\r' || bytes[target] == b'\n') {
            target += 1;
        }
        if target >= self.offset {
            self.line += memchr::memchr_iter(b'\n', &bytes[self.offset..target]).count() as u64;
            self.offset = target;
        }
        self.line + 1
    }
}

fn import_row(
    record: &csv::ByteRecord,
    header: &[String],
    columns: &Columns,
    tenant: crate::domain::tenant::TenantId,
    line: u64,
    seen: &mut HashMap<String, u64>,
) -> Result<ImportedCase, String> {
    if record.len() != header.len() {
        return Err(format!(
            "has {} fields where the header has {} (a stray quote or a truncated file?)",
            record.len(),
            header.len()
        ));
    }
    let cell = |index: usize| -> Result<String, String> {
        let raw = record.get(index).unwrap_or_default();
        String::from_utf8(raw.to_vec()).map_err(|_| {
            format!(
                "column {:?} is not valid UTF-8; save the file as UTF-8",
                header[index]
            )
        })
    };
    let optional = |index: Option<usize>| index.map(cell).transpose();
    let draft = CaseDraft {
        external_id: cell(columns.id)?,
        title: cell(columns.title)?,
        description: optional(columns.description)?,
        service_group: cell(columns.group)?,
        priority: optional(columns.priority)?,
        impact: optional(columns.impact)?,
        urgency: optional(columns.urgency)?,
        resolution: optional(columns.resolution)?,
        created_at: optional(columns.created)?,
        closed_at: optional(columns.closed)?,
    };
    let case = ImportedCase::from_draft(tenant, &draft).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    if let Some(first) = seen.get(&case.external_id) {
        return Err(format!(
            "id {:?} was already imported from line {first}; ids must be unique in a file",
            case.external_id
        ));
    }
    seen.insert(case.external_id.clone(), line);
    Ok(case)
}

fn find_columns(header: &[String], args: &ImportArgs) -> anyhow::Result<Columns> {
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.trim()))
    };
    let required = |name: &str, option: &str| {
        find(name).with_context(|| {
            format!(
                "the header has no {name:?} column (columns: {}); name the right one with {option}",
                header.join(", ")
            )
        })
    };
    Ok(Columns {
        id: required(&args.id_col, "--id-col")?,
        title: required(&args.title_col, "--title-col")?,
        group: required(&args.group_col, "--group-col")?,
        description: find(&args.description_col),
        priority: find(&args.priority_col),
        impact: find(&args.impact_col),
        urgency: find(&args.urgency_col),
        resolution: find(&args.resolution_col),
        created: find(&args.created_col),
        closed: find(&args.closed_col),
    })
}

fn progress_bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
