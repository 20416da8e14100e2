//! The pages of personal signing: the signing certificate page under the account, and
//! `/sign/{id}`, where a person reads a signing request's documents and approves them
//! with a passkey (through `passkey.js`) or with their password and authenticator code
//! (a plain form), or declines.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_esign::approval::{self, Asking, Secrets};
use tongban_esign::certificates::{self, SIGNING_LEVEL, Why};
use tongban_esign::signing::{self, Mark};
use tongban_esign::{SignError, records, requests};
use tongban_identity::assurance::level_of_acr;
use tongban_identity::sso::Session;
use tongban_store::StoreError;

use crate::extract::ClientIp;
use crate::problem::{ApiError, ProblemType};
use crate::routes::session_form::{CsrfProtected, SessionForm, form_session, signed_in};
use crate::state::AppState;
use crate::views::esign::{self as view, CertificateView, Message, SignView};

use super::super::account::CsrfForm;
use super::super::web::{self, store_page};

/// The page for a person's error: a message id and status.
fn message_of(error: &SignError) -> (Message, StatusCode) {
    match error {
        SignError::Approval(_) => (
            Message::error("sign-approval-refused"),
            StatusCode::FORBIDDEN,
        ),
        SignError::Assurance | SignError::Denied(_) => {
            (Message::error("signing-refused"), StatusCode::FORBIDDEN)
        }
        SignError::Conflict(text) if text.contains("changed") => {
            (Message::error("sign-changed"), StatusCode::CONFLICT)
        }
        SignError::Conflict(text) if text.contains("already") => {
            (Message::error("signing-already"), StatusCode::CONFLICT)
        }
        SignError::Conflict(_) => (Message::error("sign-closed"), StatusCode::CONFLICT),
        _ => (
            Message::error("signing-refused"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

async fn certificate_page(
    state: &AppState,
    headers: &HeaderMap,
    (session, cookie): (&Session, &str),
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let prefs = web::prefs(headers, None);
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let listed = async {
        let certificates = certificates::list(&mut conn, session.subject).await?;
        let signatures = records::of_subject(&mut conn, session.subject, 50).await?;
        let requests = requests::of_signer(&mut conn, session.subject).await?;
        Ok::<_, SignError>((certificates, signatures, requests))
    };
    let (certificates, signatures, requests) = match listed.await {
        Ok(lists) => lists,
        Err(error) => return store_page(error),
    };
    let csrf = tongban_identity::sso::session_csrf(cookie);
    let view = CertificateView {
        csrf: &csrf,
        message,
        level_ok: level_of_acr(&session.acr) >= SIGNING_LEVEL,
        certificates: &certificates,
        signatures: &signatures,
        requests: &requests,
    };
    web::no_store(view::signing_certificate(prefs, &view, status))
}

/// The signing certificate page; without a session, to the account page's login.
#[utoipa::path(get, path = "/account/signing-certificate", tag = "account",
    responses(
        (status = 200, description = "what a signing certificate is; the person's certificates, requests and signatures", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
    ))]
pub async fn signing_certificate_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    match signed_in(&state, &headers, Timestamp::now()).await {
        Ok(Some((session, cookie))) => {
            certificate_page(&state, &headers, (&session, &cookie), None, StatusCode::OK).await
        }
        Ok(None) => web::see_other("/account"),
        Err(page) => page,
    }
}

/// The enrolment form.
#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf_token: String,
    /// `true` to renew the live certificate.
    #[serde(default)]
    renew: String,
    /// The person ticked that they understood.
    #[serde(default)]
    understood: String,
}

impl CsrfProtected for EnrolForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Issues (or renews) the person's signing certificate; needs a level-3 login.
#[utoipa::path(post, path = "/account/signing-certificate", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, understood=yes, renew=true|false"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "issued: the page with a notice", content_type = "text/html"),
        (status = 403, description = "the login is below level 3, or the identity is not registry-matched; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 409, description = "a live certificate exists and renew was not asked", content_type = "text/html"),
        (status = 422, description = "the person did not confirm they understood", content_type = "text/html"),
    ))]
pub async fn enrol_signing_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<EnrolForm>,
) -> Response {
    let now = Timestamp::now();
    let (message, status) = if form.understood != "yes" {
        (
            Message::error("signing-understood"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    } else {
        let who = (session.subject, session.acr.as_str());
        match certificates::enrol(&state.store, &state.pki, who, form.renew == "true", now).await {
            Ok(_) => (Message::news("signing-enrolled"), StatusCode::OK),
            Err(SignError::Store(error)) => return store_page(error),
            Err(error) => message_of(&error),
        }
    };
    certificate_page(&state, &headers, (&session, &cookie), Some(message), status).await
}

/// The revocation form.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    id: String,
    /// `lost` or `not-needed`.
    #[serde(default)]
    why: String,
}

impl CsrfProtected for RevokeForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Revokes one of the person's certificates (a new CRL is published at once).
#[utoipa::path(post, path = "/account/signing-certificate/revoke", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, id, why=lost|not-needed"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "revoked: the page with a notice", content_type = "text/html"),
        (status = 403, description = "no session, or a foreign CSRF token", content_type = "text/html"),
        (status = 409, description = "revoked already", content_type = "text/html"),
        (status = 422, description = "no reason chosen, or not the person's certificate", content_type = "text/html"),
    ))]
pub async fn revoke_signing_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<RevokeForm>,
) -> Response {
    let now = Timestamp::now();
    let (message, status) = match Why::parse(&form.why) {
        None => (
            Message::error("signing-revoke-why"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Some(why) => {
            let revoked = certificates::revoke_own(
                &state.store,
                &state.pki,
                session.subject,
                &form.id,
                why,
                now,
            );
            match revoked.await {
                Ok(_) => (Message::news("signing-revoked"), StatusCode::OK),
                Err(SignError::Store(error)) => return store_page(error),
                Err(SignError::Conflict(_)) => {
                    (Message::error("sign-closed"), StatusCode::CONFLICT)
                }
                Err(error) => message_of(&error),
            }
        }
    };
    certificate_page(&state, &headers, (&session, &cookie), Some(message), status).await
}

async fn sign_page(
    state: &AppState,
    headers: &HeaderMap,
    (session, cookie): (&Session, &str),
    id: &str,
    message: Option<(Message, StatusCode)>,
) -> Response {
    let now = Timestamp::now();
    let prefs = web::prefs(headers, None);
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let found = async {
        let request = requests::for_signer(&mut conn, session.subject, id).await?;
        let certified = certificates::current(&mut conn, session.subject, now)
            .await?
            .is_some();
        let passkeys = state.passkeys.available()
            && tongban_identity::passkeys::has_passkey(&mut conn, session.subject)
                .await
                .map_err(SignError::from)?;
        Ok::<_, SignError>((request, certified, passkeys))
    };
    let (request, certified, passkeys) = match found.await {
        Ok(found) => found,
        Err(SignError::NotFound(_)) => {
            return crate::views::error(
                prefs,
                StatusCode::NOT_FOUND,
                crate::views::ErrorPage::NotFound,
            );
        }
        Err(error) => return store_page(error),
    };
    let csrf = tongban_identity::sso::session_csrf(cookie);
    let (message, status) = match message {
        Some((m, status)) => (Some(m), status),
        None => (None, StatusCode::OK),
    };
    let view = SignView {
        csrf: &csrf,
        message,
        request: &request,
        certified,
        passkeys,
    };
    web::no_store(view::sign_request(prefs, &view, status))
}

/// A signing request's page for the person asked to sign it.
#[utoipa::path(get, path = "/sign/{id}", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    responses(
        (status = 200, description = "the request: requester, purpose, documents, and the approval forms", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in and lists the request"),
        (status = 404, description = "no such request for this person", content_type = "text/html"),
    ))]
pub async fn sign_page_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match signed_in(&state, &headers, Timestamp::now()).await {
        Ok(Some((session, cookie))) => {
            sign_page(&state, &headers, (&session, &cookie), &id, None).await
        }
        Ok(None) => web::see_other("/account/signing-certificate"),
        Err(page) => page,
    }
}

/// A document of a request, for the person asked to sign it (the signed one, once
/// signed).
#[utoipa::path(get, path = "/sign/{id}/documents/{position}", tag = "signing",
    params(("id" = String, Path, description = "request id"), ("position" = i64, Path, description = "document, from 1")),
    responses(
        (status = 200, description = "the PDF", content_type = "application/pdf"),
        (status = 403, description = "not signed in", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such document for this person, or no longer kept", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, position)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let Ok(Some((session, _))) = signed_in(&state, &headers, Timestamp::now()).await else {
        return Err(ApiError::new(ProblemType::Forbidden, "sign in first"));
    };
    let mut conn = state.store.conn().await?;
    let (info, pdf) =
        requests::document_for_signer(&mut conn, session.subject, &id, position).await?;
    let disposition = format!("attachment; filename=\"document-{}.pdf\"", info.position);
    Ok(web::no_store(
        (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            pdf,
        )
            .into_response(),
    ))
}

async fn asking_parts(
    state: &AppState,
    session: &Session,
    id: &str,
    now: Timestamp,
) -> Result<(certificates::SigningCertificate, Vec<[u8; 32]>), SignError> {
    let mut conn = state.store.conn().await?;
    let request = requests::for_signer(&mut conn, session.subject, id).await?;
    if !request.open(now) {
        return Err(SignError::Conflict("the request is closed".into()));
    }
    let certificate = certificates::current(&mut conn, session.subject, now)
        .await?
        .ok_or_else(|| SignError::Conflict("no signing certificate".into()))?;
    Ok((certificate, request.digests()?))
}

/// Options of a passkey approval whose challenge commits to the request's documents.
#[utoipa::path(post, path = "/sign/{id}/passkey/options", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token of the signing page"),
    responses(
        (status = 200, description = "`ceremony` (the approval) and WebAuthn `publicKey` request options; the challenge is the SHA-256 of the commitment to signer, request, documents, time and nonce", body = Object),
        (status = 403, description = "no session, a foreign CSRF token, or no passkey", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is closed, or the person holds no signing certificate", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_passkey_options(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let (session, _) = form_session(&state, &headers, form.csrf_token(), now)
        .await
        .map_err(|_| ApiError::new(ProblemType::Forbidden, "sign in again"))?;
    let (certificate, digests) = asking_parts(&state, &session, &id, now).await?;
    let asking = Asking {
        subject: session.subject,
        certificate: &certificate,
        request: &id,
        documents: &digests,
    };
    let mut conn = state.store.conn().await?;
    let begun = approval::begin_passkey(&mut conn, &state.passkeys, &asking, now).await?;
    let options =
        serde_json::json!({ "ceremony": begun.approval, "publicKey": begun.options.public_key });
    Ok(web::no_store(axum::Json(options).into_response()))
}

/// The passkey's answer, posted by `passkey.js`.
#[derive(Deserialize)]
pub struct ApprovalForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

impl CsrfProtected for ApprovalForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Verifies the passkey's approval and signs the documents.
#[utoipa::path(post, path = "/sign/{id}/passkey", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, ceremony, credential (the PublicKeyCredential as JSON)"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "signed: the page with a notice", content_type = "text/html"),
        (status = 403, description = "the approval did not verify, is spent, or is for other documents; or no session", content_type = "text/html"),
        (status = 409, description = "the request is closed, or a document changed", content_type = "text/html"),
    ))]
pub async fn sign_with_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ApprovalForm>,
) -> Response {
    let now = Timestamp::now();
    let outcome = async {
        let mut conn = state.store.conn().await?;
        let approval_id = form.ceremony.as_str();
        approval::confirm_passkey(
            &mut conn,
            &state.passkeys,
            session.subject,
            approval_id,
            &form.credential,
            now,
        )
        .await?;
        drop(conn);
        let ids = (id.as_str(), approval_id);
        signing::sign_request(
            &state.store,
            &state.pki,
            session.subject,
            ids,
            Mark::Typed,
            now,
        )
        .await
    };
    let message = signed_message(outcome.await);
    sign_page(&state, &headers, (&session, &cookie), &id, Some(message)).await
}

fn signed_message(outcome: Result<requests::SigningRequest, SignError>) -> (Message, StatusCode) {
    match outcome {
        Ok(_) => (Message::news("sign-done"), StatusCode::OK),
        Err(error) => {
            tracing::info!(%error, "signing refused");
            message_of(&error)
        }
    }
}

/// The signing page's form: sign with password and code, or decline.
#[derive(Deserialize)]
pub struct SignForm {
    #[serde(default)]
    csrf_token: String,
    /// `sign` or `decline`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
}

impl CsrfProtected for SignForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Signs with the person's password and authenticator code, or declines.
#[utoipa::path(post, path = "/sign/{id}", tag = "signing",
    params(("id" = String, Path, description = "request id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, action=sign with password and code, or action=decline with reason"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "signed or declined: the page with a notice", content_type = "text/html"),
        (status = 403, description = "wrong password or code (throttled like a login), or no session", content_type = "text/html"),
        (status = 409, description = "the request is closed, or a document changed", content_type = "text/html"),
        (status = 422, description = "no reason given to decline, or an unknown action", content_type = "text/html"),
    ))]
pub async fn sign_or_decline(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(client_ip): ClientIp,
    Path(id): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<SignForm>,
) -> Response {
    let now = Timestamp::now();
    let message = match form.action.as_str() {
        "decline" => {
            match requests::decline(&state.store, session.subject, &id, &form.reason, now).await {
                Ok(_) => (Message::news("sign-declined"), StatusCode::OK),
                Err(SignError::Invalid { .. }) => (
                    Message::error("sign-decline-reason"),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(error) => message_of(&error),
            }
        }
        "sign" => {
            let secrets = Secrets {
                password: &form.password,
                code: &form.code,
                client_ip,
            };
            signed_message(sign_with_secrets(&state, &session, &id, &secrets, now).await)
        }
        _ => (
            Message::error("signing-refused"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    sign_page(&state, &headers, (&session, &cookie), &id, Some(message)).await
}

async fn sign_with_secrets(
    state: &AppState,
    session: &Session,
    id: &str,
    secrets: &Secrets<'_>,
    now: Timestamp,
) -> Result<requests::SigningRequest, SignError> {
    let (certificate, digests) = asking_parts(state, session, id, now).await?;
    let asking = Asking {
        subject: session.subject,
        certificate: &certificate,
        request: id,
        documents: &digests,
    };
    let mut tx = state.store.begin().await?;
    let keys = (&state.passwords, state.totp.as_ref());
    let approved = approval::approve_with_secrets(&mut tx, keys, &asking, secrets, now).await;
    // Wrong secrets count towards throttling: commit either way.
    tx.commit().await.map_err(StoreError::from)?;
    let approval_id = approved?;
    let ids = (id, approval_id.as_str());
    signing::sign_request(
        &state.store,
        &state.pki,
        session.subject,
        ids,
        Mark::Typed,
        now,
    )
    .await
}
