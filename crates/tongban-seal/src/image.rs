//! A seal's image: an uploaded PNG with transparency, or the stamp the service draws.
//! PNGs are checked on upload (size, dimensions, an alpha channel) and split into the
//! RGB and alpha planes a PDF image and its SMask need.

use serde_json::json;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_store::Conn;

use crate::error::SealError;
use crate::permissions::{self, Actor};
use crate::registry::{self, Seal, SealId};

/// Largest PNG accepted, bytes.
pub const MAX_PNG_BYTES: usize = 512 * 1024;
/// Smallest and largest side, pixels.
pub const SIDES: std::ops::RangeInclusive<u32> = 64..=1024;

/// An image as planes: 8-bit RGB and 8-bit alpha, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planes {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGB, 3 bytes per pixel.
    pub rgb: Vec<u8>,
    /// Alpha, 1 byte per pixel.
    pub alpha: Vec<u8>,
}

fn invalid(reason: impl Into<String>) -> SealError {
    SealError::Invalid {
        field: "image",
        reason: reason.into(),
    }
}

/// Decodes and checks a seal image: a PNG of at most [`MAX_PNG_BYTES`], sides within
/// [`SIDES`], with transparency (an alpha channel or a tRNS chunk).
pub fn decode_png(bytes: &[u8]) -> Result<Planes, SealError> {
    if bytes.len() > MAX_PNG_BYTES {
        return Err(invalid(format!("larger than {MAX_PNG_BYTES} bytes")));
    }
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| invalid(format!("not a PNG: {e}")))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if !SIDES.contains(&width) || !SIDES.contains(&height) {
        return Err(invalid(format!(
            "{width}×{height} pixels; each side must be {} to {}",
            SIDES.start(),
            SIDES.end()
        )));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| invalid("too large to decode"))?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| invalid(format!("not a PNG: {e}")))?;
    let pixels = &buffer[..frame.buffer_size()];
    let n = (width * height) as usize;
    let mut rgb = Vec::with_capacity(n * 3);
    let mut alpha = Vec::with_capacity(n);
    match frame.color_type {
        png::ColorType::Rgba => {
            for px in pixels.chunks_exact(4) {
                rgb.extend_from_slice(&px[..3]);
                alpha.push(px[3]);
            }
        }
        png::ColorType::GrayscaleAlpha => {
            for px in pixels.chunks_exact(2) {
                rgb.extend_from_slice(&[px[0], px[0], px[0]]);
                alpha.push(px[1]);
            }
        }
        _ => return Err(invalid("must have transparency (an alpha channel)")),
    }
    Ok(Planes {
        width,
        height,
        rgb,
        alpha,
    })
}

/// Sets a seal's image (seal and department administrators); an SM2 seal's SESeal is
/// made anew with it.
pub async fn set(
    tx: &mut Conn,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    png_bytes: &[u8],
) -> Result<(), SealError> {
    let found = registry::find(tx, seal).await?;
    permissions::may_manage(tx, actor, found.department_id).await?;
    let planes = decode_png(png_bytes)?;
    sqlx::query(
        "INSERT INTO seal_images (seal_id, png, width, height, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (seal_id) DO UPDATE SET png = $2, width = $3, height = $4, updated_at = $5",
    )
    .bind(seal.to_string())
    .bind(png_bytes)
    .bind(i64::from(planes.width))
    .bind(i64::from(planes.height))
    .bind(Timestamp::now().unix_millis())
    .execute(&mut *tx)
    .await?;
    crate::ses::make_in(tx, pki, &found, png_bytes, &planes).await?;
    registry::record_history(
        tx,
        seal,
        actor,
        "image-changed",
        json!({ "width": planes.width, "height": planes.height, "bytes": png_bytes.len() }),
    )
    .await
}

/// What a seal shows when applied: its uploaded image, if any, and its department's
/// name (the default stamp carries it).
pub struct Face {
    /// The uploaded PNG.
    pub png: Option<Vec<u8>>,
    /// The department's name.
    pub department: String,
}

/// `seal`'s face, in one query.
pub async fn face(conn: &mut Conn, seal: &Seal) -> Result<Face, SealError> {
    let row = sqlx::query(
        "SELECT d.name, i.png FROM departments d LEFT JOIN seal_images i ON i.seal_id = $1 \
         WHERE d.id = $2",
    )
    .bind(seal.id.to_string())
    .bind(seal.department_id.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(SealError::NotFound("department"))?;
    Ok(Face {
        png: row.try_get("png")?,
        department: row.try_get("name")?,
    })
}

/// Whether `seal` has an uploaded image, for a page that has already checked who
/// looks (the image's bytes are not read).
pub async fn uploaded(conn: &mut Conn, seal: SealId) -> Result<bool, SealError> {
    Ok(sqlx::query("SELECT 1 FROM seal_images WHERE seal_id = $1")
        .bind(seal.to_string())
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// A seal's uploaded image, for someone who may see the seal.
pub async fn of_seal(
    conn: &mut Conn,
    actor: &Actor,
    seal: SealId,
) -> Result<Option<Vec<u8>>, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    Ok(face(conn, &found).await?.png)
}
