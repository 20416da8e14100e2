//! `tongban log verify`: a monitor of a transparency log over HTTP. It checks the
//! checkpoint's signature with a key the operator pins (never one the log serves),
//! fetches every entry bundle and hash tile, rebuilds the tree, and checks every
//! checkpoint it saw before (kept in a state file) is a prefix of today's; the server's
//! own consistency proof from the last one must check too. Exit 1 on any fault.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use tongban_ledger::merkle::{self, Hash};

use crate::log_client;
use tongban_ledger::monitor::{self, Fault};
use tongban_ledger::note::{Checkpoint, VerifierKey};
use tongban_ledger::tiles::{self, Tile};

/// Runs the monitor once.
pub async fn verify(url: &str, key: &str, state: Option<&Path>) -> anyhow::Result<ExitCode> {
    let key = log_client::pinned_key(key)?;
    let http = log_client::http()?;
    let base = url.trim_end_matches('/');
    let seen = match state {
        Some(path) if path.exists() => read_state(path)?,
        _ => Vec::new(),
    };
    let outcome = check(&http, base, &key, &seen).await?;
    match outcome {
        Ok(checkpoint) => {
            if let Some(path) = state {
                write_state(path, &seen, &checkpoint)?;
            }
            let summary = json!({
                "ok": true,
                "origin": checkpoint.origin,
                "size": checkpoint.size,
                "checkpoints_checked": seen.len(),
            });
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(fault) => {
            println!("{}", json!({"ok": false, "fault": fault.to_string()}));
            eprintln!("tongban log verify: {fault}");
            Ok(ExitCode::from(1))
        }
    }
}

/// The checks; an `Err` inside is a fault of the log, an outer error one of fetching.
async fn check(
    http: &reqwest::Client,
    base: &str,
    key: &VerifierKey,
    seen: &[Checkpoint],
) -> anyhow::Result<Result<Checkpoint, Fault>> {
    let text = log_client::get(http, &format!("{base}/log/checkpoint")).await?;
    let checkpoint = match monitor::read_checkpoint(&String::from_utf8_lossy(&text), key) {
        Ok(checkpoint) => checkpoint,
        Err(fault) => return Ok(Err(fault)),
    };
    let size = checkpoint.size;
    let mut entries = Vec::new();
    for (index, width) in tile_widths(size) {
        let tile = Tile {
            level: None,
            index,
            width,
        };
        let bytes = log_client::get(http, &format!("{base}/log/tile/{}", tile.path())).await?;
        match tiles::unbundle(&bytes).filter(|e| e.len() as u64 == width) {
            Some(bundle) => entries.extend(bundle),
            None => return Ok(Err(Fault::BadEntry(index * tiles::WIDTH))),
        }
    }
    let mut hash_tiles = Vec::new();
    for level in 0.. {
        let hashes = monitor::level_width(size, level);
        if hashes == 0 {
            break;
        }
        let mut level_hashes: Vec<Hash> = Vec::new();
        for (index, width) in tile_widths(hashes) {
            let tile = Tile {
                level: Some(level),
                index,
                width,
            };
            let bytes = log_client::get(http, &format!("{base}/log/tile/{}", tile.path())).await?;
            if bytes.len() as u64 != width * 32 {
                let level_index = index * tiles::WIDTH;
                return Ok(Err(Fault::NodeMismatch {
                    level,
                    index: level_index,
                }));
            }
            level_hashes.extend(
                bytes
                    .chunks_exact(32)
                    .filter_map(|h| Hash::try_from(h).ok()),
            );
        }
        hash_tiles.push(level_hashes);
    }
    let leaves = match monitor::check_tree(&checkpoint, &entries, &hash_tiles) {
        Ok(leaves) => leaves,
        Err(fault) => return Ok(Err(fault)),
    };
    for earlier in seen {
        if let Err(fault) = monitor::check_prefix(earlier, &leaves) {
            return Ok(Err(fault));
        }
    }
    // The server's own proof from the largest earlier checkpoint must check as well.
    if let Some(earlier) = seen.iter().max_by_key(|c| c.size)
        && !log_client::extends(http, base, (earlier.size, &earlier.root), &checkpoint).await?
    {
        return Ok(Err(Fault::Split { size: earlier.size }));
    }
    Ok(Ok(checkpoint))
}

/// `(tile index, width)` of the tiles holding `count` items.
fn tile_widths(count: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..count.div_ceil(tiles::WIDTH)).map(move |index| {
        let width = (count - index * tiles::WIDTH).min(tiles::WIDTH);
        (index, width)
    })
}

fn read_state(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let state: Value = serde_json::from_str(&text).context("the state file is not JSON")?;
    let seen = state["checkpoints"].as_array().cloned().unwrap_or_default();
    seen.iter()
        .map(|c| {
            Some(Checkpoint {
                origin: c["origin"].as_str()?.to_owned(),
                size: c["size"].as_u64()?,
                root: merkle::from_base64(c["root"].as_str()?)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .context("the state file holds a malformed checkpoint")
}

fn write_state(path: &Path, seen: &[Checkpoint], latest: &Checkpoint) -> anyhow::Result<()> {
    let mut all: Vec<&Checkpoint> = seen.iter().collect();
    if !seen.iter().any(|c| c.size == latest.size) {
        all.push(latest);
    }
    let checkpoints: Vec<Value> = all
        .iter()
        .map(|c| json!({"origin": c.origin, "size": c.size, "root": merkle::to_base64(&c.root)}))
        .collect();
    log_client::write_durably(path, &json!({"checkpoints": checkpoints}).to_string())
}
