//! Checks made before anything is served: in production, no development keys and a
//! key-encryption key must be present.

use tongban_core::config::{Config, Environment};
use tongban_crypto::kek::{Kek, KekError};

/// The file `tongban keys dev-init` puts in a development key directory. Its presence
/// is how production mode recognises development material, wherever it was copied.
pub const DEV_MARKER: &str = "DEVELOPMENT-ONLY";

/// Why the service refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Production mode with development key material.
    #[error(
        "refusing to start in production: keys.dir `{0}` holds development-only keys \
         (it contains {DEV_MARKER}); point TONGBAN_KEYS_DIR at production key material"
    )]
    DevKeysInProduction(String),
    /// Production mode without a key-encryption key.
    #[error(
        "refusing to start in production: no key-encryption key; set TONGBAN_KEK or \
         keys.kek_file (base64 of 32 random bytes)"
    )]
    MissingKek,
    /// Development mode without any KEK, not even the development one.
    #[error(
        "no key-encryption key: run `tongban keys dev-init` to make development keys, or set \
         TONGBAN_KEK / keys.kek_file"
    )]
    NoDevKek,
    /// Production mode with the transparency log off.
    #[error(
        "refusing to start in production: ledger.enabled is false; the transparency log is \
         off only to measure what it costs"
    )]
    LedgerOffInProduction,
    /// The KEK is set but unusable.
    #[error(transparent)]
    Kek(#[from] KekError),
}

/// The development KEK's file in the key directory.
pub const DEV_KEK_FILE: &str = "kek";

/// Validates the configuration for its environment and returns the KEK. In development
/// an unset KEK falls back to `keys.dir/kek`.
pub fn check(config: &Config) -> Result<Kek, StartupError> {
    let mut kek = Kek::load(&config.keys)?;
    let dev_keys = config.keys.dir.join(DEV_MARKER).exists();
    match config.env {
        Environment::Production => {
            if dev_keys {
                return Err(StartupError::DevKeysInProduction(
                    config.keys.dir.display().to_string(),
                ));
            }
            if !config.ledger.enabled {
                return Err(StartupError::LedgerOffInProduction);
            }
            kek.ok_or(StartupError::MissingKek)
        }
        Environment::Development => {
            if kek.is_none() {
                let mut keys = config.keys.clone();
                keys.kek_file = Some(config.keys.dir.join(DEV_KEK_FILE));
                if keys.kek_file.as_ref().is_some_and(|f| f.exists()) {
                    kek = Kek::load(&keys)?;
                }
            }
            tracing::warn!(
                keys_dir = %config.keys.dir.display(),
                "development mode: development keys are allowed; never run this in production"
            );
            kek.ok_or(StartupError::NoDevKek)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production(dir: &std::path::Path, kek: Option<&str>) -> Config {
        let mut config = Config {
            env: Environment::Production,
            ..Config::default()
        };
        config.keys.dir = dir.to_owned();
        config.keys.kek = kek.map(str::to_owned);
        config
    }

    #[test]
    fn production_refuses_dev_keys_and_missing_kek() {
        let repo_dev_keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys-dev");
        let good_kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert!(matches!(
            check(&production(&repo_dev_keys, Some(good_kek))),
            Err(StartupError::DevKeysInProduction(_))
        ));
        let empty = std::env::temp_dir().join(format!("tongban-prod-keys-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("dir");
        assert!(matches!(
            check(&production(&empty, None)),
            Err(StartupError::MissingKek)
        ));
        assert!(matches!(
            check(&production(&empty, Some("c2hvcnQ="))),
            Err(StartupError::Kek(_))
        ));
        assert!(check(&production(&empty, Some(good_kek))).is_ok());
        let mut off = production(&empty, Some(good_kek));
        off.ledger.enabled = false;
        assert!(matches!(
            check(&off),
            Err(StartupError::LedgerOffInProduction)
        ));
        std::fs::remove_dir_all(&empty).ok();
    }
}
