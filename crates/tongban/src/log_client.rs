//! What the transparency log's command-line clients (`log verify`, `log witness`)
//! share: the log key the operator pins, an HTTP client, GETs that fail on an error
//! status, the log's consistency proof checked, and state files written so that a
//! crash leaves the old or the new content.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;
use tongban_ledger::merkle::{self, Hash};
use tongban_ledger::note::{Checkpoint, VerifierKey};

/// The log key from `--key`: the key itself, or a file holding it.
pub fn pinned_key(arg: &str) -> anyhow::Result<VerifierKey> {
    let text = std::fs::read_to_string(arg).unwrap_or_else(|_| arg.to_owned());
    VerifierKey::parse(&text).context("--key is not a note verifier key")
}

/// An HTTP client that follows no redirect (a log answers from where it is).
pub fn http() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The body of `url`; an error status is an error.
pub async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "GET {url}: {status}");
    Ok(response.bytes().await?.to_vec())
}

/// Whether the log's consistency proof shows `later` extends the tree of
/// `earlier_size` entries with root `earlier_root`.
pub async fn extends(
    http: &reqwest::Client,
    base: &str,
    (earlier_size, earlier_root): (u64, &Hash),
    later: &Checkpoint,
) -> anyhow::Result<bool> {
    let url = format!(
        "{base}/api/v1/log/proofs/consistency?first={earlier_size}&second={}",
        later.size
    );
    let proof: Value = serde_json::from_slice(&get(http, &url).await?)?;
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| merkle::from_base64(h.as_str()?))
                .collect()
        })
        .unwrap_or_default();
    Ok(merkle::verify_consistency(
        earlier_size,
        later.size,
        &hashes,
        earlier_root,
        &later.root,
    ))
}

/// Writes `text` to `path` through a synced temporary file renamed over it.
pub fn write_durably(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let temporary = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&temporary).with_context(|| format!("{}", temporary.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("{}", path.display()))?;
    Ok(())
}
