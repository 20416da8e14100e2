//! Structured logs: one JSON object per line on stdout, filtered by `log.level`.

use tongban_core::config::LogConfig;
use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. A bad filter falls back to `info` with a warning
/// rather than failing start-up over logging.
pub fn init(config: &LogConfig) {
    let (filter, bad) = match EnvFilter::try_new(&config.level) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error.to_string())),
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
    if let Some(error) = bad {
        tracing::warn!(level = %config.level, %error, "invalid log.level, using info");
    }
}
