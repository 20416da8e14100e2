//! A type's face fields as people fill them in: the fields a form shows (read from the
//! type's JSON Schema), the schema a field editor writes, and a typed cell (from a
//! form or a CSV file) as the JSON value the schema expects.

use serde_json::{Map, Value, json};

use crate::catalogue::CertType;
use crate::error::{EcertError, invalid};

/// Most fields the field editor defines.
pub const MAX_FIELDS: usize = 30;
/// Longest text a field editor's text field takes.
const TEXT_MAX: u64 = 200;
/// A day, as the schema of a date field checks it (format `date` is only an
/// annotation in JSON Schema 2020-12).
pub(crate) const DATE_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// What a field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Text.
    Text,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// A day (`YYYY-MM-DD`).
    Date,
    /// Yes or no.
    Boolean,
    /// One of these texts.
    Choice(Vec<String>),
}

impl FieldKind {
    /// The field editor's name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Date => "date",
            Self::Boolean => "boolean",
            Self::Choice(_) => "choice",
        }
    }
}

/// A face field as a form shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormField {
    /// Property name (the form field's and the CSV column's name).
    pub name: String,
    /// The schema's `title`, or the name.
    pub title: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether the schema requires it.
    pub required: bool,
    /// The schema's `maxLength`, for text.
    pub max_length: Option<u64>,
    /// The schema's `pattern` (a hint for the person; the schema decides).
    pub pattern: Option<String>,
}

/// The fields of `cert_type`'s face: those of its layout first, in its order, then any
/// other property of the schema.
pub fn fields_of(cert_type: &CertType) -> Vec<FormField> {
    let schema = &cert_type.face_schema;
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&String> = cert_type
        .layout
        .iter()
        .filter(|n| properties.contains_key(*n))
        .collect();
    names.extend(properties.keys().filter(|n| !cert_type.layout.contains(n)));
    names
        .into_iter()
        .map(|name| {
            let property = &properties[name];
            FormField {
                name: name.clone(),
                title: property
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(name)
                    .to_owned(),
                kind: kind_of(property),
                required: required.contains(&name.as_str()),
                max_length: property.get("maxLength").and_then(Value::as_u64),
                pattern: property
                    .get("pattern")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        })
        .collect()
}

fn kind_of(property: &Value) -> FieldKind {
    if let Some(options) = property.get("enum").and_then(Value::as_array) {
        return FieldKind::Choice(
            options
                .iter()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                .collect(),
        );
    }
    match property.get("type").and_then(Value::as_str) {
        Some("integer") => FieldKind::Integer,
        Some("number") => FieldKind::Number,
        Some("boolean") => FieldKind::Boolean,
        Some("string") if property.get("format").and_then(Value::as_str) == Some("date") => {
            FieldKind::Date
        }
        _ => FieldKind::Text,
    }
}

/// The JSON value of a typed cell of property `name`: a number or a boolean where the
/// schema says so, text otherwise (the schema then says what is wrong with it).
pub fn cell_value(schema: &Value, name: &str, cell: &str) -> Value {
    let kind = schema
        .pointer(&format!("/properties/{name}/type"))
        .and_then(Value::as_str);
    match kind {
        Some("integer") => cell.parse::<i64>().map(Value::from).ok(),
        Some("number") => cell.parse::<f64>().ok().map(Value::from),
        // Spreadsheets write TRUE and FALSE.
        Some("boolean") => cell
            .to_ascii_lowercase()
            .parse::<bool>()
            .map(Value::from)
            .ok(),
        _ => None,
    }
    .unwrap_or_else(|| Value::String(cell.to_owned()))
}

/// The face typed into a form: `cells` by property name. Empty cells are left out,
/// except a yes-or-no field, which a form leaves out when it is "no".
pub fn face_from_cells<'a>(
    cert_type: &CertType,
    mut cell: impl FnMut(&str) -> Option<&'a str>,
) -> Value {
    let mut face = Map::new();
    for field in fields_of(cert_type) {
        let typed = cell(&field.name).map(str::trim).unwrap_or_default();
        if field.kind == FieldKind::Boolean {
            face.insert(field.name.clone(), Value::Bool(typed == "true"));
        } else if !typed.is_empty() {
            face.insert(
                field.name.clone(),
                cell_value(&cert_type.face_schema, &field.name, typed),
            );
        }
    }
    Value::Object(face)
}

/// Checks that every property of a pasted `schema` has a name the editor would give
/// ([`field_name_ok`]).
pub fn check_names(schema: &Value) -> Result<(), EcertError> {
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().collect::<Vec<_>>())
        .unwrap_or_default();
    match properties.into_iter().find(|name| !field_name_ok(name)) {
        Some(name) => Err(invalid(
            "face_schema",
            format!("{name:?}: a name is a lower-case letter, then up to 39 letters, digits or _"),
        )),
        None => Ok(()),
    }
}

/// A field as the field editor defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// Property name: a lower-case ASCII letter, then letters, digits or `_` (at most
    /// 40), since it names a CSV column and a JSON Pointer step.
    pub name: String,
    /// The label people read.
    pub title: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether every certificate has it.
    pub required: bool,
}

/// Whether `name` may name a face field: a lower-case ASCII letter, then up to 39
/// letters, digits or `_` (it heads a CSV column, names a form field and is a JSON
/// Pointer step).
pub fn field_name_ok(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The JSON Schema (2020-12) of the fields `specs`: an object of exactly those
/// properties, each with its title.
pub fn schema_from(specs: &[FieldSpec]) -> Result<Value, EcertError> {
    if specs.is_empty() || specs.len() > MAX_FIELDS {
        return Err(invalid(
            "fields",
            format!("a type has 1 to {MAX_FIELDS} fields"),
        ));
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    for spec in specs {
        if !field_name_ok(&spec.name) {
            return Err(invalid(
                "fields",
                format!(
                    "{:?}: a name is a lower-case letter, then up to 39 letters, digits or _",
                    spec.name
                ),
            ));
        }
        let title = spec.title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            return Err(invalid(
                "fields",
                format!("{}: a label has 1 to 100 characters", spec.name),
            ));
        }
        let mut property = match &spec.kind {
            FieldKind::Text => json!({"type": "string", "maxLength": TEXT_MAX}),
            FieldKind::Integer => json!({"type": "integer"}),
            FieldKind::Number => json!({"type": "number"}),
            FieldKind::Date => json!({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
            FieldKind::Boolean => json!({"type": "boolean"}),
            FieldKind::Choice(options) => {
                let options: Vec<&str> = options
                    .iter()
                    .map(|o| o.trim())
                    .filter(|o| !o.is_empty())
                    .collect();
                if options.len() < 2 || options.len() > 50 {
                    return Err(invalid(
                        "fields",
                        format!("{}: a choice has 2 to 50 options", spec.name),
                    ));
                }
                json!({"type": "string", "enum": options})
            }
        };
        if spec.required && spec.kind == FieldKind::Text {
            property["minLength"] = json!(1);
        }
        property["title"] = json!(title);
        if properties.insert(spec.name.clone(), property).is_some() {
            return Err(invalid(
                "fields",
                format!("{}: each field has its own name", spec.name),
            ));
        }
        if spec.required {
            required.push(spec.name.clone());
        }
    }
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{FaceSchema, HolderCategory, Rendition};

    fn spec(name: &str, kind: FieldKind, required: bool) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            title: format!("{name} 标签"),
            kind,
            required,
        }
    }

    fn cert_type(schema: Value, layout: &[&str]) -> CertType {
        CertType {
            id: "t".into(),
            code: "c".into(),
            department_id: tongban_identity::subjects::DepartmentId::new(),
            name_zh: "证".into(),
            name_en: "Licence".into(),
            holder_category: HolderCategory::Natural,
            face_schema: schema,
            validity_days: None,
            layout: layout.iter().map(|s| (*s).to_owned()).collect(),
            rendition: Rendition::Pdf,
        }
    }

    #[test]
    fn the_editor_writes_a_schema_that_checks_what_it_says() {
        let schema = schema_from(&[
            spec("licence_no", FieldKind::Text, true),
            spec("issued_on", FieldKind::Date, true),
            spec("staff", FieldKind::Integer, false),
            spec("chain", FieldKind::Boolean, false),
            spec(
                "grade",
                FieldKind::Choice(vec!["A".into(), " B ".into(), String::new()]),
                false,
            ),
        ])
        .unwrap();
        let compiled = FaceSchema::compile(&schema).unwrap();
        let good = json!({"licence_no": "JY1", "issued_on": "2026-12-04", "staff": 3, "chain": true, "grade": "B"});
        compiled.check(&good).unwrap();
        for bad in [
            json!({"licence_no": "", "issued_on": "2026-12-04"}),
            json!({"licence_no": "JY1", "issued_on": "2026-13-01"}),
            json!({"licence_no": "JY1", "issued_on": "2026-12-04", "grade": "C"}),
            json!({"licence_no": "JY1", "issued_on": "2026-12-04", "other": 1}),
            json!({"issued_on": "2026-12-04"}),
        ] {
            assert!(compiled.check(&bad).is_err(), "{bad}");
        }
        // Errors name the field they are about, in words.
        let refused = |face: Value| match compiled.check(&face) {
            Err(EcertError::Face(errors)) => errors
                .into_iter()
                .map(|e| (e.pointer, e.message))
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(json!({"issued_on": "2026-12-04"})),
            [("/licence_no".to_owned(), "is required".to_owned())]
        );
        let date = refused(json!({"licence_no": "JY1", "issued_on": "2026-13-01"}));
        assert_eq!(date[0].0, "/issued_on");
        assert!(date[0].1.contains("YYYY-MM-DD"), "{date:?}");
        let staff = refused(json!({"licence_no": "JY1", "issued_on": "2026-12-04", "staff": "3"}));
        assert_eq!(
            staff,
            [("/staff".to_owned(), "must be a whole number".to_owned())]
        );
        let t = cert_type(schema, &["issued_on"]);
        let fields = fields_of(&t);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[0], "issued_on", "the layout's order first");
        assert_eq!(fields[0].kind, FieldKind::Date);
        assert!(fields[0].required);
        let grade = fields.iter().find(|f| f.name == "grade").unwrap();
        assert_eq!(grade.kind, FieldKind::Choice(vec!["A".into(), "B".into()]));
        assert_eq!(grade.title, "grade 标签");
    }

    #[test]
    fn the_editor_refuses_what_would_make_a_bad_type() {
        assert!(schema_from(&[]).is_err());
        for name in ["Licence", "1st", "a-b", "名称", &"x".repeat(41)] {
            assert!(
                schema_from(&[spec(name, FieldKind::Text, true)]).is_err(),
                "{name}"
            );
        }
        let twice = [
            spec("a", FieldKind::Text, true),
            spec("a", FieldKind::Date, true),
        ];
        assert!(schema_from(&twice).is_err());
        let one_option = spec("a", FieldKind::Choice(vec!["x".into()]), true);
        assert!(schema_from(&[one_option]).is_err());
        let mut unlabelled = spec("a", FieldKind::Text, true);
        unlabelled.title = "  ".into();
        assert!(schema_from(&[unlabelled]).is_err());
    }

    #[test]
    fn typed_cells_become_the_values_the_schema_expects() {
        let schema = schema_from(&[
            spec("n", FieldKind::Integer, true),
            spec("ok", FieldKind::Boolean, false),
            spec("t", FieldKind::Text, false),
        ])
        .unwrap();
        let t = cert_type(schema, &[]);
        let cells = [("n", " 42 "), ("t", "")];
        let face = face_from_cells(&t, |name| {
            cells.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        });
        assert_eq!(face, json!({"n": 42, "ok": false}));
        assert_eq!(cell_value(&t.face_schema, "n", "4x"), json!("4x"));
    }
}
