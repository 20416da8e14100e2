//! A batch's CSV files: the rows read from an upload, the template a batch starts
//! from, and a job's refused rows written back to be corrected and uploaded again.
//! Every file we write starts with a BOM and has formula-safe cells; what a spreadsheet
//! does to them on the way back (the `'`, spaces, `TRUE`) is undone on upload.

use serde_json::{Map, Value};
use sqlx::Row;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use crate::batch::find;
use crate::catalogue::CertType;
use crate::error::{EcertError, corrupt, invalid};
use crate::face_form;
use crate::register::{HolderRef, NewCertificate};

/// A cell as the person typed it: without surrounding spaces, and without the `'` a
/// spreadsheet (or our error file, [`failed_csv`]) puts before a cell that would
/// otherwise run as a formula.
fn typed_cell(cell: &str) -> &str {
    let cell = cell.trim();
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

/// The byte-order mark our CSV files start with, so that spreadsheets read them as
/// UTF-8 (Chinese names would come out garbled, and be saved back so).
const BOM: &str = "\u{feff}";

/// A CSV column whose header starts so is a note, not a face field: the error file's
/// `#errors` column, which can stay when the fixed rows are uploaded again.
pub const NOTE_PREFIX: char = '#';

/// Rows from CSV: a header line `id_number,name,<face field>,…`, then one certificate
/// per line. A cell becomes a number or a boolean where the type's schema says so; an
/// empty cell is left out, and so are note columns ([`NOTE_PREFIX`]).
pub fn rows_from_csv(schema: &Value, text: &str) -> Result<Vec<NewCertificate>, EcertError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid("csv", e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.first().map(String::as_str) != Some("id_number")
        || headers.get(1).map(String::as_str) != Some("name")
    {
        return Err(invalid(
            "csv",
            "the header must start with id_number,name and name the face fields after them",
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid("csv", e.to_string()))?;
        let mut face = Map::new();
        for (header, cell) in headers.iter().zip(record.iter()).skip(2) {
            let cell = typed_cell(cell);
            if cell.is_empty() || header.starts_with(NOTE_PREFIX) {
                continue;
            }
            face.insert(header.clone(), face_form::cell_value(schema, header, cell));
        }
        rows.push(NewCertificate {
            holder: HolderRef {
                id_number: typed_cell(record.get(0).unwrap_or_default()).to_owned(),
                name: typed_cell(record.get(1).unwrap_or_default()).to_owned(),
            },
            face: Value::Object(face),
        });
    }
    Ok(rows)
}

fn csv_line(cells: &[&str]) -> Result<String, EcertError> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(cells)
        .map_err(|e| EcertError::Internal(e.to_string()))?;
    let bytes = writer
        .into_inner()
        .map_err(|e| EcertError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| corrupt("CSV line"))
}

/// The CSV a batch of `cert_type` starts from: its header line.
pub fn template_csv(cert_type: &CertType) -> Result<String, EcertError> {
    let fields = face_form::fields_of(cert_type);
    let mut header = vec!["id_number", "name"];
    header.extend(fields.iter().map(|f| f.name.as_str()));
    Ok(format!("{BOM}{}", csv_line(&header)?))
}

/// A job's refused rows as CSV to fix and upload again: the job's header with an
/// `#errors` column, and each refused row as it was submitted with its errors. Every
/// cell is made safe for spreadsheets; [`rows_from_csv`] takes the quote off again.
pub async fn failed_csv(conn: &mut Conn, actor: &Actor, id: &str) -> Result<String, EcertError> {
    let job = find(conn, actor, id).await?;
    let cert_type = crate::catalogue::by_code(conn, &job.type_code).await?;
    let fields = face_form::fields_of(&cert_type);
    let mut header = vec!["id_number", "name"];
    header.extend(fields.iter().map(|f| f.name.as_str()));
    header.push("#errors");
    let mut out = format!("{BOM}{}", csv_line(&header)?);
    let rows = sqlx::query(
        "SELECT input, errors FROM ecert_job_rows WHERE job_id = $1 AND state = 'failed' ORDER BY row_no",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    for row in rows {
        let input: String = row.try_get("input")?;
        let input: Value = serde_json::from_str(&input).map_err(|_| corrupt("row input"))?;
        let errors: Option<String> = row.try_get("errors")?;
        let errors: Vec<Value> = errors
            .map(|e| serde_json::from_str(&e))
            .transpose()
            .map_err(|_| corrupt("row errors"))?
            .unwrap_or_default();
        let cell = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        // Every cell is made safe for the spreadsheet it is fixed in (another
        // issuer's `=HYPERLINK(…)` must not run there); the `'` comes off again on
        // upload ([`typed_cell`]).
        let face = input.get("face");
        let mut cells = vec![
            cell(input.pointer("/holder/id_number")),
            cell(input.pointer("/holder/name")),
        ];
        cells.extend(
            fields
                .iter()
                .map(|f| cell(face.and_then(|face| face.get(&f.name)))),
        );
        let mut cells: Vec<String> = cells
            .iter()
            .map(|c| tongban_core::spreadsheet::safe_cell(c).into_owned())
            .collect();
        let explained: Vec<String> = errors
            .iter()
            .map(|e| {
                let at = e["pointer"].as_str().unwrap_or_default();
                let message = e["message"].as_str().unwrap_or_default();
                if at.is_empty() {
                    message.to_owned()
                } else {
                    format!("{at}: {message}")
                }
            })
            .collect();
        let explained = explained.join("; ");
        cells.push(tongban_core::spreadsheet::safe_cell(&explained).into_owned());
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.push_str(&csv_line(&refs)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_come_back_as_typed_from_a_spreadsheet() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {"chain": {"type": "boolean"}, "note": {"type": "string"}}
        });
        let csv = "\u{feff}id_number , name,chain,note,#errors\n 110101197001010016 ,张三, TRUE ,'=1+1,\"/face/x: bad\"\n";
        let text = csv.trim_start_matches('\u{feff}');
        let rows = rows_from_csv(&schema, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows[0].holder.id_number, "110101197001010016");
        assert_eq!(
            rows[0].face,
            serde_json::json!({"chain": true, "note": "=1+1"}),
            "trimmed, TRUE read, the spreadsheet's quote taken off, the note column left out"
        );
        assert_eq!(
            typed_cell("'plain"),
            "'plain",
            "only before a formula character"
        );
    }
}
