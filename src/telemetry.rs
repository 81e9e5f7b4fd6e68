//! Installs the tracing subscriber: `RUST_LOG` if set, else the configured filter.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored, which keeps tests simple.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
