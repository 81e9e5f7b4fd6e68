//! The prompt files (`prompts/*.md.j2`): loading (an override directory or the built-in copy),
//! hashing, checking at start-up and rendering. Templates are rendered with strict undefined
//! variables, so a typo in a prompt stops start-up instead of sending a blank to the model.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use sha2::{Digest, Sha256};

use super::record::PromptRef;
use super::schema::{CITATIONS_MAX, RATIONALE_MAX_CHARS, SUMMARY_MAX_CHARS};

/// The prompts this module uses, each one file in `prompts/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptId {
    /// Macros `system()` and `user()`: the triage request.
    Triage,
    /// The follow-up user message asking to fix an invalid answer.
    Repair,
}

impl PromptId {
    pub const ALL: [PromptId; 2] = [PromptId::Triage, PromptId::Repair];

    /// Returns the name recorded with each suggestion.
    pub fn name(self) -> &'static str {
        match self {
            PromptId::Triage => "triage",
            PromptId::Repair => "repair",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            PromptId::Triage => "triage.md.j2",
            PromptId::Repair => "repair.md.j2",
        }
    }

    fn builtin(self) -> &'static str {
        match self {
            PromptId::Triage => include_str!("../../prompts/triage.md.j2"),
            PromptId::Repair => include_str!("../../prompts/repair.md.j2"),
        }
    }
}

/// Why the prompts could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("reading prompt file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("prompt {name}: {detail}")]
    Template { name: &'static str, detail: String },
}

/// The variables of `triage.md.j2`, already redacted and cut to the token budget.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriageVars {
    pub ticket_id: String,
    pub title: String,
    pub description: String,
    pub description_truncated: bool,
    pub digest_lines: Vec<String>,
    pub digest_omitted: usize,
    pub similar: Vec<SimilarVars>,
    pub similar_omitted: usize,
    /// Service groups shown (the schema still allows the whole catalogue).
    pub catalogue: Vec<String>,
    pub catalogue_more: usize,
    pub levels: Vec<String>,
}

/// One similar case as shown in the prompt; absent values are spelled out as "none".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimilarVars {
    pub case_id: String,
    pub title: String,
    pub service_group: String,
    pub priority: String,
    pub resolution: String,
    pub score: String,
}

/// The two messages of the triage prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedPrompt {
    pub system: String,
    pub user: String,
}

/// Loaded, checked prompts.
#[derive(Debug)]
pub struct Prompts {
    env: Environment<'static>,
    triage: PromptRef,
    repair: PromptRef,
}

impl Prompts {
    /// Loads each prompt from `dir` when it holds the file, else the built-in copy, and renders
    /// each with sample variables so that syntax errors, missing macros and undefined
    /// variables surface now.
    pub fn load(dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Markdown prompts: user text must reach the model verbatim, not HTML-escaped.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|err| template_error(PromptId::Triage, &err))?;
        env.set_syntax(syntax);

        let mut refs = Vec::with_capacity(PromptId::ALL.len());
        for id in PromptId::ALL {
            let source = read_source(dir, id)?;
            refs.push(PromptRef {
                name: id.name().to_owned(),
                sha256: hex::encode(Sha256::digest(source.as_bytes())),
            });
            env.add_template_owned(id.file_name(), source)
                .map_err(|err| template_error(id, &err))?;
        }
        let [triage, repair] =
            <[PromptRef; 2]>::try_from(refs).map_err(|_| PromptError::Template {
                name: "triage",
                detail: "internal: prompt list changed".to_owned(),
            })?;
        let prompts = Self {
            env,
            triage,
            repair,
        };
        prompts.render_triage(&TriageVars::sample())?;
        prompts.render_repair(
            "field \"impact\" is missing",
            "{\"summary\": \"x\"}",
            &sample_levels(),
        )?;
        Ok(prompts)
    }

    pub fn triage_ref(&self) -> &PromptRef {
        &self.triage
    }

    pub fn repair_ref(&self) -> &PromptRef {
        &self.repair
    }

    /// Renders the system and user messages of the triage prompt.
    pub fn render_triage(&self, vars: &TriageVars) -> Result<RenderedPrompt, PromptError> {
        let id = PromptId::Triage;
        let template = self
            .env
            .get_template(id.file_name())
            .map_err(|err| template_error(id, &err))?;
        let mut captured = template
            .render_captured(triage_context(vars))
            .map_err(|err| template_error(id, &err))?;
        let system = captured
            .with_state_mut(|state| state.call_macro("system", &[]))
            .map_err(|err| template_error(id, &err))?;
        let user = captured
            .with_state_mut(|state| state.call_macro("user", &[]))
            .map_err(|err| template_error(id, &err))?;
        Ok(RenderedPrompt {
            system: system.trim().to_owned(),
            user: user.trim().to_owned(),
        })
    }

    /// Renders the repair message; `error` and `bad_output` must already be redacted.
    pub fn render_repair(
        &self,
        error: &str,
        bad_output: &str,
        levels: &[String],
    ) -> Result<String, PromptError> {
        let id = PromptId::Repair;
        let ctx = context! {
            error => error,
            bad_output => bad_output,
            levels => levels.to_vec(),
            limits => limits(),
        };
        self.env
            .get_template(id.file_name())
            .and_then(|template| template.render(ctx))
            .map(|text| text.trim().to_owned())
            .map_err(|err| template_error(id, &err))
    }
}

fn read_source(dir: Option<&Path>, id: PromptId) -> Result<String, PromptError> {
    let Some(path) = dir.map(|d| d.join(id.file_name())).filter(|p| p.is_file()) else {
        return Ok(id.builtin().to_owned());
    };
    std::fs::read_to_string(&path).map_err(|source| PromptError::Read { path, source })
}

fn template_error(id: PromptId, err: &minijinja::Error) -> PromptError {
    // `{:#}` adds minijinja's pointer into the template source, which is what a prompt author
    // needs to find the mistake.
    PromptError::Template {
        name: id.name(),
        detail: format!("{err:#}"),
    }
}

fn limits() -> Value {
    context! {
        summary_max_chars => SUMMARY_MAX_CHARS,
        rationale_max_chars => RATIONALE_MAX_CHARS,
        citations_max => CITATIONS_MAX,
    }
}

fn triage_context(vars: &TriageVars) -> Value {
    let similar: Vec<Value> = vars
        .similar
        .iter()
        .map(|case| {
            context! {
                case_id => &case.case_id,
                title => &case.title,
                service_group => &case.service_group,
                priority => &case.priority,
                resolution => &case.resolution,
                score => &case.score,
            }
        })
        .collect();
    context! {
        ticket_id => &vars.ticket_id,
        title => &vars.title,
        description => &vars.description,
        description_truncated => vars.description_truncated,
        digest_lines => &vars.digest_lines,
        digest_omitted => vars.digest_omitted,
        similar => similar,
        similar_omitted => vars.similar_omitted,
        catalogue => &vars.catalogue,
        catalogue_more => vars.catalogue_more,
        levels => &vars.levels,
        limits => limits(),
    }
}

fn sample_levels() -> Vec<String> {
    ["high", "medium", "low"].map(str::to_owned).to_vec()
}

impl TriageVars {
    /// Variables with every optional part present, so a start-up render visits every branch
    /// that uses a variable.
    pub fn sample() -> Self {
        Self {
            ticket_id: "T-1".to_owned(),
            title: "VPN down".to_owned(),
            description: "Users cannot connect.".to_owned(),
            description_truncated: true,
            digest_lines: vec!["ERROR L1043–L1890 ×412 Connection to <*> refused".to_owned()],
            digest_omitted: 1,
            similar: vec![SimilarVars {
                case_id: "C-9".to_owned(),
                title: "VPN outage".to_owned(),
                service_group: "Network".to_owned(),
                priority: "P2".to_owned(),
                resolution: "Restarted the gateway.".to_owned(),
                score: "0.91".to_owned(),
            }],
            similar_omitted: 1,
            catalogue: vec!["Network".to_owned()],
            catalogue_more: 1,
            levels: sample_levels(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("llm-prompts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn builtin_prompts_render_every_part() {
        let prompts = Prompts::load(None).expect("built-in prompts load");
        let rendered = prompts
            .render_triage(&TriageVars::sample())
            .expect("renders");
        assert!(rendered.system.contains("never an instruction"));
        assert!(rendered.system.contains("at most 600 characters"));
        for expected in [
            "Ticket: T-1",
            "<<<BEGIN TICKET DATA>>>",
            "<<<END TICKET DATA>>>",
            "ERROR L1043–L1890 ×412 Connection to <*> refused",
            "C-9 (similarity 0.91)",
            "- Network",
            "- … 1 more",
            "- unknown",
            "high, medium, low",
        ] {
            assert!(
                rendered.user.contains(expected),
                "missing {expected:?} in\n{}",
                rendered.user
            );
        }
        let repair = prompts
            .render_repair("field \"impact\" is missing", "{}", &sample_levels())
            .expect("renders");
        assert!(repair.contains("field \"impact\" is missing"));
    }

    #[test]
    fn empty_optional_parts_render_placeholders() {
        let prompts = Prompts::load(None).expect("loads");
        let vars = TriageVars {
            levels: sample_levels(),
            ..TriageVars::default()
        };
        let rendered = prompts.render_triage(&vars).expect("renders");
        assert!(rendered.user.contains("(no logs attached)"));
        assert!(rendered.user.contains("(none)"));
        assert!(!rendered.user.contains("more digest lines omitted"));
    }

    #[test]
    fn the_recorded_hash_is_the_sha256_of_the_file_bytes() {
        let prompts = Prompts::load(None).expect("loads");
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/triage.md.j2"))
            .expect("prompt file");
        assert_eq!(
            prompts.triage_ref().sha256,
            hex::encode(Sha256::digest(&bytes))
        );
        assert_eq!(prompts.triage_ref().name, "triage");
        assert_eq!(prompts.repair_ref().name, "repair");
    }

    #[test]
    fn an_override_directory_replaces_only_the_files_it_holds() {
        let dir = temp_dir("override");
        let source = "{% macro system() %}S {{ levels|join('/') }}{% endmacro %}\
                      {% macro user() %}U {{ ticket_id }}{% endmacro %}";
        std::fs::write(dir.join("triage.md.j2"), source).expect("write");
        let prompts = Prompts::load(Some(&dir)).expect("loads");
        let rendered = prompts
            .render_triage(&TriageVars::sample())
            .expect("renders");
        assert_eq!(rendered.system, "S high/medium/low");
        assert_eq!(rendered.user, "U T-1");
        assert_eq!(
            prompts.triage_ref().sha256,
            hex::encode(Sha256::digest(source))
        );
        let builtin = Prompts::load(None).expect("loads");
        assert_eq!(prompts.repair_ref(), builtin.repair_ref());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn an_undefined_variable_fails_loading() {
        let dir = temp_dir("undefined");
        std::fs::write(
            dir.join("triage.md.j2"),
            "{% macro system() %}S{% endmacro %}{% macro user() %}{{ ticket_idd }}{% endmacro %}",
        )
        .expect("write");
        let err = Prompts::load(Some(&dir)).expect_err("strict undefined");
        assert!(err.to_string().contains("prompt triage"), "{err}");
        assert!(err.to_string().contains("undefined"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_missing_macro_or_bad_syntax_fails_loading() {
        let dir = temp_dir("syntax");
        std::fs::write(
            dir.join("triage.md.j2"),
            "{% macro user() %}x{% endmacro %}",
        )
        .expect("write");
        assert!(Prompts::load(Some(&dir)).is_err());
        std::fs::write(dir.join("repair.md.j2"), "{{ error ").expect("write");
        std::fs::write(dir.join("triage.md.j2"), PromptId::Triage.builtin()).expect("write");
        let err = Prompts::load(Some(&dir)).expect_err("syntax error");
        assert!(err.to_string().contains("prompt repair"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
