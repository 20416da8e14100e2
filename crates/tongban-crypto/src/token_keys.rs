//! Token signing keys (ES256) and their rotation, for ID tokens and JWT access tokens.
//!
//! Rotation follows the rule relying parties depend on: a new key is published in the
//! JWKS [`PUBLISH_LEAD`] before it signs anything (so every JWKS cache has it by then),
//! and the old key stays published [`RETIRE_AFTER`] its successor took over (so every
//! token it signed can still be verified until it expires). The schedule lives in the
//! database, so a rotation by one instance or by `tongban keys rotate` reaches all.

use std::sync::{Arc, Mutex};

use time::Duration;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError, pki};

use crate::error::CryptoError;
use crate::jose::{Jwk, Jwks};
use crate::keystore::KeyStore;
use crate::signer::{Algorithm, PublicKey, Signer};

/// How long a new key is published before it signs; longer than any JWKS cache
/// lifetime we announce.
pub const PUBLISH_LEAD: Duration = Duration::hours(1);
/// How long a replaced key stays published; longer than any token it signed lives.
pub const RETIRE_AFTER: Duration = Duration::hours(24);
/// The `purpose` of token keys in the key store.
pub const PURPOSE: &str = "token";

fn later(at: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from(at.to_offset_date_time() + by)
}

/// How long a fetched schedule is used before it is read again. Rotation publishes
/// keys an hour ahead, so seconds of staleness never matter; reading the database on
/// every token would cost a connection per token.
const SCHEDULE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A token key as cached: its schedule, public key and (once used) private key.
#[derive(Clone)]
struct CachedKey {
    row: pki::TokenKeyRow,
    public: PublicKey,
}

struct Schedule {
    fetched: std::time::Instant,
    keys: Vec<CachedKey>,
}

/// The token signing keys of the deployment.
#[derive(Clone)]
pub struct TokenKeys {
    store: Store,
    keys: KeyStore,
    /// The published keys, read at most every [`SCHEDULE_TTL`]. Requests never wait
    /// for a refresh once a schedule is known: a request may hold a transaction, and
    /// a second connection taken from a busy pool could wait for ever.
    schedule: Arc<Mutex<Option<Schedule>>>,
    refreshing: Arc<std::sync::atomic::AtomicBool>,
}

impl TokenKeys {
    /// Token keys in `store`, sealed by `keys`.
    pub fn new(store: Store, keys: KeyStore) -> Self {
        Self {
            store,
            keys,
            schedule: Arc::default(),
            refreshing: Arc::default(),
        }
    }

    /// Makes a key that signs at once if none is active (under the set-up lock the
    /// caller holds, so two instances do not both make one). If a rotation is already
    /// scheduled, the new key retires after it like any replaced key.
    pub(crate) async fn ensure_in(&self, tx: &mut Conn, now: Timestamp) -> Result<(), CryptoError> {
        let published = pki::published_token_keys(tx, now).await?;
        if published.iter().any(|k| k.activate_at <= now) {
            return Ok(());
        }
        let row = self.schedule_in(tx, now, now).await?;
        if let Some(next) = published.iter().map(|k| k.activate_at).min() {
            pki::set_token_key_retirement(tx, &row.key_id, later(next, RETIRE_AFTER)).await?;
        }
        Ok(())
    }

    /// Rotates: a new key is published now and signs from `now + PUBLISH_LEAD`; the
    /// keys it replaces stay published until `RETIRE_AFTER` that.
    pub async fn rotate(&self, now: Timestamp) -> Result<pki::TokenKeyRow, CryptoError> {
        let activate_at = later(now, PUBLISH_LEAD);
        let mut tx = self.store.begin().await?;
        pki::retire_token_keys(&mut tx, later(activate_at, RETIRE_AFTER)).await?;
        let row = self.schedule_in(&mut tx, now, activate_at).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.reload(now).await?;
        Ok(row)
    }

    async fn schedule_in(
        &self,
        tx: &mut Conn,
        now: Timestamp,
        activate_at: Timestamp,
    ) -> Result<pki::TokenKeyRow, CryptoError> {
        let signer = self.keys.generate_in(tx, Algorithm::Es256, PURPOSE).await?;
        let row = pki::TokenKeyRow {
            key_id: signer.key_id().to_owned(),
            created_at: now,
            activate_at,
            retire_at: None,
        };
        pki::insert_token_key(tx, &row).await?;
        Ok(row)
    }

    /// Reads the published keys now, replacing the cached schedule.
    pub async fn reload(&self, now: Timestamp) -> Result<(), CryptoError> {
        let mut conn = self.store.conn().await?;
        let mut keys = Vec::new();
        for row in pki::published_token_keys(&mut conn, now).await? {
            let key = pki::key(&mut conn, &row.key_id)
                .await?
                .ok_or_else(|| CryptoError::NotFound(format!("key {}", row.key_id)))?;
            let algorithm = Algorithm::from_db_name(&key.algorithm)
                .ok_or_else(|| CryptoError::InvalidKey(key.algorithm.clone()))?;
            // Decrypt ahead, so that signing never needs the database.
            self.keys.load_in(&mut conn, &row.key_id).await?;
            keys.push(CachedKey {
                public: PublicKey::from_raw(algorithm, &key.public_key)?,
                row,
            });
        }
        *self.schedule.lock().unwrap_or_else(|e| e.into_inner()) = Some(Schedule {
            fetched: std::time::Instant::now(),
            keys,
        });
        Ok(())
    }

    /// The cached keys published at `now`; reads them first if none are cached, and
    /// refreshes a stale copy in the background.
    async fn published(&self, now: Timestamp) -> Result<Vec<CachedKey>, CryptoError> {
        let cached = {
            let guard = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
            guard
                .as_ref()
                .map(|s| (s.fetched.elapsed() > SCHEDULE_TTL, s.keys.clone()))
        };
        let keys = match cached {
            Some((stale, keys)) => {
                if stale
                    && !self
                        .refreshing
                        .swap(true, std::sync::atomic::Ordering::AcqRel)
                {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(error) = this.reload(Timestamp::now()).await {
                            tracing::warn!(%error, "token key schedule refresh failed; keeping the last one");
                        }
                        this.refreshing
                            .store(false, std::sync::atomic::Ordering::Release);
                    });
                }
                keys
            }
            None => {
                self.reload(now).await?;
                let guard = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
                guard.as_ref().map(|s| s.keys.clone()).unwrap_or_default()
            }
        };
        Ok(keys
            .into_iter()
            .filter(|k| k.row.retire_at.is_none_or(|r| r > now))
            .collect())
    }

    /// The JWKS at `now`: every published key, the upcoming one included.
    pub async fn jwks(&self, now: Timestamp) -> Result<Jwks, CryptoError> {
        let keys = self.published(now).await?;
        Ok(Jwks {
            keys: keys
                .iter()
                .map(|k| Jwk::from_public_key(&k.public, None))
                .collect(),
        })
    }

    /// The key that signs at `now`: the newest published key already active.
    pub async fn signer(&self, now: Timestamp) -> Result<Arc<dyn Signer>, CryptoError> {
        let current = self
            .published(now)
            .await?
            .into_iter()
            .filter(|k| k.row.activate_at <= now)
            .max_by_key(|k| k.row.activate_at)
            .ok_or_else(|| CryptoError::NotFound("active token key".into()))?;
        self.keys.load(&current.row.key_id).await
    }
}
