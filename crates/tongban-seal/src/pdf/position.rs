//! Where a seal shows on a PDF: one spot of one page, or a slice on the edge of each
//! page of a range (a cross-page seal); checked against the pages, and turned into the
//! widgets the update writes.

use lopdf::{Dictionary, Object, ObjectId};

use super::{PdfError, Reader, unreadable};
use crate::riding::Edge;

/// Where and how the seal appears.
#[derive(Clone, Debug)]
pub struct Placement {
    /// 1-based page number.
    pub page: u32,
    /// Lower-left corner, PDF points from the page's lower-left corner.
    pub x: f32,
    /// Lower-left corner, PDF points.
    pub y: f32,
    /// Width and height of the (square) seal, PDF points.
    pub size: f32,
}

/// A spot named the way people name it (bottom right, top centre, …), for those who
/// place a seal without measuring in points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Top left.
    TopLeft,
    /// Top centre.
    Top,
    /// Top right.
    TopRight,
    /// Middle left.
    Left,
    /// The middle of the page.
    Centre,
    /// Middle right.
    Right,
    /// Bottom left.
    BottomLeft,
    /// Bottom centre.
    Bottom,
    /// Bottom right (where a seal usually goes, over the signature line).
    BottomRight,
}

impl Anchor {
    /// Every anchor, row by row from the top left.
    pub const ALL: [Self; 9] = [
        Self::TopLeft,
        Self::Top,
        Self::TopRight,
        Self::Left,
        Self::Centre,
        Self::Right,
        Self::BottomLeft,
        Self::Bottom,
        Self::BottomRight,
    ];

    /// Its name in forms and the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::TopLeft => "top-left",
            Self::Top => "top",
            Self::TopRight => "top-right",
            Self::Left => "left",
            Self::Centre => "centre",
            Self::Right => "right",
            Self::BottomLeft => "bottom-left",
            Self::Bottom => "bottom",
            Self::BottomRight => "bottom-right",
        }
    }

    /// The anchor named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Where a seal of `size` points goes on a page showing `[x0, y0, x1, y1]`: a
    /// margin of half an inch from the edges it names (less on a small page).
    fn place(self, [x0, y0, x1, y1]: [f32; 4], size: f32) -> (f32, f32) {
        let margin = 36f32
            .min(((x1 - x0 - size) / 2.0).max(0.0))
            .min(((y1 - y0 - size) / 2.0).max(0.0));
        let (left, centre, right) = (x0 + margin, (x0 + x1 - size) / 2.0, x1 - margin - size);
        let (bottom, middle, top) = (y0 + margin, (y0 + y1 - size) / 2.0, y1 - margin - size);
        match self {
            Self::TopLeft => (left, top),
            Self::Top => (centre, top),
            Self::TopRight => (right, top),
            Self::Left => (left, middle),
            Self::Centre => (centre, middle),
            Self::Right => (right, middle),
            Self::BottomLeft => (left, bottom),
            Self::Bottom => (centre, bottom),
            Self::BottomRight => (right, bottom),
        }
    }
}

/// A seal at a named spot of one page.
#[derive(Clone, Debug)]
pub struct Anchored {
    /// 1-based page number.
    pub page: u32,
    /// The spot.
    pub anchor: Anchor,
    /// Width and height of the (square) seal, PDF points.
    pub size: f32,
}

/// A cross-page seal (骑缝章): a slice of the seal on the outer edge of each page of a
/// range, one signature field with a widget on each page.
#[derive(Clone, Debug)]
pub struct Riding {
    /// First and last page, from 1 (default: every page).
    pub pages: Option<(u32, u32)>,
    /// The edge.
    pub edge: Edge,
    /// Lower edge of the seal, PDF points from the page's bottom (default: centred).
    pub y: Option<f32>,
    /// Width and height of the whole seal, PDF points.
    pub size: f32,
}

/// Where the seal shows: on one page, or across the edge of many.
#[derive(Clone, Debug)]
pub enum Position {
    /// One widget on one page.
    One(Placement),
    /// A slice on each page of a range.
    Riding(Riding),
    /// One widget at a named spot of one page.
    Anchored(Anchored),
}

impl From<Placement> for Position {
    fn from(placement: Placement) -> Self {
        Self::One(placement)
    }
}

/// One widget: its page, its rectangle (points) and how far left the seal image is
/// moved in it, so that the widget shows its slice.
pub(super) struct Piece {
    pub(super) page_id: ObjectId,
    pub(super) page: Dictionary,
    pub(super) rect: [f32; 4],
    pub(super) shift: f32,
}

fn number_box(media_box: Option<&Object>) -> Option<[f32; 4]> {
    let Some(Object::Array(bounds)) = media_box else {
        return None;
    };
    let number = |i: usize| bounds.get(i).and_then(|o| o.as_float().ok());
    match [0, 1, 2, 3].map(number) {
        [Some(x0), Some(y0), Some(x1), Some(y1)] if x1 > x0 && y1 > y0 => Some([x0, y0, x1, y1]),
        _ => None,
    }
}

/// The widgets `position` asks for.
pub(super) fn pieces(reader: &Reader<'_>, position: &Position) -> Result<Vec<Piece>, PdfError> {
    let page = |number: u32| {
        reader
            .page(number)
            .map_err(unreadable)?
            .ok_or(PdfError::NoSuchPage(number))
    };
    match position {
        Position::One(placement) => {
            let (page_id, page, media_box) = page(placement.page)?;
            check_placement(media_box.as_ref(), placement)?;
            let (x, y, size) = (placement.x, placement.y, placement.size);
            Ok(vec![Piece {
                page_id,
                page,
                rect: [x, y, x + size, y + size],
                shift: 0.0,
            }])
        }
        Position::Anchored(anchored) => {
            let (page_id, page, media_box) = page(anchored.page)?;
            // The spot people see: the crop box when the page has one. A rotated page
            // would turn "bottom right" into another corner.
            let rotated = page
                .get(b"Rotate")
                .ok()
                .and_then(|r| r.as_i64().ok())
                .is_some_and(|r| r.rem_euclid(360) != 0);
            if rotated {
                return Err(PdfError::Placement(format!(
                    "page {} is rotated: place the seal by x and y",
                    anchored.page
                )));
            }
            let crop = page
                .get(b"CropBox")
                .ok()
                .and_then(|c| reader.resolve(c).ok());
            let shown = number_box(crop.as_ref().or(media_box.as_ref())).ok_or_else(|| {
                PdfError::Placement(format!("page {} has no usable /MediaBox", anchored.page))
            })?;
            let (x, y) = anchored.anchor.place(shown, anchored.size);
            let placement = Placement {
                page: anchored.page,
                x,
                y,
                size: anchored.size,
            };
            check_placement(media_box.as_ref(), &placement)?;
            Ok(vec![Piece {
                page_id,
                page,
                rect: [x, y, x + placement.size, y + placement.size],
                shift: 0.0,
            }])
        }
        Position::Riding(riding) => {
            let size = riding.size;
            if !(size.is_finite() && (20.0..=600.0).contains(&size)) {
                return Err(PdfError::Placement("size: 20 to 600 points".into()));
            }
            let (first, last) = match riding.pages {
                Some(range) => range,
                None => (1, page_count(reader)?),
            };
            if first == 0 || last <= first || last - first >= crate::riding::MAX_PAGES {
                return Err(PdfError::Placement(format!(
                    "pages {first}-{last}: a cross-page seal spans 2 to {} pages",
                    crate::riding::MAX_PAGES
                )));
            }
            let n = last - first + 1;
            let width = size / n as f32;
            let mut out = Vec::new();
            for (i, number) in (first..=last).enumerate() {
                let (page_id, page, media_box) = page(number)?;
                // The edge people see: the crop box when the page has one; a rotated
                // page would put the slices on another edge.
                let rotated = page
                    .get(b"Rotate")
                    .ok()
                    .and_then(|r| r.as_i64().ok())
                    .is_some_and(|r| r.rem_euclid(360) != 0);
                if rotated {
                    return Err(PdfError::Placement(format!(
                        "page {number} is rotated: a cross-page seal needs upright pages"
                    )));
                }
                let crop = page
                    .get(b"CropBox")
                    .ok()
                    .and_then(|c| reader.resolve(c).ok());
                let shown = crop.or(media_box);
                let [x0, y0, x1, y1] = number_box(shown.as_ref()).ok_or_else(|| {
                    PdfError::Placement(format!("page {number} has no usable /MediaBox"))
                })?;
                let y = riding.y.unwrap_or((y0 + y1 - size) / 2.0);
                if !y.is_finite() || y < y0 || y + size > y1 || width > x1 - x0 {
                    return Err(PdfError::Placement(format!(
                        "the seal must lie within page {number} ({x0} {y0} {x1} {y1})"
                    )));
                }
                let x = match riding.edge {
                    Edge::Right => x1 - width,
                    Edge::Left => x0,
                };
                let shown = crate::riding::slice(riding.edge, i as u32, n) as f32 * width;
                out.push(Piece {
                    page_id,
                    page,
                    rect: [x, y, x + width, y + size],
                    shift: shown,
                });
            }
            Ok(out)
        }
    }
}

/// The number of pages, counted up to what a cross-page seal may span.
fn page_count(reader: &Reader<'_>) -> Result<u32, PdfError> {
    let mut count = 0;
    while count <= crate::riding::MAX_PAGES && reader.page(count + 1).map_err(unreadable)?.is_some()
    {
        count += 1;
    }
    Ok(count)
}

fn check_placement(media_box: Option<&Object>, placement: &Placement) -> Result<(), PdfError> {
    if !(placement.size.is_finite() && placement.size >= 20.0 && placement.size <= 600.0) {
        return Err(PdfError::Placement("size: 20 to 600 points".into()));
    }
    if !(placement.x.is_finite() && placement.y.is_finite()) {
        return Err(PdfError::Placement("x, y: numbers".into()));
    }
    if let Some(Object::Array(bounds)) = media_box {
        let number = |o: &Object| o.as_float().ok();
        if let [Some(x0), Some(y0), Some(x1), Some(y1)] =
            [0, 1, 2, 3].map(|i| bounds.get(i).and_then(number))
            && (placement.x < x0
                || placement.y < y0
                || placement.x + placement.size > x1
                || placement.y + placement.size > y1)
        {
            return Err(PdfError::Placement(format!(
                "the seal must lie within the page ({x0} {y0} {x1} {y1})"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(anchor: Anchor, page: u32) -> Result<[f32; 4], PdfError> {
        let pdf = crate::pdf::tests::sample(3, 10, false);
        let reader = Reader::open(&pdf).map_err(unreadable)?;
        let position = Position::Anchored(Anchored {
            page,
            anchor,
            size: 120.0,
        });
        Ok(pieces(&reader, &position)?[0].rect)
    }

    #[test]
    fn a_named_spot_is_half_an_inch_from_the_edges_it_names() {
        // The sample's pages are A4: 595 × 842 points.
        let bottom_right = rect(Anchor::BottomRight, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bottom_right, [439.0, 36.0, 559.0, 156.0]);
        let top_left = rect(Anchor::TopLeft, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(top_left, [36.0, 686.0, 156.0, 806.0]);
        let centre = rect(Anchor::Centre, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(centre, [237.5, 361.0, 357.5, 481.0]);
        assert!(matches!(
            rect(Anchor::Bottom, 4),
            Err(PdfError::NoSuchPage(4))
        ));
        for anchor in Anchor::ALL {
            assert_eq!(Anchor::parse(anchor.name()), Some(anchor));
        }
    }
}
