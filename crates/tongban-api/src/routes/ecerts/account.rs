//! The holder's certificate forms on the account page: share one, download its sealed
//! PDF.

use crate::problem::ApiError;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_ecert::catalogue::Rendition;
use tongban_ecert::holder::{self, NewShare};
use tongban_ecert::{ofd_rendition, rendition};
use tongban_identity::sso::Session;
use tongban_seal::permissions::Actor;

use super::base;

/// The share form of the account page.
#[derive(Deserialize)]
pub struct AccountShareForm {
    #[serde(default)]
    csrf_token: String,
    certificate_id: String,
    audience: String,
    purpose: String,
    days: i64,
    /// Present (any value) when the share works once only.
    single_use: Option<String>,
}

impl CsrfProtected for AccountShareForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Shares one of the signed-in person's certificates (all its face fields) from the
/// account page, and shows the link, QR code and short code to pass on.
#[utoipa::path(post, path = "/account/certificates/share", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, certificate_id, audience, purpose, days (1 to 30), single_use"),
    responses(
        (status = 400, description = "a form or query no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 201, description = "the page with the share's link, QR code and code", content_type = "text/html"),
        (status = 403, description = "no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "not one of the person's certificates", content_type = "text/html"),
        (status = 409, description = "the certificate is not in force", content_type = "text/html"),
        (status = 422, description = "a field is invalid", content_type = "text/html"),
    ))]
pub async fn account_share(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm { session, form, .. }: SessionForm<AccountShareForm>,
) -> Response {
    let now = Timestamp::now();
    let prefs = crate::routes::web::prefs(&headers, None);
    let new = NewShare {
        audience: form.audience,
        purpose: form.purpose,
        expires_in: form.days.saturating_mul(86_400),
        fields: None,
        single_use: form.single_use.is_some(),
    };
    let created = async {
        let mut tx = state.store.begin().await?;
        let created =
            holder::share(&mut tx, session.subject, &form.certificate_id, &new, now).await?;
        tx.commit().await.map_err(tongban_store::StoreError::from)?;
        let link = format!("{}/verify/c/{}", base(&state), created.token);
        let qr_svg = tongban_ecert::qr::svg(&link)?;
        Ok::<_, ApiError>((created, link, qr_svg))
    };
    match created.await {
        Ok((created, link, qr_svg)) => crate::views::shared(
            prefs,
            &crate::views::Shared {
                link: &link,
                code: &created.code,
                qr_svg: &qr_svg,
                expires_at: created.share.expires_at,
            },
        ),
        Err(error) => crate::views::refused(prefs, "/account", &error),
    }
}

/// The client a person's own requests on the account page are recorded under (seal
/// usage of a PDF rendition downloaded there).
pub(super) const ACCOUNT_PAGE: &str = "account-page";

/// The sealed PDF rendition of one of the signed-in person's certificates, from the
/// account page.
#[utoipa::path(get, path = "/account/certificates/{id}/pdf", tag = "account",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "the sealed PDF", content_type = "application/pdf", body = crate::openapi::Binary),
        (status = 403, description = "not signed in", content_type = "text/html"),
        (status = 404, description = "not one of the person's certificates", content_type = "text/html"),
        (status = 409, description = "the certificate is not in force, or its seal is suspended or revoked", content_type = "text/html"),
    ))]
pub async fn account_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    account_copy(&state, &headers, &id, Rendition::Pdf).await
}

/// A sealed rendition of one of the signed-in person's certificates, as a download; a
/// page that says why not, else.
async fn account_copy(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    kind: Rendition,
) -> Response {
    let prefs = crate::routes::web::prefs(headers, None);
    let back = format!("/account/certificates/{id}/{}", kind.name());
    let session =
        match crate::routes::session_form::signed_in(state, headers, Timestamp::now()).await {
            Ok(Some((session, _))) => session,
            Ok(None) => return crate::views::sign_in_first(prefs, &back),
            Err(response) => return response,
        };
    let (actor, holder) = (account_page_actor(&session), session.subject);
    let (store, pki, base) = (&state.store, &state.pki, base(state));
    let copy = match kind {
        Rendition::Pdf => rendition::holder_copy(store, pki, base, &actor, holder, id)
            .await
            .map(crate::routes::seals::sealing::sealed_pdf),
        Rendition::Ofd => ofd_rendition::holder_copy(store, pki, base, &actor, holder, id)
            .await
            .map(super::wallet::ofd_response),
    };
    copy.unwrap_or_else(|error| crate::views::refused(prefs, &back, &error.into()))
}

/// The sealed OFD rendition of one of the signed-in person's certificates, from the
/// account page.
#[utoipa::path(get, path = "/account/certificates/{id}/ofd", tag = "account",
    params(("id" = String, Path, description = "certificate id")),
    responses(
        (status = 200, description = "the sealed OFD document", content_type = "application/ofd", body = crate::openapi::Binary),
        (status = 403, description = "not signed in", content_type = "text/html"),
        (status = 404, description = "not one of the person's certificates", content_type = "text/html"),
        (status = 409, description = "not in force, no SM2 seal chosen for OFD copies, or its seal is suspended or revoked", content_type = "text/html"),
    ))]
pub async fn account_ofd(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    account_copy(&state, &headers, &id, Rendition::Ofd).await
}

/// The account page acting for its signed-in person.
fn account_page_actor(session: &Session) -> Actor {
    Actor::Person {
        subject: session.subject,
        client_id: ACCOUNT_PAGE.to_owned(),
        scopes: Vec::new(),
        acr: Some(session.acr.clone()),
    }
}
