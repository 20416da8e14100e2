//! The default seal image, rendered here: a red ring, an inner ring, a five-pointed
//! star, the department's name along the upper arc and the seal's name (without the
//! department's, up to 10 characters) in a line below the star, as official seals are
//! laid out; anti-aliased, with transparency
//! (the alpha channel becomes the PDF SMask). Uploaded images (PNG) replace it.
//!
//! The name needs a CJK font, which the service does not carry: it uses the one
//! configured (`seal.stamp_font`), else the first of [`FONT_PATHS`] present (Debian:
//! `apt-get install fonts-wqy-zenhei`, or `fonts-noto-cjk`). Without one the stamp has
//! no name, and the service says so in its log once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font as _, FontArc, FontVec, PxScale, ScaleFont as _, point};

/// Width and height of the rendered stamp, pixels.
pub const SIZE: u32 = 256;
/// Seal red (朱红).
const RED: [u8; 3] = [0xD4, 0x1E, 0x1E];
/// Supersampling per axis.
const SAMPLES: u32 = 4;

/// Where CJK fonts are looked for, with the face of a collection to use (Noto's
/// collections hold the Japanese face first; the third is Simplified Chinese).
pub const FONT_PATHS: [(&str, u32); 6] = [
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/System/Library/Fonts/STHeiti Medium.ttc", 0),
];

/// The name's band: the middle of the glyphs' height, and that height, in units of
/// the stamp's radius (between the star, radius 0.42, and the inner ring, 0.78).
const TEXT_RADIUS: f32 = 0.62;
const TEXT_HEIGHT: f32 = 0.30;
/// The arc the name spans, at most, and per character.
const MAX_SPAN: f32 = 250.0;
const SPAN_PER_CHAR: f32 = 30.0;
/// The seal's name below the star: the middle of its line, the glyphs' height, and
/// the widest the line may be (it stays inside the inner ring), in units of the radius.
const LINE_Y: f32 = -0.57;
const LINE_HEIGHT: f32 = 0.17;
const LINE_WIDTH: f32 = 0.78;
/// Glyph bitmaps are rasterized at this many pixels per em.
const GLYPH_PX: f32 = 96.0;

static CONFIGURED: OnceLock<PathBuf> = OnceLock::new();

/// Uses the font at `path` (the first face of a collection) for stamps drawn from now
/// on; called once at start-up, before the first stamp.
pub fn configure_font(path: &Path) {
    let _ = CONFIGURED.set(path.to_owned());
}

/// The CJK font stamps are drawn with, if one is found.
pub fn font() -> Option<&'static FontArc> {
    static FONT: OnceLock<Option<FontArc>> = OnceLock::new();
    FONT.get_or_init(|| {
        let candidates: Vec<(PathBuf, u32)> = match CONFIGURED.get() {
            Some(path) => vec![(path.clone(), 0)],
            None => FONT_PATHS
                .iter()
                .map(|(p, i)| (PathBuf::from(p), *i))
                .collect(),
        };
        let found = candidates.into_iter().find_map(|(path, index)| {
            let data = std::fs::read(&path).ok()?;
            FontVec::try_from_vec_and_index(data, index)
                .ok()
                .map(FontArc::new)
        });
        if found.is_none() {
            tracing::warn!(
                "no CJK font found (seal.stamp_font, or fonts-wqy-zenhei / fonts-noto-cjk): \
                 default stamps are drawn without the department's name"
            );
        }
        found
    })
    .as_ref()
}

/// A glyph's coverage, 0 to 1, over its em box (advance wide, ascent to descent high),
/// rows top to bottom.
struct GlyphBitmap {
    width: usize,
    height: usize,
    coverage: Vec<f32>,
}

impl GlyphBitmap {
    fn render(font: &FontArc, c: char) -> Self {
        let scaled = font.as_scaled(PxScale::from(GLYPH_PX));
        let id = font.glyph_id(c);
        let width = scaled.h_advance(id).ceil().max(1.0) as usize;
        let height = (scaled.ascent() - scaled.descent()).ceil().max(1.0) as usize;
        let mut coverage = vec![0.0; width * height];
        let glyph = id.with_scale_and_position(GLYPH_PX, point(0.0, scaled.ascent()));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|x, y, c| {
                let px = bounds.min.x as i64 + i64::from(x);
                let py = bounds.min.y as i64 + i64::from(y);
                if (0..width as i64).contains(&px) && (0..height as i64).contains(&py) {
                    coverage[py as usize * width + px as usize] = c;
                }
            });
        }
        Self {
            width,
            height,
            coverage,
        }
    }

    /// The glyphs of `text`'s characters, blanks left out; none for no character.
    fn line(font: &FontArc, text: &str) -> Option<Vec<Self>> {
        let glyphs: Vec<Self> = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| Self::render(font, c))
            .collect();
        (!glyphs.is_empty()).then_some(glyphs)
    }

    /// Coverage at (u, v) in 0..1 across and down the box.
    fn at(&self, u: f32, v: f32) -> f32 {
        if !(0.0..1.0).contains(&u) || !(0.0..1.0).contains(&v) {
            return 0.0;
        }
        let x = (u * self.width as f32) as usize;
        let y = (v * self.height as f32) as usize;
        self.coverage
            .get(y * self.width + x)
            .copied()
            .unwrap_or(0.0)
    }
}

/// A name set along the upper arc, left to right, each character upright towards the
/// rim.
struct ArcText {
    glyphs: Vec<GlyphBitmap>,
    /// Angle of the first character, the step to the next and the whole span,
    /// radians (clockwise).
    start: f32,
    step: f32,
    span: f32,
    /// Width of each character's box, in units of the radius (narrowed when crowded).
    width: f32,
}

impl ArcText {
    fn new(font: &FontArc, name: &str) -> Option<Self> {
        let glyphs = GlyphBitmap::line(font, name)?;
        let n = glyphs.len();
        let span = (n as f32 * SPAN_PER_CHAR).min(MAX_SPAN).to_radians();
        let step = if n > 1 { span / (n - 1) as f32 } else { 0.0 };
        let pitch = if n > 1 { step } else { span };
        let span = if n > 1 { span } else { 0.0 };
        Some(Self {
            start: std::f32::consts::FRAC_PI_2 + span / 2.0,
            step,
            span,
            width: (TEXT_RADIUS * pitch * 0.9).min(TEXT_HEIGHT),
            glyphs,
        })
    }

    /// Coverage at (x, y), in units of the radius from the centre, y up.
    fn at(&self, x: f32, y: f32) -> f32 {
        let r = (x * x + y * y).sqrt();
        if (r - TEXT_RADIUS).abs() > TEXT_HEIGHT {
            return 0.0;
        }
        // The nearest character by angle (clockwise from the first, the gap at the
        // bottom split between before the first and after the last), then the point
        // in its upright box.
        let tau = std::f32::consts::TAU;
        let mut turned = (self.start - y.atan2(x)).rem_euclid(tau);
        if turned > (self.span + tau) / 2.0 {
            turned -= tau;
        }
        let mut best = 0.0f32;
        let offset = if self.step > 0.0 {
            turned / self.step
        } else {
            0.0
        };
        let nearest = offset.round() as i64;
        for i in [nearest - 1, nearest, nearest + 1] {
            let Some(glyph) = usize::try_from(i).ok().and_then(|i| self.glyphs.get(i)) else {
                continue;
            };
            let theta = self.start - i as f32 * self.step;
            // Rotate so the character's direction points up (+y).
            let turn = std::f32::consts::FRAC_PI_2 - theta;
            let (sin, cos) = turn.sin_cos();
            let (lx, ly) = (x * cos - y * sin, x * sin + y * cos);
            let u = lx / self.width + 0.5;
            let v = (TEXT_RADIUS + TEXT_HEIGHT / 2.0 - ly) / TEXT_HEIGHT;
            best = best.max(glyph.at(u, v));
        }
        best
    }
}

/// A short name in one line below the star, centred, characters narrowed to fit.
struct LineText {
    glyphs: Vec<GlyphBitmap>,
    /// Width of each character's box, in units of the radius.
    width: f32,
}

impl LineText {
    fn new(font: &FontArc, name: &str) -> Option<Self> {
        let glyphs = GlyphBitmap::line(font, name)?;
        Some(Self {
            width: (LINE_WIDTH / glyphs.len() as f32).min(LINE_HEIGHT),
            glyphs,
        })
    }

    /// Coverage at (x, y), in units of the radius from the centre, y up.
    fn at(&self, x: f32, y: f32) -> f32 {
        let v = (LINE_Y + LINE_HEIGHT / 2.0 - y) / LINE_HEIGHT;
        if !(0.0..1.0).contains(&v) {
            return 0.0;
        }
        let left = -self.width * self.glyphs.len() as f32 / 2.0;
        let position = (x - left) / self.width;
        if position < 0.0 {
            return 0.0;
        }
        let index = position as usize;
        self.glyphs
            .get(index)
            .map_or(0.0, |glyph| glyph.at(position - index as f32, v))
    }
}

/// A personal signature's mark (签名): the person's typed name large, and below it
/// `caption` (such as 签名 and the date), in dark blue ink on transparency, as RGB and
/// alpha planes of a `size`-pixel square. Without a font it is blank.
pub fn signature_mark(
    size: u32,
    name: &str,
    caption: &str,
    font: Option<&FontArc>,
) -> (Vec<u8>, Vec<u8>) {
    const INK: [u8; 3] = [0x1A, 0x2A, 0x6C];
    // Bands, in units of the square's side from its top: the name, then the caption.
    let name_line = font.and_then(|f| Band::new(f, name, (0.18, 0.36), 0.94));
    let caption_line = font.and_then(|f| Band::new(f, caption, (0.66, 0.14), 0.94));
    let n = size as usize;
    let mut rgb = Vec::with_capacity(n * n * 3);
    let mut alpha = Vec::with_capacity(n * n);
    for row in 0..size {
        for column in 0..size {
            let mut covered = 0.0;
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    let u = (column as f32 + (sx as f32 + 0.5) / SAMPLES as f32) / size as f32;
                    let v = (row as f32 + (sy as f32 + 0.5) / SAMPLES as f32) / size as f32;
                    let a = name_line.as_ref().map_or(0.0, |b| b.at(u, v));
                    covered += a.max(caption_line.as_ref().map_or(0.0, |b| b.at(u, v)));
                }
            }
            rgb.extend_from_slice(&INK);
            alpha.push((covered * 255.0 / (SAMPLES * SAMPLES) as f32).round() as u8);
        }
    }
    (rgb, alpha)
}

/// A line of text centred across a square, in a band from `top` of `height` (units of
/// the side), its characters' boxes square and together at most `width` wide.
struct Band {
    glyphs: Vec<GlyphBitmap>,
    top: f32,
    height: f32,
    cell: f32,
}

impl Band {
    fn new(font: &FontArc, text: &str, (top, height): (f32, f32), width: f32) -> Option<Self> {
        let glyphs = GlyphBitmap::line(font, text)?;
        Some(Self {
            cell: (width / glyphs.len() as f32).min(height),
            glyphs,
            top,
            height,
        })
    }

    fn at(&self, u: f32, v: f32) -> f32 {
        // The glyphs fill the band's height only when they are as tall as it is wide.
        let glyph_height = self.cell;
        let top = self.top + (self.height - glyph_height) / 2.0;
        let down = (v - top) / glyph_height;
        if !(0.0..1.0).contains(&down) {
            return 0.0;
        }
        let left = 0.5 - self.cell * self.glyphs.len() as f32 / 2.0;
        let across = (u - left) / self.cell;
        if across < 0.0 {
            return 0.0;
        }
        let index = across as usize;
        self.glyphs
            .get(index)
            .map_or(0.0, |glyph| glyph.at(across - index as f32, down))
    }
}

/// Whether the point (x, y), in units of the stamp's radius from its centre, is on
/// the rings or the star.
fn ink(x: f32, y: f32) -> bool {
    let r = (x * x + y * y).sqrt();
    if (0.86..=0.98).contains(&r) || (0.78..=0.80).contains(&r) {
        return true;
    }
    in_star(x, y, 0.42, 0.17)
}

/// A five-pointed star pointing up, outer radius `outer`, inner radius `inner`.
fn in_star(x: f32, y: f32, outer: f32, inner: f32) -> bool {
    // Most of a stamp lies outside the star's circle: no polygon for those points.
    if x * x + y * y > outer * outer {
        return false;
    }
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

/// Most characters set below the star: more would be too narrow to read.
const MAX_LINE_CHARS: usize = 10;

/// What goes below the star: the seal's name without the department's, which the arc
/// already carries (合同专用章 of 某某局合同专用章); nothing when that is too long.
fn below_star<'a>(department: &str, seal: &'a str) -> &'a str {
    let line = seal.strip_prefix(department).unwrap_or(seal).trim();
    if line.chars().count() > MAX_LINE_CHARS {
        ""
    } else {
        line
    }
}

/// The stamp as 8-bit RGB and 8-bit alpha planes, rows top to bottom, with the
/// department's name along the arc and the seal's below the star when `font` is given.
pub fn default_stamp(
    size: u32,
    department: &str,
    seal: &str,
    font: Option<&FontArc>,
) -> (Vec<u8>, Vec<u8>) {
    let text = font.and_then(|f| ArcText::new(f, department));
    let line = font.and_then(|f| LineText::new(f, below_star(department, seal)));
    let n = size as usize;
    let mut rgb = Vec::with_capacity(n * n * 3);
    let mut alpha = Vec::with_capacity(n * n);
    let scale = 2.0 / size as f32;
    for row in 0..size {
        for column in 0..size {
            let mut covered = 0.0;
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    let px = column as f32 + (sx as f32 + 0.5) / SAMPLES as f32;
                    let py = row as f32 + (sy as f32 + 0.5) / SAMPLES as f32;
                    // Image rows go down; the stamp's y goes up.
                    let (x, y) = (px * scale - 1.0, 1.0 - py * scale);
                    covered += if ink(x, y) {
                        1.0
                    } else {
                        let arc = text.as_ref().map_or(0.0, |t| t.at(x, y));
                        arc.max(line.as_ref().map_or(0.0, |l| l.at(x, y)))
                    };
                }
            }
            rgb.extend_from_slice(&RED);
            alpha.push((covered * 255.0 / (SAMPLES * SAMPLES) as f32).round() as u8);
        }
    }
    (rgb, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band_ink(alpha: &[u8], size: usize) -> usize {
        // Pixels in the name's band above the centre line that carry ink.
        let mut inked = 0;
        for row in 0..size / 2 {
            for column in 0..size {
                let x = (column as f32 + 0.5) * 2.0 / size as f32 - 1.0;
                let y = 1.0 - (row as f32 + 0.5) * 2.0 / size as f32;
                let r = (x * x + y * y).sqrt();
                if (0.52..0.72).contains(&r) && alpha[row * size + column] > 128 {
                    inked += 1;
                }
            }
        }
        inked
    }

    #[test]
    fn the_stamp_is_transparent_outside_and_red_on_the_ring() {
        let (rgb, alpha) = default_stamp(64, "", "", None);
        assert_eq!(rgb.len(), 64 * 64 * 3);
        assert_eq!(alpha[0], 0, "corner is transparent");
        // The ring crosses the middle row near its left edge.
        let middle = 32 * 64;
        assert!(alpha[middle + 2] > 200, "{}", alpha[middle + 2]);
        // The star's centre is ink, the gap between star and ring is not.
        assert_eq!(alpha[middle + 32], 255);
        assert_eq!(alpha[middle + 12], 0);
        assert_eq!(band_ink(&alpha, 64), 0, "no font, no name");
    }

    /// CI installs a CJK font and sets `TONGBAN_REQUIRE_STAMP_FONT`, so this cannot
    /// pass there without drawing the name; elsewhere it draws it when a font is found.
    #[test]
    fn the_department_name_runs_along_the_upper_arc() {
        let Some(font) = font() else {
            assert!(
                std::env::var_os("TONGBAN_REQUIRE_STAMP_FONT").is_none(),
                "no CJK font found in {FONT_PATHS:?}"
            );
            return;
        };
        let size = SIZE as usize;
        let (_, alpha) = default_stamp(SIZE, "国家市场监督管理总局", "", Some(font));
        let (_, bare) = default_stamp(SIZE, "", "", Some(font));
        let inked = band_ink(&alpha, size);
        assert_eq!(band_ink(&bare, size), 0);
        assert!(inked > 1_000, "{inked} pixels of name");
        // The arc leaves the bottom free: nothing between the star and the inner ring
        // straight below the centre.
        let below: usize = (size * 29 / 40..size * 43 / 50)
            .map(|row| {
                (size * 17 / 40..size * 23 / 40)
                    .filter(|c| alpha[row * size + c] > 0)
                    .count()
            })
            .sum();
        assert_eq!(below, 0, "nothing below the star");
        // Both ends of the name are drawn: ink left and right of the centre, low down.
        let low = |columns: std::ops::Range<usize>| -> usize {
            (size / 2..size * 5 / 8)
                .map(|row| {
                    columns
                        .clone()
                        .filter(|c| alpha[row * size + c] > 128)
                        .count()
                })
                .sum()
        };
        assert!(low(size / 8..size / 4) > 50, "the first characters");
        assert!(low(size * 3 / 4..size * 7 / 8) > 50, "the last characters");
        // A longer name is drawn narrower, not past the arc.
        let (_, long) = default_stamp(SIZE, &"测".repeat(20), "", Some(font));
        assert!(band_ink(&long, size) > 1_000);
        // The seal's name goes in that free space below the star, inside the ring.
        let department = "国家市场监督管理总局";
        let (_, named) = default_stamp(
            SIZE,
            department,
            "国家市场监督管理总局电子证照专用章",
            Some(font),
        );
        let below: usize = (size * 29 / 40..size * 43 / 50)
            .map(|row| (0..size).filter(|c| named[row * size + c] > 128).count())
            .sum();
        assert!(below > 300, "{below} pixels of the seal's name");
        assert_eq!(band_ink(&named, size), band_ink(&alpha, size));
        assert_eq!(
            below_star(department, "国家市场监督管理总局合同专用章"),
            "合同专用章"
        );
        assert_eq!(
            below_star(department, "一个长得放不进星下那一行的印章名称"),
            ""
        );
    }
}
