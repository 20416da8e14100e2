//! Structured logs: one JSON object per line, filtered by `log.level`; on stdout for
//! `serve`, on stderr for the other commands, whose stdout is their answer (a client's
//! secret as JSON, say) and must stay readable by a script.

use tongban_core::config::LogConfig;
use tracing_subscriber::EnvFilter;

/// Where the logs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// The service's own output.
    Stdout,
    /// Beside a command's answer on stdout.
    Stderr,
}

/// Installs the JSON log subscriber. A bad filter falls back to `info` with a warning
/// rather than failing start-up over logging.
pub fn init(config: &LogConfig, sink: Sink) {
    let (filter, bad) = match EnvFilter::try_new(&config.level) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error.to_string())),
    };
    let logs = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter);
    let _ = match sink {
        Sink::Stdout => logs.try_init(),
        Sink::Stderr => logs.with_writer(std::io::stderr).try_init(),
    };
    if let Some(error) = bad {
        tracing::warn!(level = %config.level, %error, "invalid log.level, using info");
    }
}
