//! [`LlmTriager`]: the one entry point. It runs a triage call end to end (circuit check,
//! redaction, token budget, request, validation, one repair) and turns whatever happens into
//! an [`LlmRecord`].

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::FinishReason;
use tiktoken_rs::CoreBPE;

use super::breaker::{Admission, CircuitBreaker};
use super::budget::fit_prompt;
use super::call::{CallError, Completion, complete};
use super::error::LlmSetupError;
use super::input::TriageInput;
use super::prompts::Prompts;
use super::record::{LlmRecord, LlmStatus, PromptRef, TriageAnswer};
use super::redact::{RedactFn, redact_input, redact_text};
use super::request::{chat_request, messages};
use super::schema::answer_schema;
use super::settings::LlmSettings;
use super::setup::{build_client, check_budget, check_settings};
use super::tokens::tokenizer;
use super::transport::{attempts_so_far, with_call_stats};
use super::usage::{RAW_OUTPUT_MAX_BYTES, Tally, clip_bytes, cost_estimate};
use super::validate::validate;

/// Most bytes of a bad output echoed back to the model in the repair prompt.
const REPAIR_ECHO_MAX_BYTES: usize = 4 * 1024;
/// Shortest API key scrubbed from records; shorter strings would match ordinary text.
const SCRUB_MIN_KEY_LEN: usize = 8;

/// Asks the configured model for a triage proposal. Cheap to share behind an `Arc`; calls may
/// run concurrently.
pub struct LlmTriager {
    settings: LlmSettings,
    client: Client<OpenAIConfig>,
    prompts: Prompts,
    redact: RedactFn,
    breaker: Mutex<CircuitBreaker>,
    bpe: &'static CoreBPE,
}

impl fmt::Debug for LlmTriager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `settings` has its own key-hiding Debug; the client is left out altogether.
        f.debug_struct("LlmTriager")
            .field("settings", &self.settings)
            .field("prompt", self.prompts.triage_ref())
            .field("breaker_open", &self.breaker_open())
            .finish_non_exhaustive()
    }
}

/// What came back from the model that could not be used.
struct BadOutput {
    raw: String,
    error: String,
}

/// How a run ended, before bookkeeping is attached.
enum Verdict {
    Ok(TriageAnswer),
    Repaired {
        answer: TriageAnswer,
        first_bad: BadOutput,
    },
    Failed {
        reason: String,
        raw: Option<String>,
    },
}

impl Verdict {
    fn failed(reason: impl Into<String>) -> Self {
        Verdict::Failed {
            reason: reason.into(),
            raw: None,
        }
    }
}

/// An admitted call's hold on the breaker. The first verdict settles it; dropping it
/// unsettled (cancelled, or no request made) frees a half-open trial slot.
struct BreakerTicket<'a> {
    triager: &'a LlmTriager,
    admission: Admission,
    settled: bool,
}

impl BreakerTicket<'_> {
    fn record(&mut self, result: &Result<Completion, CallError>) {
        let mut breaker = self.triager.lock_breaker();
        match result {
            Err(err) if err.trips_breaker() => breaker.on_failure(Instant::now()),
            // Any answer, even a 4xx, shows the endpoint is up.
            _ => breaker.on_success(),
        }
        self.settled = true;
    }
}

impl Drop for BreakerTicket<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.triager.lock_breaker().on_abandoned(self.admission);
        }
    }
}

impl LlmTriager {
    /// Builds the client and loads and checks the prompts. An error here should stop start-up.
    pub fn new(settings: LlmSettings, redact: RedactFn) -> Result<Self, LlmSetupError> {
        check_settings(&settings)?;
        let prompts = Prompts::load(settings.prompts_dir.as_deref())?;
        let bpe = tokenizer().map_err(LlmSetupError::Tokenizer)?;
        check_budget(bpe, &prompts, settings.max_prompt_tokens)?;

        let client = build_client(&settings)?;
        let breaker = CircuitBreaker::new(settings.breaker_failures, settings.breaker_cooldown);
        Ok(Self {
            settings,
            client,
            prompts,
            redact,
            breaker: Mutex::new(breaker),
            bpe,
        })
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// Returns the triage prompt's name and sha256.
    pub fn prompt(&self) -> &PromptRef {
        self.prompts.triage_ref()
    }

    /// Returns whether the circuit is open or half-open (calls are refused or gated).
    pub fn breaker_open(&self) -> bool {
        self.lock_breaker().is_open()
    }

    /// Asks the model about one ticket. Never panics and never fails: every failure is a
    /// `Failed` record with its reason.
    #[tracing::instrument(name = "llm.triage", skip_all, fields(ticket.id = %input.ticket_id))]
    pub async fn triage(&self, input: &TriageInput) -> LlmRecord {
        let started = Instant::now();
        let mut tally = Tally::default();
        let (verdict, attempts) = with_call_stats(async {
            let verdict = self.run(input, &mut tally).await;
            (verdict, attempts_so_far())
        })
        .await;
        let record = self.finish(verdict, tally, attempts, started);
        tracing::info!(
            status = ?record.status,
            attempts = record.attempts,
            latency_ms = record.latency_ms,
            reason = record.reason.as_deref().unwrap_or(""),
            "llm triage finished"
        );
        record
    }

    async fn run(&self, input: &TriageInput, tally: &mut Tally) -> Verdict {
        let admission = match self.lock_breaker().admit(Instant::now()) {
            Ok(admission) => admission,
            Err(refusal) => return Verdict::failed(refusal.to_string()),
        };
        let mut ticket = BreakerTicket {
            triager: self,
            admission,
            settled: false,
        };
        if input.levels.is_empty() {
            return Verdict::failed("no impact/urgency levels were given");
        }

        let redacted = redact_input(input, &self.redact);
        let fitted = match fit_prompt(
            self.bpe,
            &self.prompts,
            &redacted,
            self.settings.max_prompt_tokens,
        ) {
            Ok(fitted) => fitted,
            Err(err) => return Verdict::failed(err.to_string()),
        };
        tally.estimate = u32::try_from(fitted.tokens).unwrap_or(u32::MAX);
        let (system, user) = (&fitted.prompt.system, &fitted.prompt.user);
        let schema = answer_schema(&input.catalogue, &input.levels);
        let digest = &redacted.get().digest;

        let request = chat_request(&self.settings, messages(system, &[user]), schema.clone());
        let first = complete(&self.client, request, self.settings.timeout).await;
        ticket.record(&first);
        let completion = match first {
            Ok(completion) => completion,
            Err(err) => return call_failed(&err),
        };
        tally.add_usage(completion.usage.as_ref());
        let first_bad = match self.judge(&completion, input, digest) {
            Ok(answer) => return Verdict::Ok(answer),
            Err(bad) => bad,
        };

        // One repair: the original conversation plus the error and the (redacted) bad output.
        tally.repair_tried = true;
        let echoed = clip_bytes(&first_bad.raw, REPAIR_ECHO_MAX_BYTES);
        let repair = match self.prompts.render_repair(
            &redact_text(&first_bad.error, &self.redact),
            &redact_text(echoed, &self.redact),
            &input.levels,
        ) {
            Ok(text) => text,
            Err(err) => return self.failed_with(first_bad, err.to_string()),
        };
        let request = chat_request(&self.settings, messages(system, &[user, &repair]), schema);
        let second = complete(&self.client, request, self.settings.timeout).await;
        ticket.record(&second);
        match second {
            Ok(completion) => {
                tally.add_usage(completion.usage.as_ref());
                match self.judge(&completion, input, digest) {
                    Ok(answer) => Verdict::Repaired { answer, first_bad },
                    Err(bad) => self.failed_with(first_bad, bad.error),
                }
            }
            Err(err) => {
                let reason = format!("{}; the repair call failed: {err}", first_bad.error);
                self.failed_with(first_bad, reason)
            }
        }
    }

    /// Turns a completion into a validated answer, or says what is wrong with it.
    fn judge(
        &self,
        completion: &Completion,
        input: &TriageInput,
        digest: &str,
    ) -> Result<TriageAnswer, BadOutput> {
        let raw = completion.content.clone().unwrap_or_default();
        let refusal = completion
            .refusal
            .as_deref()
            .filter(|r| !r.trim().is_empty());
        if let (true, Some(refusal)) = (raw.trim().is_empty(), refusal) {
            return Err(BadOutput {
                raw: refusal.to_owned(),
                error: format!("the model refused: {}", refusal.trim()),
            });
        }
        validate(&raw, &input.catalogue, &input.levels, digest).map_err(|err| {
            let error = if completion.finish_reason == Some(FinishReason::Length) {
                format!(
                    "{err} (the output was cut off at the {}-token limit)",
                    self.settings.max_output_tokens
                )
            } else {
                err.to_string()
            };
            BadOutput { raw, error }
        })
    }

    fn failed_with(&self, first_bad: BadOutput, reason: String) -> Verdict {
        Verdict::Failed {
            reason,
            raw: Some(first_bad.raw),
        }
    }

    fn finish(&self, verdict: Verdict, tally: Tally, attempts: u32, started: Instant) -> LlmRecord {
        let (status, reason, raw_output, answer) = match verdict {
            Verdict::Ok(answer) => (LlmStatus::Ok, None, None, Some(answer)),
            Verdict::Repaired { answer, first_bad } => (
                LlmStatus::Repaired,
                Some(first_bad.error),
                Some(first_bad.raw),
                Some(answer),
            ),
            Verdict::Failed { reason, raw } => (LlmStatus::Failed, Some(reason), raw, None),
        };
        LlmRecord {
            status,
            model: Some(self.settings.model.clone()),
            prompt: Some(self.prompts.triage_ref().clone()),
            repair_prompt: tally
                .repair_tried
                .then(|| self.prompts.repair_ref().clone()),
            attempts,
            prompt_tokens: tally.prompt_tokens,
            completion_tokens: tally.completion_tokens,
            prompt_tokens_estimate: tally.estimate,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            cost_estimate_usd: cost_estimate(
                tally.prompt_tokens,
                tally.completion_tokens,
                self.settings.cost_per_1k_prompt,
                self.settings.cost_per_1k_completion,
            ),
            reason: reason.map(|r| self.scrub(&r)),
            // Scrubbed before it is cut, so a key straddling the cut cannot leave a prefix behind.
            raw_output: raw_output
                .map(|raw| clip_bytes(&self.scrub(&raw), RAW_OUTPUT_MAX_BYTES).to_owned()),
            answer,
        }
    }

    /// Removes the API key from text bound for the record: some servers quote the key they
    /// rejected in their error message.
    fn scrub(&self, text: &str) -> String {
        match self.settings.api_key.as_deref() {
            Some(key) if key.len() >= SCRUB_MIN_KEY_LEN && text.contains(key) => {
                text.replace(key, "[api key]")
            }
            _ => text.to_owned(),
        }
    }

    fn lock_breaker(&self) -> MutexGuard<'_, CircuitBreaker> {
        // The breaker's state is valid after any panic mid-update (plain field writes), so a
        // poisoned lock is safe to keep using.
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn call_failed(err: &CallError) -> Verdict {
    Verdict::Failed {
        reason: err.to_string(),
        raw: err.body().map(str::to_owned),
    }
}
