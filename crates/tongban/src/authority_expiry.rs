//! Ends the authorities to act for a person that ran out (a relative's at its date, an
//! assisted session's after its 30 minutes), with what they gave: refresh tokens
//! revoked and back-channel logouts queued for the portals signed in to under them.
//! A background task looks every few seconds; several instances may look at once.

use std::time::Duration;

use tongban_core::time::Timestamp;
use tongban_store::{Store, StoreError};

/// How often it looks.
const EVERY: Duration = Duration::from_secs(5);
/// Authorities ended per transaction.
const BATCH: i64 = 50;

/// Runs until the task is aborted.
pub async fn run(store: Store) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        // A full batch means more may be waiting.
        loop {
            match end_batch(&store).await {
                Ok(0) => break,
                Ok(count) => {
                    tracing::info!(count, "authorities to act for a person ran out: ended");
                    if count < BATCH as u64 {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot end the authorities that ran out");
                    break;
                }
            }
        }
    }
}

/// One batch, in one transaction: each authority ends with what it gave, or not at all.
async fn end_batch(store: &Store) -> Result<u64, StoreError> {
    let mut tx = store.begin().await?;
    let ended = tongban_identity::delegation::end_expired(&mut tx, BATCH, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(ended)
}
