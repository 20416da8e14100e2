//! The seal's appearance as PDF image streams: a department's own image, or the default
//! stamp drawn with the seal's names.

use lopdf::{Stream, dictionary};

use crate::image::Planes;
use crate::stamp;

/// An image as compressed PDF image streams: the RGB image, and its alpha as the
/// SMask (which the image must still be pointed at).
pub(super) fn image_streams(planes: &Planes) -> Result<(Stream, Stream), lopdf::Error> {
    let (width, height) = (i64::from(planes.width), i64::from(planes.height));
    let mut mask = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        planes.alpha.clone(),
    );
    mask.compress()?;
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
        },
        planes.rgb.clone(),
    );
    image.compress()?;
    Ok((image, mask))
}

/// A seal's default stamp as streams, rendered and compressed once per pair of names
/// per process.
pub(super) fn default_streams(
    department: &str,
    seal: &str,
) -> Result<std::sync::Arc<(Stream, Stream)>, lopdf::Error> {
    type Compressed = std::collections::HashMap<(String, String), std::sync::Arc<(Stream, Stream)>>;
    static COMPRESSED: std::sync::OnceLock<std::sync::Mutex<Compressed>> =
        std::sync::OnceLock::new();
    let compressed = COMPRESSED.get_or_init(Default::default);
    let key = (department.to_owned(), seal.to_owned());
    if let Some(streams) = compressed.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(streams);
    }
    let (rgb, alpha) = stamp::default_stamp(stamp::SIZE, department, seal, stamp::font());
    let streams = std::sync::Arc::new(image_streams(&Planes {
        width: stamp::SIZE,
        height: stamp::SIZE,
        rgb,
        alpha,
    })?);
    if let Ok(mut compressed) = compressed.lock() {
        // Seals are few; the bound only guards against a flood of names.
        if compressed.len() >= 1_024 {
            compressed.clear();
        }
        compressed.insert(key, streams.clone());
    }
    Ok(streams)
}
