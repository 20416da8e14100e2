//! Cells of the CSV files we export (audit trail, seal usage logs), made safe for the
//! spreadsheets people open them in.

use std::borrow::Cow;

/// `cell` as a spreadsheet shows it as text: one starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return would run as a formula (OWASP "CSV injection"), so it gets
/// a leading `'`.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted_as_text() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-1+2"), "'-1+2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("seal.created"), "seal.created");
        assert_eq!(safe_cell(""), "");
    }
}
