//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use tongban_core::config::HttpConfig;
use tongban_crypto::pki::Pki;
use tongban_identity::clients::ClientCache;
use tongban_identity::identity_registry::{IdentityRegistry, TableRegistry};
use tongban_identity::password::Passwords;
use tongban_identity::sso::CodeKey;
use tongban_identity::tokens::TokenIssuer;
use tongban_store::Store;

use crate::metrics::Metrics;

/// Shared application state: the store, HTTP settings and metrics. Every request
/// clones it (axum's `State`), so it is one reference count: cloning the fields one by
/// one was 3 % of a certificate verification's CPU.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// The database.
    pub store: Store,
    /// HTTP limits and timeouts.
    pub http: Arc<HttpConfig>,
    /// CAs, CRLs and the time-stamp authority.
    pub pki: Arc<Pki>,
    /// Password hashing.
    pub passwords: Arc<Passwords>,
    /// ID and access tokens.
    pub tokens: TokenIssuer,
    /// Recently used clients, for the client_credentials hot path.
    pub clients: Arc<ClientCache>,
    /// Real-name assurance (the development registry table until a deployment plugs in
    /// its population database).
    pub registry: Arc<dyn IdentityRegistry>,
    /// Budget of public document verifications per client address.
    pub verify_limiter: Arc<crate::limit::RateLimiter>,
    /// Seals authorization codes.
    pub codes: Arc<CodeKey>,
    /// Seals TOTP secrets.
    pub totp: Arc<tongban_identity::totp::TotpKey>,
    /// The WebAuthn relying party (passkeys).
    pub passkeys: Arc<tongban_identity::passkeys::Passkeys>,
    /// Computes pairwise subject identifiers.
    pub pairwise: Arc<tongban_identity::pairwise::PairwiseKey>,
    /// Issues and checks DPoP nonces.
    pub dpop: Arc<tongban_identity::dpop::DpopNonces>,
    /// Authentication policy.
    pub auth: Arc<tongban_core::config::AuthConfig>,
    /// Request and pool metrics.
    pub metrics: Arc<Metrics>,
    /// The transparency log.
    pub ledger: Arc<tongban_ledger::Log>,
    /// The public URL (no trailing slash): links handed to callers.
    pub public_url: String,
    /// A development instance: callbacks may go to plain http on loopback.
    pub development: bool,
}

impl AppState {
    /// State over `store` with `config`'s HTTP settings, authentication policy and
    /// public URL (the OpenID issuer and WebAuthn relying party), the PKI, password
    /// hasher, the KEK (every key that must be alike on all instances is derived from
    /// it) and the transparency log.
    pub fn new(
        store: Store,
        config: &tongban_core::config::Config,
        pki: Arc<Pki>,
        passwords: Arc<Passwords>,
        ledger: Arc<tongban_ledger::Log>,
    ) -> Self {
        // Derived from the stored root, not the KEK itself: rotating the KEK changes
        // no pseudonymous subject, TOTP wrapping, code or nonce key.
        let keys = pki.clone();
        let kek = keys.keys().derivation_root();
        let (http, auth, public_url) =
            (config.http.clone(), config.auth.clone(), &config.public_url);
        Self(Arc::new(Shared {
            auth: Arc::new(auth),
            totp: Arc::new(tongban_identity::totp::TotpKey::derive(kek)),
            codes: Arc::new(CodeKey::derive(kek)),
            passkeys: Arc::new(tongban_identity::passkeys::Passkeys::new(public_url)),
            pairwise: Arc::new(tongban_identity::pairwise::PairwiseKey::derive(kek)),
            dpop: Arc::new(tongban_identity::dpop::DpopNonces::derive(kek)),
            verify_limiter: Arc::new(crate::limit::RateLimiter::new(
                http.verify_per_minute,
                Duration::from_secs(60),
            )),
            registry: Arc::new(TableRegistry::new(store.clone())),
            clients: Arc::new(ClientCache::new(store.clone())),
            store,
            http: Arc::new(http),
            tokens: TokenIssuer::new(public_url, pki.token_keys().clone()),

            pki,
            passwords,
            metrics: Arc::new(Metrics::default()),
            ledger,
            public_url: public_url.trim_end_matches('/').to_owned(),
            development: config.env == tongban_core::config::Environment::Development,
        }))
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_secs.max(1))
    }
}
