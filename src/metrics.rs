//! Prometheus metrics of the service: HTTP requests by route and status with their latency,
//! triages by outcome with their duration, and index rebuilds. Routes are the matched path
//! templates, so ids never blow up the label set. The HTTP middleware that feeds the request
//! figures lives in `http/metrics.rs`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    suggestions: Family<StatusLabels, Counter>,
    triage_seconds: Histogram,
    index_rebuilds: Counter,
    llm_calls: Family<StatusLabels, Counter>,
    llm_seconds: Histogram,
    jobs: Family<StatusLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("triagegate");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.5 ms to about 16 s, doubling.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let suggestions = Family::<StatusLabels, Counter>::default();
        let triage_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let index_rebuilds = Counter::default();
        let llm_calls = Family::<StatusLabels, Counter>::default();
        let llm_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let jobs = Family::<StatusLabels, Counter>::default();
        registry.register(
            "llm_triages",
            "Model answers by outcome (ok, repaired, failed)",
            llm_calls.clone(),
        );
        registry.register(
            "llm_duration_seconds",
            "Time spent asking the model per triage, retries and repair included",
            llm_seconds.clone(),
        );
        registry.register(
            "triage_jobs",
            "Triage job attempts by outcome (done, retried, dead, lease_lost)",
            jobs.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        registry.register(
            "suggestions",
            "Suggestions stored, by status (done or failed)",
            suggestions.clone(),
        );
        registry.register(
            "triage_duration_seconds",
            "Time of one triage attempt: logs digested, similar cases found, model asked, proposal stored (queue time not included)",
            triage_seconds.clone(),
        );
        registry.register(
            "index_rebuilds",
            "Similar-case index rebuilds from the database",
            index_rebuilds.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            suggestions,
            triage_seconds,
            index_rebuilds,
            llm_calls,
            llm_seconds,
            jobs,
        }
    }

    pub fn observe_request(&self, method: String, route: String, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    /// One triage attempt stored a suggestion of this status after `seconds` of work (queue
    /// time not included).
    pub fn observe_triage(&self, status: &str, seconds: f64) {
        self.suggestions
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
        self.triage_seconds.observe(seconds);
    }

    /// A job gave up and stored its suggestion as failed; no duration, since no attempt ended.
    pub fn observe_failed_triage(&self) {
        self.suggestions
            .get_or_create(&StatusLabels {
                status: "failed".to_string(),
            })
            .inc();
    }

    /// One model triage ended with this status after `millis`.
    pub fn observe_llm(&self, status: &str, millis: u64) {
        self.llm_calls
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .inc();
        self.llm_seconds.observe(millis as f64 / 1_000.0);
    }

    /// One job attempt ended this way.
    pub fn job_outcome(&self, outcome: &str) {
        self.jobs
            .get_or_create(&StatusLabels {
                status: outcome.to_string(),
            })
            .inc();
    }

    pub fn index_rebuilt(&self) {
        self.index_rebuilds.inc();
    }

    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
