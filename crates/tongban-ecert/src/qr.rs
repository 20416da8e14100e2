//! QR codes for share links and PDF renditions.

use qrcode::{EcLevel, QrCode};

use crate::error::{EcertError, invalid};

/// The QR code of `text` (error correction M), as dark-module coordinates on a
/// `width` × `width` grid.
pub fn modules(text: &str) -> Result<(usize, Vec<(usize, usize)>), EcertError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| invalid("qr", e.to_string()))?;
    let width = code.width();
    let dark = code
        .to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == qrcode::Color::Dark)
        .map(|(i, _)| (i % width, i / width))
        .collect();
    Ok((width, dark))
}

/// The QR code of `text` as a standalone SVG image with a 4-module quiet zone.
pub fn svg(text: &str) -> Result<String, EcertError> {
    let (width, dark) = modules(text)?;
    let size = width + 8;
    let mut path = String::new();
    for (x, y) in dark {
        path.push_str(&format!("M{} {}h1v1h-1z", x + 4, y + 4));
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}
