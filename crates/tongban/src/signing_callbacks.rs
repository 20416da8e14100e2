//! Background work of signing requests: posts each ended request's callback to its
//! requester (a signed JWT, `typ` `signing-event+jwt`, as the form field
//! `signing_event`), retried with back-off; and every minute marks requests past their
//! deadline expired and erases documents kept past their time.

use std::time::{Duration, Instant};

use tongban_core::time::Timestamp;
use tongban_esign::callbacks::{self, Due};
use tongban_identity::tokens::TokenIssuer;
use tongban_store::Store;

/// How often expired requests are swept.
const SWEEP: Duration = Duration::from_secs(60);
/// Callbacks taken per round.
const BATCH: i64 = 20;

/// Runs until the task is aborted.
pub async fn run(store: Store, tokens: TokenIssuer) {
    let http = match crate::form_post::client() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "signing callbacks: no HTTP client; callbacks stay queued");
            return;
        }
    };
    let mut swept = Instant::now() - SWEEP;
    loop {
        tokio::time::sleep(crate::form_post::POLL).await;
        if swept.elapsed() >= SWEEP {
            swept = Instant::now();
            match tongban_esign::requests::sweep(&store, Timestamp::now()).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "signing requests expired"),
                Err(error) => tracing::warn!(%error, "signing requests: sweep failed"),
            }
        }
        let due = match store.conn().await {
            Ok(mut conn) => callbacks::claim_due(&mut conn, BATCH, Timestamp::now()).await,
            Err(error) => Err(error),
        };
        let due = match due {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "signing callbacks: cannot read the queue");
                continue;
            }
        };
        for callback in due {
            let outcome = deliver(&http, &tokens, &callback).await;
            if let Err(why) = &outcome {
                tracing::warn!(request = %callback.request_id, attempt = callback.attempts + 1, error = %why,
                    "signing callback not delivered");
            }
            let recorded = match store.conn().await {
                Ok(mut conn) => {
                    callbacks::record_attempt(&mut conn, &callback, outcome, Timestamp::now()).await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = recorded {
                tracing::warn!(%error, "signing callbacks: cannot record an attempt");
            }
        }
    }
}

async fn deliver(http: &reqwest::Client, tokens: &TokenIssuer, due: &Due) -> Result<(), String> {
    let token = tokens
        .signing_event(
            &due.client_id,
            &due.request_id,
            &due.status,
            Timestamp::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    crate::form_post::post(http, &due.url, "signing_event", &token, "the requester").await
}
