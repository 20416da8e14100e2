//! The transparency log as C2SP tlog-tiles (`/log/checkpoint`, `/log/tile/…`), its note
//! verifier key, and RFC 9162 proofs over the API.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_ledger::storage;
use tongban_ledger::tiles::Tile;
use tongban_ledger::{LedgerError, merkle};
use utoipa::{IntoParams, ToSchema};

use crate::problem::{ApiError, Problem, ProblemType};
use crate::state::AppState;

const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";
/// A full tile never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint and partial tiles change with every integration.
const FRESH: &str = "no-cache";

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Store(store) => store.into(),
            LedgerError::Crypto(crypto) => crypto.into(),
            LedgerError::NotFound(what) => Self::new(ProblemType::NotFound, what),
            LedgerError::Refused(why) => Self::new(ProblemType::InvalidRequest, why),
            LedgerError::Corrupt(_) => {
                tracing::error!(%error, "transparency log");
                Self::bare(ProblemType::Internal)
            }
        }
    }
}

/// The latest checkpoint: a C2SP signed note (origin, tree size, base64 root hash, and
/// the log key's Ed25519 signature line).
#[utoipa::path(get, path = "/log/checkpoint", tag = "log",
    responses((status = 200, description = "the signed checkpoint", body = String, content_type = "text/plain")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let note = state.ledger.checkpoint().await?;
    Ok((
        [(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, FRESH)],
        note,
    ))
}

/// The log's note verifier key, `name+keyhash+base64(0x01 || Ed25519 key)`.
#[utoipa::path(get, path = "/log/key", tag = "log",
    responses((status = 200, description = "the verifier key", body = String, content_type = "text/plain")))]
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    let key = format!("{}\n", state.ledger.verifier_key().encode());
    ([(header::CONTENT_TYPE, TEXT)], key)
}

/// A tile: `L/N[.p/W]` (hashes, level L) or `entries/N[.p/W]` (entry bundles: each entry
/// as a big-endian 16-bit length and its compact JSON). `N` is written in three-digit
/// groups, all but the last prefixed with `x`. Full tiles never change.
#[utoipa::path(get, path = "/log/tile/{path}", tag = "log",
    params(("path" = String, Path, description = "e.g. `0/x001/234`, `1/000.p/7`, `entries/005`")),
    responses(
        (status = 200, description = "the tile", body = crate::openapi::Binary, content_type = "application/octet-stream"),
        (status = 404, description = "no such tile (yet)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::new(ProblemType::NotFound, "no such tile in the log");
    let tile = Tile::parse(&path).ok_or_else(not_found)?;
    let mut conn = state.store.conn().await?;
    let size = storage::size(&mut conn).await?;
    let bytes = storage::tile(&mut conn, tile, size)
        .await?
        .ok_or_else(not_found)?;
    let cache = if tile.is_full() { IMMUTABLE } else { FRESH };
    Ok((
        [
            (header::CONTENT_TYPE, OCTETS),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    ))
}

/// The tile route's documentation (its route is a wildcard).
#[derive(utoipa::OpenApi)]
#[openapi(paths(tile))]
pub(crate) struct TileDoc;

/// The checkpoint the log signed at exactly `size` entries.
#[utoipa::path(get, path = "/api/v1/log/checkpoints/{size}", tag = "log",
    params(("size" = u64, Path, description = "tree size")),
    responses(
        (status = 200, description = "the signed checkpoint", body = String, content_type = "text/plain"),
        (status = 404, description = "the log signed no checkpoint at that size", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint_at(
    State(state): State<AppState>,
    Path(size): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::new(ProblemType::NotFound, "no checkpoint at that size");
    let size: u64 = size.parse().map_err(|_| not_found())?;
    let mut conn = state.store.conn().await?;
    let note = storage::checkpoint_at(&mut conn, size)
        .await?
        .ok_or_else(not_found)?;
    // Not immutable: witnesses' cosignatures join it later.
    Ok((
        [(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, FRESH)],
        note,
    ))
}

/// A witness's cosignature.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CosignatureBody {
    /// The size of the checkpoint cosigned.
    size: u64,
    /// The C2SP cosignature/v1 signature line (`— name base64(keyid || time || sig)`).
    line: String,
}

/// A witness hands in its cosignature of a checkpoint; once it verifies with a witness
/// key the log is configured with, the checkpoint is served with it.
#[utoipa::path(post, path = "/api/v1/log/cosignatures", tag = "log",
    request_body = CosignatureBody,
    responses(
        (status = 204, description = "kept (a witness's first cosignature of a size stays)"),
        (status = 404, description = "no checkpoint of that size", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a valid cosignature of one of the log's witnesses", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cosign(
    State(state): State<AppState>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<CosignatureBody>,
) -> Result<axum::http::StatusCode, ApiError> {
    state.ledger.cosign(body.size, &body.line).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Which inclusion proof.
#[derive(Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// The leaf hash, 64 hex digits (SHA-256(0x00 || entry)).
    #[param(required = true)]
    leaf_hash: Option<String>,
    /// The tree size of a checkpoint; at most the log's size.
    #[param(required = true)]
    tree_size: Option<String>,
}

/// An RFC 9162 inclusion proof.
#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    index: u64,
    tree_size: u64,
    /// Base64.
    leaf_hash: String,
    /// Base64 hashes of the audit path, leaf first.
    hashes: Vec<String>,
}

/// The inclusion proof of a leaf in the tree of `tree_size` entries.
#[utoipa::path(get, path = "/api/v1/log/proofs/inclusion", tag = "log",
    params(InclusionQuery),
    responses(
        (status = 200, description = "the proof", body = InclusionProof),
        (status = 422, description = "a missing or malformed parameter, or a size past the log's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such leaf in the tree of that size", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let leaf = query
        .leaf_hash
        .as_deref()
        .and_then(tongban_crypto::cms::parse_sha256_hex)
        .ok_or_else(|| invalid("leaf_hash must be 64 hex digits"))?;
    let mut conn = state.store.conn().await?;
    let log_size = storage::size(&mut conn).await?;
    let tree_size = size_within(query.tree_size.as_deref(), "tree_size", log_size)?;
    let proof = storage::inclusion(&mut conn, &leaf, tree_size)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ProblemType::NotFound,
                "no such leaf in the tree of that size",
            )
        })?;
    Ok(Json(InclusionProof {
        index: proof.index,
        tree_size,
        leaf_hash: merkle::to_base64(&leaf),
        hashes: proof.hashes.iter().map(merkle::to_base64).collect(),
    }))
}

/// Which consistency proof.
#[derive(Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// The smaller tree size.
    #[param(required = true)]
    first: Option<String>,
    /// The larger tree size; at most the log's size.
    #[param(required = true)]
    second: Option<String>,
}

/// An RFC 9162 consistency proof.
#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    first: u64,
    second: u64,
    /// Base64 hashes.
    hashes: Vec<String>,
}

/// The consistency proof between the trees of `first` and `second` entries.
#[utoipa::path(get, path = "/api/v1/log/proofs/consistency", tag = "log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "the proof", body = ConsistencyProof),
        (status = 422, description = "a missing or malformed size, first > second, or a size past the log's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let mut conn = state.store.conn().await?;
    let log_size = storage::size(&mut conn).await?;
    let second = size_within(query.second.as_deref(), "second", log_size)?;
    let first = size_within(query.first.as_deref(), "first", log_size)?;
    if first > second {
        return Err(invalid("first must not be larger than second"));
    }
    let hashes = storage::consistency(&mut conn, first, second).await?;
    Ok(Json(ConsistencyProof {
        first,
        second,
        hashes: hashes.iter().map(merkle::to_base64).collect(),
    }))
}

fn invalid(detail: &str) -> ApiError {
    ApiError::new(ProblemType::InvalidRequest, detail.to_owned())
}

/// A tree size from the query: a number no larger than the log's size `log_size`.
fn size_within(text: Option<&str>, name: &str, log_size: u64) -> Result<u64, ApiError> {
    let size: u64 = text
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| invalid(&format!("{name} must be a tree size")))?;
    if size > log_size {
        return Err(invalid(&format!("{name} is past the log's size")));
    }
    Ok(size)
}

/// Where an act stands in the transparency log, in a verification report.
#[derive(Serialize, ToSchema)]
pub struct LogBody {
    /// The act has an entry in the log.
    included: bool,
    /// `seal.used`, `certificate.issued`, …
    kind: Option<String>,
    /// When the act appended its entry (RFC 3339).
    time: Option<String>,
    /// Base64 leaf hash.
    leaf_hash: Option<String>,
    /// The entry's index; absent while it waits for integration (at most 1 s).
    index: Option<u64>,
    /// The size of the checkpoint the proof is against.
    tree_size: Option<u64>,
    /// That checkpoint, a C2SP signed note.
    checkpoint: Option<String>,
    /// Base64 inclusion path (RFC 9162), leaf first.
    proof: Vec<String>,
    /// The proof leads to the checkpoint's root, and the checkpoint's signature
    /// checks with the log key.
    verified: bool,
}

impl From<Option<tongban_ledger::Proven>> for LogBody {
    fn from(proven: Option<tongban_ledger::Proven>) -> Self {
        match proven {
            None => Self {
                included: false,
                kind: None,
                time: None,
                leaf_hash: None,
                index: None,
                tree_size: None,
                checkpoint: None,
                proof: Vec::new(),
                verified: false,
            },
            Some(p) => Self {
                included: true,
                kind: Some(p.kind),
                time: Some(p.time),
                leaf_hash: Some(p.leaf_hash),
                index: p.index,
                tree_size: p.tree_size,
                checkpoint: p.checkpoint,
                proof: p.proof,
                verified: p.verified,
            },
        }
    }
}
