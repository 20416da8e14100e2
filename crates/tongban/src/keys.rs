//! `tongban keys …`: development key material, and the production CA ceremony (import
//! the offline root, request and import the issuing CA certificate).

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use tongban_core::config::{Config, Environment};
use tongban_core::time::Timestamp;
use tongban_crypto::kek::Kek;
use tongban_crypto::keystore::KeyStore;
use tongban_crypto::token_keys::TokenKeys;
use tongban_crypto::{Algorithm, pki};
use tongban_store::Store;

use crate::startup::{self, DEV_KEK_FILE, DEV_MARKER};

/// `tongban keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make development keys in keys.dir: a KEK, a P-256 and an SM2 root CA with their
    /// encrypted keys, and the DEVELOPMENT-ONLY marker that production refuses. Where
    /// the keys exist but the SM2 root does not, adds only the SM2 root.
    DevInit {
        /// Replace existing development keys (invalidates databases made with them).
        #[arg(long)]
        force: bool,
    },
    /// Install an externally made root CA certificate (PEM) as keys.dir/root-ca.pem
    /// (or keys.dir/sm2-root-ca.pem with `--algorithm sm2`).
    ImportRoot {
        /// The root certificate, PEM.
        file: PathBuf,
        /// The hierarchy it roots.
        #[arg(long, value_enum, default_value_t = Hierarchy::P256)]
        algorithm: Hierarchy,
    },
    /// Generate the issuing CA key (stored encrypted) and write its PKCS#10 request
    /// for the offline root to sign.
    IssuingCsr {
        /// Where to write the request (PEM).
        #[arg(long)]
        out: PathBuf,
        /// The hierarchy of the issuing CA.
        #[arg(long, value_enum, default_value_t = Hierarchy::P256)]
        algorithm: Hierarchy,
    },
    /// Import the issuing CA certificate the offline root signed.
    ImportIssuing {
        /// The certificate, PEM.
        file: PathBuf,
        /// The hierarchy of the issuing CA.
        #[arg(long, value_enum, default_value_t = Hierarchy::P256)]
        algorithm: Hierarchy,
    },
    /// Rotate the token signing key: the new key is published at once and signs after
    /// an hour; the old one stays published for a day after that.
    Rotate,
    /// Re-wrap every private key and secret under a new KEK in one transaction (and the
    /// development roots' keys in keys.dir, where there are any). Stop the instances
    /// first, then start them on the new KEK; run it again if one made a key meanwhile.
    /// Keys in a PKCS#11 token are not touched; derived values (pseudonymous subjects,
    /// TOTP secrets) do not change.
    RotateKek {
        /// File holding the new KEK (base64 of 32 bytes), e.g. from `openssl rand
        /// -base64 32`.
        #[arg(long)]
        new_kek_file: PathBuf,
    },
}

/// The CA hierarchies: P-256 (ECDSA with SHA-256) and SM2 (with SM3), side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Hierarchy {
    /// ECDSA P-256 with SHA-256.
    P256,
    /// SM2 with SM3 (GM/T 0003).
    Sm2,
}

impl Hierarchy {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::Es256,
            Self::Sm2 => Algorithm::Sm2,
        }
    }
}

/// Runs one `keys` subcommand.
pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::DevInit { force } => dev_init(&config, force),
        KeysCommand::ImportRoot { file, algorithm } => {
            let pem = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            // Only the certificate is kept, re-encoded: nothing else in the file can
            // end up published.
            let der = pki::parse_root(&pem, &file.display().to_string())?;
            let key = tongban_crypto::PublicKey::from_spki_der(&pki::spki_of(&der)?)?;
            if key.algorithm() != algorithm.algorithm() {
                bail!(
                    "the root's key is {}, not {:?}",
                    key.algorithm().db_name(),
                    algorithm
                );
            }
            let target = match algorithm {
                Hierarchy::P256 => pki::ROOT_CERT_FILE,
                Hierarchy::Sm2 => pki::SM2_ROOT_CERT_FILE,
            };
            std::fs::create_dir_all(&config.keys.dir)?;
            std::fs::write(
                config.keys.dir.join(target),
                pki::der_to_pem("CERTIFICATE", &der),
            )?;
            println!("root installed in {}", config.keys.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::IssuingCsr { out, algorithm } => {
            let kek = startup::check(&config)?;
            let store = open_store(&config).await?;
            let csr = pki::issuing_request(&store, Arc::new(kek), algorithm.algorithm()).await?;
            std::fs::write(&out, csr).with_context(|| format!("cannot write {}", out.display()))?;
            store.close().await;
            println!(
                "request written to {}; have the root sign it, then `tongban keys import-issuing`",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate => {
            let kek = startup::check(&config)?;
            let store = open_store(&config).await?;
            let keys = KeyStore::new(store.clone(), Arc::new(kek));
            let row = TokenKeys::new(store.clone(), keys)
                .rotate(Timestamp::now())
                .await?;
            store.close().await;
            println!(
                "token key {} published; it signs from {}",
                row.key_id, row.activate_at
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::RotateKek { new_kek_file } => rotate_kek(&config, &new_kek_file).await,
        KeysCommand::ImportIssuing { file, algorithm } => {
            startup::check(&config)?;
            let pem = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = open_store(&config).await?;
            let dir = &config.keys.dir;
            let serial = pki::import_issuing(&store, dir, &pem, algorithm.algorithm()).await?;
            store.close().await;
            println!("issuing CA certificate {serial} imported");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn rotate_kek(config: &Config, new_kek_file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let old = startup::check(config)?;
    let text = std::fs::read_to_string(new_kek_file)
        .with_context(|| format!("cannot read {}", new_kek_file.display()))?;
    let new = Kek::from_base64(text.trim()).context("the new KEK")?;
    if new.to_base64() == old.to_base64() {
        bail!("the new KEK is the one in use");
    }
    let store = open_store(config).await?;
    // The database first, in one transaction; the files after. Interrupted between,
    // running it again finishes the files (what is under the new KEK is left alone).
    let done = tongban_crypto::keystore::rotate_kek(&store, &old, &new).await?;
    store.close().await;
    let dir = &config.keys.dir;
    let files = pki::rewrap_dev_roots(dir, &old, &new)?;
    // In development the KEK itself lives beside the keys: it is replaced too.
    let dev_kek = dir.join(DEV_KEK_FILE);
    let dev = config.env == Environment::Development
        && config.keys.kek.is_none()
        && config.keys.kek_file.is_none()
        && dev_kek.exists();
    if dev {
        let beside = dev_kek.with_extension("rotated");
        std::fs::write(&beside, format!("{}\n", new.to_base64()))?;
        std::fs::rename(&beside, &dev_kek)?;
    }
    println!(
        "{} keys and secrets re-wrapped under the new KEK in one transaction ({} were already), {files} development root keys in {}",
        done.rewrapped,
        done.already,
        dir.display()
    );
    if dev {
        println!(
            "the development KEK in {} is the new one",
            dev_kek.display()
        );
    } else {
        println!("configure the new KEK (keys.kek_file or TONGBAN_KEK) and start the instances");
    }
    Ok(ExitCode::SUCCESS)
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database)
        .await
        .context("cannot open the database")?;
    store.migrate().await?;
    Ok(store)
}

fn dev_init(config: &Config, force: bool) -> anyhow::Result<ExitCode> {
    if config.env == Environment::Production {
        bail!("refusing to make development keys in production");
    }
    let dir = &config.keys.dir;
    let has_keys = dir.join(pki::ROOT_CERT_FILE).exists();
    if has_keys && !force && !dir.join(pki::SM2_ROOT_CERT_FILE).exists() {
        let text = std::fs::read_to_string(dir.join(DEV_KEK_FILE))
            .context("the development KEK beside the keys")?;
        pki::write_dev_sm2_root(dir, &Kek::from_base64(text.trim())?)?;
        println!("development SM2 root added to {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if has_keys && !force {
        bail!(
            "{} already holds keys; --force replaces them (databases made with the old ones \
             will no longer open)",
            dir.display()
        );
    }
    let kek = Kek::generate()?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(DEV_KEK_FILE), format!("{}\n", kek.to_base64()))?;
    std::fs::write(
        dir.join(DEV_MARKER),
        "This directory holds development-only key material. Production refuses it.\n",
    )?;
    pki::write_dev_root(dir, &kek)?;
    pki::write_dev_sm2_root(dir, &kek)?;
    println!("development keys written to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
