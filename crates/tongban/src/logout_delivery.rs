//! Delivers back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5): a
//! background task posts each queued token to its relying party and records the
//! outcome; `tongban_identity::backchannel` keeps the queue and the back-off.

use tongban_core::time::Timestamp;
use tongban_identity::backchannel::{self, Delivery};
use tongban_identity::tokens::TokenIssuer;
use tongban_store::Store;

/// Deliveries taken per round.
const BATCH: i64 = 20;

/// Runs until the task is aborted.
pub async fn run(store: Store, tokens: TokenIssuer) {
    let http = match crate::form_post::client() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "back-channel logout: no HTTP client; logout tokens stay queued");
            return;
        }
    };
    loop {
        tokio::time::sleep(crate::form_post::POLL).await;
        let due = match store.conn().await {
            Ok(mut conn) => backchannel::claim_due(&mut conn, BATCH, Timestamp::now()).await,
            Err(error) => Err(error),
        };
        let due = match due {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "back-channel logout: cannot read the queue");
                continue;
            }
        };
        for delivery in due {
            let outcome = deliver(&http, &tokens, &delivery).await;
            if let Err(why) = &outcome {
                tracing::warn!(client_id = %delivery.client_id, attempt = delivery.attempts + 1, error = %why,
                    "back-channel logout not delivered");
            }
            let recorded = match store.conn().await {
                Ok(mut conn) => {
                    backchannel::record_attempt(&mut conn, &delivery, outcome, Timestamp::now())
                        .await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = recorded {
                tracing::warn!(%error, "back-channel logout: cannot record an attempt");
            }
        }
    }
}

async fn deliver(
    http: &reqwest::Client,
    tokens: &TokenIssuer,
    delivery: &Delivery,
) -> Result<(), String> {
    let token = tokens
        .logout_token(
            &delivery.client_id,
            &delivery.sub,
            &delivery.sid,
            Timestamp::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    crate::form_post::post(
        http,
        &delivery.uri,
        "logout_token",
        &token,
        "the relying party",
    )
    .await
}
