//! Token signing keys (ES256) and their rotation, for ID tokens and JWT access tokens.
//!
//! Rotation follows the rule relying parties depend on: a new key is published in the
//! JWKS [`PUBLISH_LEAD`] before it signs anything (so every JWKS cache has it by then),
//! and the old key stays published [`RETIRE_AFTER`] its successor took over (so every
//! token it signed can still be verified until it expires). The schedule lives in the
//! database, so a rotation by one instance or by `tongban keys rotate` reaches all.

use std::collections::HashMap;
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

/// The token signing keys of the deployment.
#[derive(Clone)]
pub struct TokenKeys {
    store: Store,
    keys: KeyStore,
    /// Decrypted keys by id; keys never change once made, only their schedule does.
    signers: Arc<Mutex<HashMap<String, Arc<dyn Signer>>>>,
}

impl TokenKeys {
    /// Token keys in `store`, sealed by `keys`.
    pub fn new(store: Store, keys: KeyStore) -> Self {
        Self {
            store,
            keys,
            signers: Arc::default(),
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

    /// The JWKS at `now`: every published key, the upcoming one included.
    pub async fn jwks(&self, now: Timestamp) -> Result<Jwks, CryptoError> {
        let mut conn = self.store.conn().await?;
        let published = pki::published_token_keys(&mut conn, now).await?;
        let mut keys = Vec::with_capacity(published.len());
        for row in published {
            let key = pki::key(&mut conn, &row.key_id)
                .await?
                .ok_or_else(|| CryptoError::NotFound(format!("key {}", row.key_id)))?;
            let algorithm = Algorithm::from_db_name(&key.algorithm)
                .ok_or_else(|| CryptoError::InvalidKey(key.algorithm.clone()))?;
            keys.push(Jwk::from_public_key(
                &PublicKey::from_raw(algorithm, &key.public_key)?,
                None,
            ));
        }
        Ok(Jwks { keys })
    }

    /// The key that signs at `now`: the newest published key already active.
    pub async fn signer(&self, now: Timestamp) -> Result<Arc<dyn Signer>, CryptoError> {
        let mut conn = self.store.conn().await?;
        let current = pki::published_token_keys(&mut conn, now)
            .await?
            .into_iter()
            .filter(|k| k.activate_at <= now)
            .max_by_key(|k| k.activate_at)
            .ok_or_else(|| CryptoError::NotFound("active token key".into()))?;
        if let Some(signer) = self.cached(&current.key_id) {
            return Ok(signer);
        }
        let signer = self.keys.load_in(&mut conn, &current.key_id).await?;
        self.signers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(current.key_id, signer.clone());
        Ok(signer)
    }

    fn cached(&self, key_id: &str) -> Option<Arc<dyn Signer>> {
        self.signers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
            .cloned()
    }
}
