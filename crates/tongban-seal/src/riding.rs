//! Cross-page seals (骑缝章): one signature whose seal is cut into equal slices, one on
//! the outer edge of each page of a range, so that the slices make the whole seal when
//! the pages are fanned. Which page shows which slice is decided here, for PDF and OFD
//! alike.

/// The outer edge a cross-page seal rides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The right edge: the first page shows the seal's leftmost slice.
    Right,
    /// The left edge: the first page shows the seal's rightmost slice.
    Left,
}

/// Most pages one cross-page seal spans: past this a slice of a 600-point seal is
/// narrower than a point.
pub const MAX_PAGES: u32 = 500;

/// Which slice (0 = the seal's leftmost) the `i`th page (from 0) of `n` shows.
pub fn slice(edge: Edge, i: u32, n: u32) -> u32 {
    match edge {
        Edge::Right => i,
        Edge::Left => n - 1 - i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slice_is_shown_once() {
        for edge in [Edge::Right, Edge::Left] {
            let mut shown: Vec<u32> = (0..7).map(|i| slice(edge, i, 7)).collect();
            shown.sort_unstable();
            assert_eq!(shown, (0..7).collect::<Vec<_>>());
        }
        assert_eq!(slice(Edge::Right, 0, 3), 0);
        assert_eq!(slice(Edge::Left, 0, 3), 2);
    }
}
