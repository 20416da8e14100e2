//! A found certificate's changes in the console, for an issuer of its department:
//! suspended, resumed or revoked after a confirmation with the reason, or re-issued
//! from a form filled with its own face data. Through the e-certificate domain's
//! functions and checks, as the API's.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_ecert::EcertError;
use tongban_ecert::catalogue::{self, CertType};
use tongban_ecert::face_form;
use tongban_ecert::identifier::Identifier;
use tongban_ecert::permissions::console_actor;
use tongban_ecert::register::{self, Certificate, Change};
use tongban_identity::sso;
use tongban_seal::permissions::Actor;
use tongban_store::Conn;

use super::certificates::{cert_refusal, field_errors};
use super::{form_desk, open_desk};
use crate::routes::session_form::{CsrfProtected, FieldsForm, SessionForm};
use crate::routes::web;
use crate::state::AppState;
use crate::views::console::{self as view, CertificateFormView};

/// A certificate for an issuer of its department, with its type.
async fn issued_with_type(
    conn: &mut Conn,
    actor: &Actor,
    identifier: &Identifier,
) -> Result<(Certificate, CertType), EcertError> {
    let certificate = register::for_issuer(conn, actor, identifier).await?;
    let cert_type = catalogue::by_code(conn, &certificate.type_code).await?;
    Ok((certificate, cert_type))
}

/// A status change, as posted: first without `confirm` (the confirmation page asks
/// for the reason), then with it.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

impl CsrfProtected for StatusForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Suspends, resumes or revokes a certificate of the person's department, after a
/// confirmation that asks for the reason.
#[utoipa::path(post, path = "/console/certificates/{identifier}/status", tag = "console",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, change=suspend|resume|revoke, reason, confirm=yes"),
    responses(
        (status = 200, description = "the confirmation, asking for the reason", content_type = "text/html"),
        (status = 303, description = "changed: to the certificates page"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not an issuer of its department (or below level 3), or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such certificate", content_type = "text/html"),
        (status = 409, description = "the change does not apply to its status", content_type = "text/html"),
        (status = 422, description = "no reason given, or not an identifier: the confirmation again", content_type = "text/html"),
    ))]
pub async fn console_certificate_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(text): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<StatusForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let change = match form.change.as_str() {
        "suspend" => Change::Suspend,
        "resume" => Change::Resume,
        "revoke" => Change::Revoke,
        _ => return crate::extract::malformed(prefs, "change: suspend, resume or revoke"),
    };
    let identifier = match text.parse::<Identifier>() {
        Ok(identifier) => identifier,
        Err(error) => return cert_refusal(prefs, &desk, error.into()),
    };
    let actor = console_actor(session.subject, &session.acr);
    // The confirmation names the holder only to an issuer of the department.
    let certificate = match register::for_issuer(&mut conn, &actor, &identifier).await {
        Ok(certificate) => certificate,
        Err(error) => return cert_refusal(prefs, &desk, error),
    };
    drop(conn);
    let reason = form.reason.trim();
    let back = "/console/certificates";
    if form.confirm != "yes" || (change != Change::Resume && reason.is_empty()) {
        let csrf = sso::session_csrf(&cookie);
        let error = form.confirm == "yes";
        return web::no_store(view::confirm_certificate_change(
            prefs,
            &csrf,
            (&certificate, &form.change),
            back,
            error,
        ));
    }
    let now = Timestamp::now();
    let reason = (!reason.is_empty()).then_some(reason);
    let changed = state
        .store
        .transaction(async |tx| {
            register::change_status(
                tx,
                state.store.changes(),
                &actor,
                &identifier,
                change,
                reason,
                now,
            )
            .await
        })
        .await;
    match changed {
        Ok(_) => web::see_other(&format!(
            "/console/certificates?department={}&done={}",
            certificate.department_id, form.change
        )),
        Err(error) => cert_refusal(prefs, &desk, error),
    }
}

/// The face of a certificate as the form's typed values.
fn typed_face(face: &Value, name: &str) -> Option<String> {
    match face.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The form to re-issue a certificate with changed face data, filled with its own.
#[utoipa::path(get, path = "/console/certificates/{identifier}/reissue", tag = "console",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    responses(
        (status = 200, description = "the form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not an issuer of its department", content_type = "text/html"),
        (status = 404, description = "no such certificate", content_type = "text/html"),
        (status = 422, description = "not an identifier", content_type = "text/html"),
    ))]
pub async fn reissue_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(text): Path<String>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let identifier = match text.parse::<Identifier>() {
        Ok(identifier) => identifier,
        Err(error) => return cert_refusal(prefs, &desk, error.into()),
    };
    let actor = console_actor(session.subject, &session.acr);
    let found = issued_with_type(&mut conn, &actor, &identifier).await;
    let (certificate, cert_type) = match found {
        Ok(found) => found,
        Err(error) => return cert_refusal(prefs, &desk, error),
    };
    let fields = face_form::fields_of(&cert_type);
    let csrf = sso::session_csrf(&cookie);
    let typed = |name: &str| typed_face(&certificate.face, name);
    let form = CertificateFormView {
        cert_type: &cert_type,
        department_id: certificate.department_id.to_string(),
        reissuing: Some(&certificate.identifier),
        holder: ("", ""),
        fields: &fields,
        typed: &typed,
        errors: &[],
        key: "",
    };
    web::no_store(view::certificate_form(prefs, &csrf, form, StatusCode::OK))
}

/// Re-issues a certificate with the face data typed: the new version supersedes it.
#[utoipa::path(post, path = "/console/certificates/{identifier}/reissue", tag = "console",
    params(("identifier" = String, Path, description = "GB/T 36904 identifier")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, face.<field>…"),
    responses(
        (status = 200, description = "re-issued: the new version's identifier", content_type = "text/html"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not an issuer of its department (or below level 3), or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such certificate", content_type = "text/html"),
        (status = 409, description = "revoked or already superseded", content_type = "text/html"),
        (status = 422, description = "the form again, with each error beside its field", content_type = "text/html"),
    ))]
pub async fn console_reissue_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(text): Path<String>,
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
    let identifier = match text.parse::<Identifier>() {
        Ok(identifier) => identifier,
        Err(error) => return cert_refusal(prefs, &desk, error.into()),
    };
    let actor = console_actor(session.subject, &session.acr);
    let found = issued_with_type(&mut conn, &actor, &identifier).await;
    let (old, cert_type) = match found {
        Ok(found) => found,
        Err(error) => return cert_refusal(prefs, &desk, error),
    };
    drop(conn);
    let face = face_form::face_from_cells(&cert_type, |name| {
        form.0.get(&format!("face.{name}")).map(String::as_str)
    });
    let now = Timestamp::now();
    let base = state.tokens.issuer();
    let reissued = state
        .store
        .transaction(async |tx| {
            register::reissue(
                tx,
                state.store.changes(),
                &state.pki,
                base,
                &actor,
                &identifier,
                face,
                now,
            )
            .await
        })
        .await;
    match reissued {
        Ok(certificate) => web::no_store(view::certificate_issued(
            prefs,
            &certificate,
            format!(
                "/console/certificates/issue/{}?department={}",
                certificate.type_code, certificate.department_id
            ),
        )),
        Err(error) => match field_errors(&error) {
            Some(errors) => {
                let csrf = sso::session_csrf(&cookie);
                let fields = face_form::fields_of(&cert_type);
                let typed = |name: &str| form.0.get(&format!("face.{name}")).cloned();
                let again = CertificateFormView {
                    cert_type: &cert_type,
                    department_id: old.department_id.to_string(),
                    reissuing: Some(&old.identifier),
                    holder: ("", ""),
                    fields: &fields,
                    typed: &typed,
                    errors: &errors,
                    key: "",
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
