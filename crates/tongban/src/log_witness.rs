//! `tongban log witness`: a witness for another platform's log (or a separate process
//! beside our own). It checks the log's latest checkpoint with the pinned log key, and
//! that it extends the last checkpoint it cosigned (the log's consistency proof must
//! check); only then does it cosign (C2SP tlog-cosignature, cosignature/v1) and hand
//! the line to the log. It never cosigns a smaller tree or a different one of the same
//! size, across restarts: its state file remembers.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use tongban_ledger::merkle::{self, Hash};

use crate::log_client;
use tongban_ledger::monitor;
use tongban_ledger::note::{SignatureLine, VerifierKey, cosignature_message};

/// The witness's key: read from `file` (base64 PKCS#8), made there first if absent.
pub fn witness_key(file: &Path, name: &str) -> anyhow::Result<(Ed25519KeyPair, VerifierKey)> {
    if !file.exists() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| anyhow::anyhow!("cannot make an Ed25519 key"))?;
        write_private(file, &B64.encode(pkcs8.as_ref()))?;
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    let pkcs8 = B64
        .decode(text.trim())
        .context("the witness key file is not base64")?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| anyhow::anyhow!("the witness key file holds no Ed25519 key"))?;
    let public: [u8; 32] = pair.public_key().as_ref().try_into()?;
    Ok((pair, VerifierKey::witness(name, public)))
}

#[cfg(unix)]
fn write_private(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("{}", file.display()))?;
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(file: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(file, text).with_context(|| format!("{}", file.display()))
}

/// What one run needs.
pub struct Witness<'a> {
    pub url: &'a str,
    pub log_key: &'a str,
    pub name: &'a str,
    pub key_file: &'a Path,
    pub state: &'a Path,
}

/// Checks and cosigns the log's latest checkpoint once; one run at a time per state
/// file (two at once could each cosign a branch).
pub async fn run(witness: &Witness<'_>) -> anyhow::Result<ExitCode> {
    let lock_path = witness.state.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("{}", lock_path.display()))?;
    lock.try_lock()
        .map_err(|_| anyhow::anyhow!("another witness run holds {}", lock_path.display()))?;
    let outcome = cosign(witness).await;
    drop(lock);
    outcome
}

async fn cosign(witness: &Witness<'_>) -> anyhow::Result<ExitCode> {
    let log_key = log_client::pinned_key(witness.log_key)?;
    let (pair, key) = witness_key(witness.key_file, witness.name)?;
    let http = log_client::http()?;
    let base = witness.url.trim_end_matches('/');
    let text = log_client::get(&http, &format!("{base}/log/checkpoint")).await?;
    let Ok(checkpoint) = monitor::read_checkpoint(&String::from_utf8_lossy(&text), &log_key) else {
        return refuse("the checkpoint is not signed by the log key");
    };
    let last = read_state(witness.state)?;
    if let Some((size, root)) = last {
        if checkpoint.size < size {
            return refuse(&format!(
                "the log shrank from {size} to {}",
                checkpoint.size
            ));
        }
        if !log_client::extends(&http, base, (size, &root), &checkpoint).await? {
            return refuse(&format!(
                "the checkpoint of {} entries does not extend the one of {size} cosigned before",
                checkpoint.size
            ));
        }
    }
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let message = cosignature_message(&checkpoint.body(), time);
    let mut signature = time.to_be_bytes().to_vec();
    signature.extend_from_slice(pair.sign(message.as_bytes()).as_ref());
    let line = SignatureLine {
        name: key.name.clone(),
        key_id: key.id(),
        signature,
    }
    .encode();
    // Remembered before the line leaves: a log that keeps the line and answers an
    // error must not get a cosignature of another branch from the next run.
    let state = json!({"size": checkpoint.size, "root": merkle::to_base64(&checkpoint.root)});
    log_client::write_durably(witness.state, &state.to_string())?;
    let handed = http
        .post(format!("{base}/api/v1/log/cosignatures"))
        .json(&json!({"size": checkpoint.size, "line": line}))
        .send()
        .await?;
    anyhow::ensure!(
        handed.status().is_success(),
        "the log refused the cosignature: {}",
        handed.status()
    );
    println!(
        "{}",
        json!({"ok": true, "size": checkpoint.size, "witness": key.encode()})
    );
    Ok(ExitCode::SUCCESS)
}

fn refuse(why: &str) -> anyhow::Result<ExitCode> {
    println!("{}", json!({"ok": false, "refused": why}));
    eprintln!("tongban log witness: refusing to cosign: {why}");
    Ok(ExitCode::from(1))
}

/// The size and root cosigned last.
fn read_state(path: &Path) -> anyhow::Result<Option<(u64, Hash)>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let state: Value = serde_json::from_str(&text).context("the witness state is not JSON")?;
    let size = state["size"]
        .as_u64()
        .context("the witness state has no size")?;
    let root = state["root"]
        .as_str()
        .and_then(merkle::from_base64)
        .context("the witness state has no root")?;
    Ok(Some((size, root)))
}
