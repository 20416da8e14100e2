//! The registry import page: the upload form, then the preview of what each line would
//! do, with the import form when every line can be imported.

use tongban_identity::identity_registry::{Outcome, PreviewLine};

use super::*;

struct LineRow {
    line: usize,
    name: String,
    resident_id: String,
    outcome: String,
    refused: bool,
}

#[derive(Template)]
#[template(path = "console_registry.html")]
struct RegistryPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
    imported: Option<String>,
    /// The preview: its counts sentence, its lines, and the kept file's id to import
    /// when every line can be.
    summary: Option<String>,
    rows: Vec<LineRow>,
    importable: Option<&'a str>,
}

/// The form, or (`preview`: the kept file's id and its lines) what importing it
/// would do.
pub fn registry(
    prefs: Prefs,
    csrf: &str,
    preview: Option<(&str, &[PreviewLine])>,
    (message, imported): (Option<Message>, Option<usize>),
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let lines = preview.map(|(_, lines)| lines).unwrap_or_default();
    let rows = lines
        .iter()
        .map(|p| LineRow {
            line: p.line,
            name: p.name.clone(),
            resident_id: p.resident_id.clone(),
            outcome: match &p.outcome {
                Outcome::New => l.t("registry-new"),
                Outcome::Renamed { from } => l.t1("registry-renamed", "from", from),
                Outcome::Unchanged => l.t("registry-unchanged"),
                Outcome::Invalid(why) => l.t1("registry-invalid", "why", why),
            },
            refused: matches!(p.outcome, Outcome::Invalid(_)),
        })
        .collect::<Vec<_>>();
    let count =
        |wanted: fn(&Outcome) -> bool| lines.iter().filter(|p| wanted(&p.outcome)).count() as i64;
    let refused = count(|o| matches!(o, Outcome::Invalid(_)));
    let summary = preview.map(|_| {
        l.tnums(
            "registry-summary",
            &[
                ("total", lines.len() as i64),
                ("new", count(|o| matches!(o, Outcome::New))),
                ("renamed", count(|o| matches!(o, Outcome::Renamed { .. }))),
                ("unchanged", count(|o| matches!(o, Outcome::Unchanged))),
                ("refused", refused),
            ],
        )
    });
    let page = RegistryPage {
        l,
        shell: Shell::new(prefs, "/console/registry", "registry-title").wide(),
        csrf,
        message,
        imported: imported.map(|n| l.tn("registry-done-imported", "count", n)),
        summary,
        rows,
        importable: preview.filter(|_| refused == 0).map(|(upload, _)| upload),
    };
    render(status, &page)
}
