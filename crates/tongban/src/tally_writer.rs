//! Writes the daily tallies this instance counted in memory (verifications, failed
//! logins: `tongban_store::tallies`) every few seconds; the server writes the last of
//! them when it shuts down.

use std::time::Duration;

use tongban_store::Store;

/// How often it writes. The overview that reads them writes its own instance's first.
const EVERY: Duration = Duration::from_secs(5);

/// Runs until the task is aborted.
pub async fn run(store: Store) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        if let Err(error) = store.flush_tallies().await {
            tracing::warn!(%error, "cannot write the daily tallies; kept for the next try");
        }
    }
}
