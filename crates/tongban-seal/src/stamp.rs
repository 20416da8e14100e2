//! The default seal image, rendered here: a red ring, an inner ring and a five-pointed
//! star, anti-aliased, with transparency (the alpha channel becomes the PDF SMask).
//! The department's name along the arc needs a CJK font, which the service does not
//! carry yet; uploaded images (PNG) replace this one.

/// Width and height of the rendered stamp, pixels.
pub const SIZE: u32 = 256;
/// Seal red (朱红).
const RED: [u8; 3] = [0xD4, 0x1E, 0x1E];
/// Supersampling per axis.
const SAMPLES: u32 = 4;

/// Whether the point (x, y), in units of the stamp's radius from its centre, is ink.
fn ink(x: f32, y: f32) -> bool {
    let r = (x * x + y * y).sqrt();
    if (0.86..=0.98).contains(&r) || (0.78..=0.80).contains(&r) {
        return true;
    }
    in_star(x, y, 0.42, 0.17)
}

/// A five-pointed star pointing up, outer radius `outer`, inner radius `inner`.
fn in_star(x: f32, y: f32, outer: f32, inner: f32) -> bool {
    let points: Vec<(f32, f32)> = (0..10)
        .map(|i| {
            let radius = if i % 2 == 0 { outer } else { inner };
            let angle = std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
            (radius * angle.cos(), radius * angle.sin())
        })
        .collect();
    // Even-odd ray casting over the star's polygon.
    let mut inside = false;
    for i in 0..points.len() {
        let (x1, y1) = points[i];
        let (x2, y2) = points[(i + 1) % points.len()];
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
    }
    inside
}

/// The stamp as 8-bit RGB and 8-bit alpha planes, rows top to bottom.
pub fn default_stamp(size: u32) -> (Vec<u8>, Vec<u8>) {
    let n = size as usize;
    let mut rgb = Vec::with_capacity(n * n * 3);
    let mut alpha = Vec::with_capacity(n * n);
    let scale = 2.0 / size as f32;
    for row in 0..size {
        for column in 0..size {
            let mut covered = 0;
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    let px = column as f32 + (sx as f32 + 0.5) / SAMPLES as f32;
                    let py = row as f32 + (sy as f32 + 0.5) / SAMPLES as f32;
                    // Image rows go down; the stamp's y goes up.
                    if ink(px * scale - 1.0, 1.0 - py * scale) {
                        covered += 1;
                    }
                }
            }
            rgb.extend_from_slice(&RED);
            alpha.push(((covered * 255) / (SAMPLES * SAMPLES)) as u8);
        }
    }
    (rgb, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_is_transparent_outside_and_red_on_the_ring() {
        let (rgb, alpha) = default_stamp(64);
        assert_eq!(rgb.len(), 64 * 64 * 3);
        assert_eq!(alpha[0], 0, "corner is transparent");
        // The ring crosses the middle row near its left edge.
        let middle = 32 * 64;
        assert!(alpha[middle + 2] > 200, "{}", alpha[middle + 2]);
        // The star's centre is ink, the gap between star and ring is not.
        assert_eq!(alpha[middle + 32], 255);
        assert_eq!(alpha[middle + 12], 0);
    }
}
