//! A department's certificates in the console, for its issuers and administrators:
//! its types, a lookup (with its purpose, logged as an access the holder sees), and one
//! certificate issued from a form generated from the type's schema. Every act goes
//! through the e-certificate domain's functions and checks, as the API's do; a found
//! certificate's changes are in `certificate_changes`, batches in
//! `certificate_batches`, the field editor in `certificate_types`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_ecert::EcertError;
use tongban_ecert::catalogue::{self, CertType};
use tongban_ecert::face_form;
use tongban_ecert::idempotency;
use tongban_ecert::identifier::Identifier;
use tongban_ecert::lookup;
use tongban_ecert::permissions::{ISSUING_LEVEL, console_actor};
use tongban_ecert::register::{self, HolderRef, Issuing, NewCertificate};
use tongban_identity::console::{ConsoleError, Desk};
use tongban_identity::secrets::constant_time_eq;
use tongban_identity::sso;
use tongban_identity::subjects::{DepartmentId, Role};
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use super::{form_desk, open_desk, refused, refused_as};
use crate::extract::PageQuery;
use crate::prefs::Prefs;
use crate::routes::session_form::{FieldsForm, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{
    self as view, CertificateFormView, CertificateSearch, CertificatesView,
};
use crate::views::esign::Message;

/// The page for a refused certificate act.
pub(crate) fn cert_refusal(prefs: Prefs, desk: &Desk, error: EcertError) -> Response {
    let (id, status) = match &error {
        EcertError::Denied(_) if desk.level() < ISSUING_LEVEL => {
            ("console-step-up", StatusCode::FORBIDDEN)
        }
        EcertError::Denied(_) => ("console-not-allowed", StatusCode::FORBIDDEN),
        EcertError::NotFound(_) => ("certs-unknown", StatusCode::NOT_FOUND),
        EcertError::Invalid { .. } | EcertError::Face(_) | EcertError::Identifier(_) => {
            ("certs-invalid", StatusCode::UNPROCESSABLE_ENTITY)
        }
        EcertError::Conflict(_) => ("certs-conflict", StatusCode::CONFLICT),
        _ => return store_page(error),
    };
    refused_as(prefs, Some(desk), id, status)
}

/// The department a certificate page is for: the one named, else the person's first
/// with a certificate role; `None` when they have none there.
pub(crate) fn chosen_department(desk: &Desk, named: &str) -> Option<DepartmentId> {
    let posts = desk.certificate_posts();
    if named.is_empty() {
        return posts.first().map(|p| p.department.id);
    }
    let named = named.parse::<DepartmentId>().ok()?;
    posts
        .iter()
        .any(|p| p.department.id == named)
        .then_some(named)
}

/// A type and the department issuing it, for an issuer of that department (the forms
/// are offered only there; the domain checks again on each act); else the refusal page.
pub(crate) async fn issuing_type(
    conn: &mut Conn,
    (prefs, desk): (Prefs, &Desk),
    code: &str,
    department: &str,
) -> Result<(CertType, DepartmentId), Response> {
    let Some(department) = chosen_department(desk, department) else {
        return Err(refused(prefs, Some(desk), &ConsoleError::NotAllowed));
    };
    let refusal = |error| cert_refusal(prefs, desk, error);
    let cert_type = catalogue::by_code(conn, code).await.map_err(refusal)?;
    let issues_it = catalogue::issuers(conn, &cert_type.id)
        .await
        .map_err(refusal)?
        .iter()
        .any(|(issuer, _)| *issuer == department);
    if !issues_it || !desk.holds(department, Role::Issuer) {
        return Err(refusal(EcertError::Denied(
            "only the department's issuers issue its certificates".into(),
        )));
    }
    Ok((cert_type, department))
}

/// The certificates page's query.
#[derive(Deserialize, Default)]
pub struct CertificatesQuery {
    #[serde(default)]
    department: String,
    /// An identifier or a holder's number.
    #[serde(default)]
    q: String,
    /// Why (用证事由).
    #[serde(default)]
    purpose: String,
    /// The session's CSRF token: a lookup writes an access record the holder sees, so
    /// a link from another site must not make one.
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    done: String,
}

/// A department's types (the first of the person's departments unless one is named),
/// and a lookup by identifier or holder with its purpose.
#[utoipa::path(get, path = "/console/certificates", tag = "console",
    params(
        ("department" = Option<String>, Query, description = "one of the person's departments"),
        ("q" = Option<String>, Query, description = "a certificate identifier, or a holder's resident ID number or USCC"),
        ("purpose" = Option<String>, Query, description = "why the lookup is made (logged as an access the holder sees)"),
        ("csrf_token" = Option<String>, Query, description = "the session's CSRF token, with a lookup"),
    ),
    responses(
        (status = 200, description = "the types, and what the lookup found", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "no certificate role in that department, or a lookup without the session's CSRF token", content_type = "text/html"),
        (status = 422, description = "a lookup without its purpose", content_type = "text/html"),
    ))]
pub async fn certificates_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<CertificatesQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Some(department) = chosen_department(&desk, &query.department) else {
        return refused(prefs, Some(&desk), &ConsoleError::NotAllowed);
    };
    let types = match catalogue::of_department(&mut conn, department).await {
        Ok(types) => types,
        Err(error) => return cert_refusal(prefs, &desk, error),
    };
    let search = CertificateSearch {
        q: query.q.trim().to_owned(),
        purpose: query.purpose.trim().to_owned(),
    };
    let (mut found, mut message, mut status) = (None, None, StatusCode::OK);
    let csrf = sso::session_csrf(&cookie);
    if !search.q.is_empty() && !constant_time_eq(&csrf, &query.csrf_token) {
        return web::expired_form();
    }
    if !search.q.is_empty() {
        let actor = console_actor(session.subject, &session.acr);
        match find(&state, &actor, department, &search).await {
            Ok(certificates) => {
                found = Some(
                    certificates
                        .into_iter()
                        .map(|c| {
                            let mine = desk.holds(c.department_id, Role::Issuer);
                            (c, mine)
                        })
                        .collect(),
                );
            }
            Err(
                EcertError::Invalid { .. } | EcertError::Identifier(_) | EcertError::NotFound(_),
            ) => {
                message = Some(Message::error("certs-find-invalid"));
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Err(error) => return cert_refusal(prefs, &desk, error),
        }
    }
    let message = message.or(match query.done.as_str() {
        "defined" => Some(Message::news("certs-done-defined")),
        "revoke" => Some(Message::news("certs-done-revoke")),
        "suspend" => Some(Message::news("certs-done-suspend")),
        "resume" => Some(Message::news("certs-done-resume")),
        _ => None,
    });
    let posts = desk.certificate_posts();
    let departments: Vec<_> = posts.iter().map(|p| &p.department).collect();
    let page = CertificatesView {
        departments: (&departments, department.to_string()),
        types: &types,
        issues: desk.holds(department, Role::Issuer),
        defines: desk.holds(department, Role::DeptAdmin),
        search: &search,
        found,
        message,
    };
    web::no_store(view::certificates(prefs, &csrf, page, status))
}

/// A lookup for `department`: by identifier when `q` is one, by holder otherwise. The
/// accesses are logged in the lookup's own transaction.
async fn find(
    state: &AppState,
    actor: &Actor,
    department: DepartmentId,
    search: &CertificateSearch,
) -> Result<Vec<register::Certificate>, EcertError> {
    let now = Timestamp::now();
    let (q, purpose) = (search.q.as_str(), search.purpose.as_str());
    state
        .store
        .transaction(async |tx| match q.parse::<Identifier>() {
            Ok(identifier) => {
                lookup::by_identifier(tx, actor, Some(department), &identifier, purpose, now)
                    .await
                    .map(|c| vec![c])
            }
            Err(_) => lookup::by_holder(tx, actor, Some(department), q, None, purpose, now).await,
        })
        .await
}

/// The query of the issuance form.
#[derive(Deserialize, Default)]
pub struct IssueQuery {
    #[serde(default)]
    pub(crate) department: String,
}

/// A new random idempotency key for a form.
pub(crate) fn form_key() -> String {
    tongban_core::id::Uuid::new_v4().to_string()
}

/// The form to issue one certificate of a type, generated from its schema.
#[utoipa::path(get, path = "/console/certificates/issue/{code}", tag = "console",
    params(("code" = String, Path, description = "the type's code"),
        ("department" = Option<String>, Query, description = "the issuing department")),
    responses(
        (status = 200, description = "the form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of that department", content_type = "text/html"),
        (status = 404, description = "no such type", content_type = "text/html"),
    ))]
pub async fn issue_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    PageQuery(query): PageQuery<IssueQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, _, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let (cert_type, department) =
        match issuing_type(&mut conn, (prefs, &desk), &code, &query.department).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let fields = face_form::fields_of(&cert_type);
    let key = form_key();
    let csrf = sso::session_csrf(&cookie);
    let form = CertificateFormView {
        cert_type: &cert_type,
        department_id: department.to_string(),
        reissuing: None,
        holder: ("", ""),
        fields: &fields,
        typed: &|_| None,
        errors: &[],
        key: &key,
    };
    web::no_store(view::certificate_form(prefs, &csrf, form, StatusCode::OK))
}

/// The errors of a refused certificate by form field: the holder's fields, each face
/// field (its JSON Pointer's first step), or `""`.
pub(crate) fn field_errors(error: &EcertError) -> Option<Vec<(String, String)>> {
    match error {
        EcertError::Face(fields) => Some(
            fields
                .iter()
                .map(|f| {
                    let field = f
                        .pointer
                        .trim_start_matches('/')
                        .split('/')
                        .next()
                        .unwrap_or_default();
                    (
                        field.replace("~1", "/").replace("~0", "~"),
                        f.message.clone(),
                    )
                })
                .collect(),
        ),
        EcertError::Invalid { field, reason } if field.starts_with("holder.") => {
            Some(vec![((*field).to_owned(), reason.clone())])
        }
        _ => None,
    }
}

/// The request a form's idempotency key names: its fields but the CSRF token, in order.
fn form_request(form: &FieldsForm) -> String {
    let mut pairs: Vec<(&String, &String)> = form
        .0
        .iter()
        .filter(|(name, _)| name.as_str() != "csrf_token")
        .collect();
    pairs.sort();
    idempotency::request_hash(json!(pairs).to_string().as_bytes())
}

/// Issues one certificate from the generated form; a resubmission of the same form
/// (the same idempotency key) issues nothing twice.
#[utoipa::path(post, path = "/console/certificates/issue/{code}", tag = "console",
    params(("code" = String, Path, description = "the type's code")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, department, idempotency_key, holder.id_number, holder.name, face.<field>…"),
    responses(
        (status = 200, description = "issued: the certificate's identifier", content_type = "text/html"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not an issuer of that department (or below level 3), or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such type", content_type = "text/html"),
        (status = 409, description = "the type's seal is not usable, or the key was used for another form", content_type = "text/html"),
        (status = 422, description = "the form again, with each error beside its field", content_type = "text/html"),
    ))]
pub async fn console_issue_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<FieldsForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (cert_type, department) =
        match issuing_type(&mut conn, (prefs, &desk), &code, form.field("department")).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    drop(conn);
    let actor = console_actor(session.subject, &session.acr);
    let key = form.field("idempotency_key");
    if idempotency::check_key(key).is_err() {
        return crate::extract::malformed(prefs, "no idempotency key");
    }
    let new = NewCertificate {
        holder: HolderRef {
            id_number: form.field("holder.id_number").trim().to_owned(),
            name: form.field("holder.name").trim().to_owned(),
        },
        face: face_form::face_from_cells(&cert_type, |name| {
            form.0.get(&format!("face.{name}")).map(String::as_str)
        }),
    };
    let (request, now) = (form_request(&form), Timestamp::now());
    let base = state.tokens.issuer();
    let issue_once = async || {
        state
            .store
            .transaction(async |tx| {
                let label = actor.label();
                if let Some(answer) = idempotency::recall(tx, &label, key, &request).await? {
                    let identifier = answer["identifier"]
                        .as_str()
                        .unwrap_or_default()
                        .parse::<Identifier>()?;
                    return register::find(tx, &identifier).await;
                }
                let issuing =
                    Issuing::open(tx, &state.pki, &actor, &code, Some(department)).await?;
                let issued = issuing.issue(tx, base, &actor, &new, now).await?;
                let answer = json!({ "identifier": issued.identifier });
                idempotency::remember(tx, &label, key, &request, &answer, now).await?;
                Ok(issued)
            })
            .await
    };
    // A double click sends the form twice at once: the second finds the key taken when
    // it commits, and is answered from the first.
    let issued = match issue_once().await {
        Err(EcertError::Store(tongban_store::StoreError::Conflict(_))) => issue_once().await,
        other => other,
    };
    match issued {
        Ok(certificate) => web::no_store(view::certificate_issued(
            prefs,
            &certificate,
            format!("/console/certificates/issue/{code}?department={department}"),
        )),
        Err(error) => match field_errors(&error) {
            Some(errors) => {
                let csrf = sso::session_csrf(&cookie);
                let fields = face_form::fields_of(&cert_type);
                let typed = |name: &str| form.0.get(&format!("face.{name}")).cloned();
                let again = CertificateFormView {
                    cert_type: &cert_type,
                    department_id: department.to_string(),
                    reissuing: None,
                    holder: (&new.holder.id_number, &new.holder.name),
                    fields: &fields,
                    typed: &typed,
                    errors: &errors,
                    key,
                };
                web::no_store(view::certificate_form(
                    prefs,
                    &csrf,
                    again,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ))
            }
            None => cert_refusal(prefs, &desk, error),
        },
    }
}
