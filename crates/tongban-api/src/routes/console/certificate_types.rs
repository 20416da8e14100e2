//! Defining a certificate type in the console, for a department's administrators: the
//! names, the holder, the validity, the seal that signs, and the face fields from the
//! field editor (rows of name, label, kind and whether required), which writes the JSON
//! Schema, or a schema pasted instead. "Check" shows the schema the rows write; the
//! type is defined through the catalogue's own function, as by the API.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::Algorithm;
use tongban_ecert::EcertError;
use tongban_ecert::catalogue::{self, HolderCategory, NewType};
use tongban_ecert::face_form::{self, FieldKind, FieldSpec};
use tongban_ecert::permissions::console_actor;
use tongban_identity::console::{ConsoleError, Desk};
use tongban_identity::sso::{self, Session};
use tongban_identity::subjects::{DepartmentId, Role};
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealStatus};

use super::certificates::{cert_refusal, chosen_department};
use super::{form_desk, open_desk, refused};
use crate::extract::PageQuery;
use crate::routes::session_form::{FieldsForm, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{self as view, FieldLine, TypeForm};

/// Rows the field editor shows at first, and adds at a time.
const ROWS: usize = 5;

/// The department's seals a type may be signed with (active, P-256), as (id, name).
async fn signing_seals(
    state: &AppState,
    session: &Session,
    department: DepartmentId,
) -> Result<Vec<(String, String)>, Response> {
    let mut conn = state.store.conn().await.map_err(store_page)?;
    let actor = Actor::console(session.subject, &session.acr);
    let seals = registry::of_department(&mut conn, &actor, department)
        .await
        .map_err(store_page)?;
    Ok(seals
        .into_iter()
        .filter(|s| s.status == SealStatus::Active && s.algorithm == Algorithm::Es256)
        .map(|s| (s.id.to_string(), s.name))
        .collect())
}

/// The department whose types the person defines here.
fn defining(desk: &Desk, named: &str) -> Option<DepartmentId> {
    chosen_department(desk, named).filter(|d| desk.holds(*d, Role::DeptAdmin))
}

/// The query of the type form.
#[derive(Deserialize, Default)]
pub struct TypeQuery {
    #[serde(default)]
    department: String,
}

/// The form to define a certificate type.
#[utoipa::path(get, path = "/console/certificates/types/new", tag = "console",
    params(("department" = Option<String>, Query, description = "the defining department")),
    responses(
        (status = 200, description = "the form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an administrator of that department", content_type = "text/html"),
    ))]
pub async fn type_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<TypeQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    drop(conn);
    let Some(department) = defining(&desk, &query.department) else {
        return refused(prefs, Some(&desk), &ConsoleError::NotAllowed);
    };
    let seals = match signing_seals(&state, &session, department).await {
        Ok(seals) => seals,
        Err(page) => return page,
    };
    let form = TypeForm {
        holder_category: "natural".into(),
        fields: vec![FieldLine::default(); ROWS],
        ..TypeForm::default()
    };
    let csrf = sso::session_csrf(&cookie);
    let department = department.to_string();
    web::no_store(view::certificate_type_form(
        prefs,
        (&csrf, &department),
        &form,
        &seals,
        (None, None),
        StatusCode::OK,
    ))
}

/// The type form as posted: its fields, and the editor's rows (`rows` of them).
fn typed(form: &FieldsForm) -> TypeForm {
    let rows = form
        .field("rows")
        .parse::<usize>()
        .unwrap_or(ROWS)
        .min(face_form::MAX_FIELDS);
    let text = |name: &str| form.field(name).to_owned();
    TypeForm {
        sequence: text("sequence").trim().to_owned(),
        name_zh: text("name_zh"),
        name_en: text("name_en"),
        holder_category: text("holder_category"),
        validity_days: text("validity_days").trim().to_owned(),
        seal_id: text("seal_id"),
        fields: (0..rows)
            .map(|n| FieldLine {
                name: form.field(&format!("field_name_{n}")).trim().to_owned(),
                title: text(&format!("field_title_{n}")),
                kind: text(&format!("field_kind_{n}")),
                required: form.field(&format!("field_required_{n}")) == "yes",
                options: text(&format!("field_options_{n}")),
            })
            .collect(),
        schema: text("schema"),
    }
}

/// The schema the form gives: the pasted one, else the one the rows write.
fn schema_of(form: &TypeForm) -> Result<Value, EcertError> {
    if !form.schema.trim().is_empty() {
        let schema: Value =
            serde_json::from_str(&form.schema).map_err(|e| EcertError::Invalid {
                field: "face_schema",
                reason: format!("not JSON: {e}"),
            })?;
        catalogue::FaceSchema::compile(&schema)?;
        face_form::check_names(&schema)?;
        return Ok(schema);
    }
    let specs = form
        .fields
        .iter()
        .filter(|line| !line.name.is_empty())
        .map(|line| {
            let kind = match line.kind.as_str() {
                "integer" => FieldKind::Integer,
                "number" => FieldKind::Number,
                "date" => FieldKind::Date,
                "boolean" => FieldKind::Boolean,
                "choice" => FieldKind::Choice(
                    line.options
                        .split([',', '，', '\n'])
                        .map(str::to_owned)
                        .collect(),
                ),
                _ => FieldKind::Text,
            };
            FieldSpec {
                name: line.name.clone(),
                title: line.title.clone(),
                kind,
                required: line.required,
            }
        })
        .collect::<Vec<_>>();
    face_form::schema_from(&specs)
}

/// The type the form defines.
fn new_type(form: &TypeForm, schema: Value) -> Result<NewType, EcertError> {
    let invalid = |field, reason: &str| EcertError::Invalid {
        field,
        reason: reason.into(),
    };
    let validity_days = match form.validity_days.as_str() {
        "" => None,
        days => Some(
            days.parse::<i64>()
                .map_err(|_| invalid("validity_days", "a whole number of days"))?,
        ),
    };
    Ok(NewType {
        sequence: form.sequence.clone(),
        name_zh: form.name_zh.clone(),
        name_en: form.name_en.clone(),
        holder_category: HolderCategory::parse(&form.holder_category)
            .ok_or_else(|| invalid("holder_category", "natural or legal"))?,
        face_schema: schema,
        validity_days,
        layout: Vec::new(),
        seal_id: form
            .seal_id
            .parse()
            .map_err(|_| invalid("seal_id", "choose one of the department's seals"))?,
        rendition: catalogue::Rendition::Pdf,
    })
}

/// Checks or defines a type (`step`): `more` adds rows to the field editor, `check`
/// shows the schema the form gives, `define` defines the type.
#[utoipa::path(post, path = "/console/certificates/types", tag = "console",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, department, step=more|check|define, sequence, name_zh, name_en, holder_category, validity_days, seal_id, rows, field_name_N, field_title_N, field_kind_N, field_required_N, field_options_N, schema"),
    responses(
        (status = 200, description = "the form again: more rows, or the schema checked", content_type = "text/html"),
        (status = 303, description = "defined: to the certificates page"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not an administrator of that department, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 409, description = "the type code is taken: the form again", content_type = "text/html"),
        (status = 422, description = "a field or the schema is invalid: the form again, saying why", content_type = "text/html"),
    ))]
pub async fn console_define_type(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<FieldsForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    let Some(department) = defining(&desk, form.field("department")) else {
        return refused(prefs, Some(&desk), &ConsoleError::NotAllowed);
    };
    let seals = match signing_seals(&state, &session, department).await {
        Ok(seals) => seals,
        Err(page) => return page,
    };
    let mut typed = typed(&form);
    let csrf = sso::session_csrf(&cookie);
    let department_text = department.to_string();
    let again = |typed: &TypeForm, shown: (Option<String>, Option<String>), status| {
        web::no_store(view::certificate_type_form(
            prefs,
            (&csrf, &department_text),
            typed,
            &seals,
            shown,
            status,
        ))
    };
    let step = form.field("step");
    if step == "more" {
        let more = (typed.fields.len() + ROWS).min(face_form::MAX_FIELDS);
        typed.fields.resize(more, FieldLine::default());
        return again(&typed, (None, None), StatusCode::OK);
    }
    let schema = match schema_of(&typed) {
        Ok(schema) => schema,
        Err(error) => {
            return again(
                &typed,
                (None, Some(error.to_string())),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let shown = serde_json::to_string_pretty(&schema).unwrap_or_default();
    if step != "define" {
        return again(&typed, (Some(shown), None), StatusCode::OK);
    }
    let new = match new_type(&typed, schema) {
        Ok(new) => new,
        Err(error) => {
            return again(
                &typed,
                (Some(shown), Some(error.to_string())),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let actor = console_actor(session.subject, &session.acr);
    let now = Timestamp::now();
    let defined = state
        .store
        .transaction(async |tx| catalogue::define(tx, &actor, department, &new, now).await)
        .await;
    match defined {
        Ok(_) => web::see_other(&format!(
            "/console/certificates?department={department}&done=defined"
        )),
        Err(error @ (EcertError::Invalid { .. } | EcertError::Conflict(_))) => {
            let status = if matches!(error, EcertError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            again(&typed, (Some(shown), Some(error.to_string())), status)
        }
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}
