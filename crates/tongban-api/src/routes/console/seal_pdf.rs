//! Sealing a PDF in the console, for those granted the seal: the document uploaded,
//! the page, and the spot on it chosen by name (bottom right, top centre, …) or put
//! where the user wants it on the page's preview (`seal-place.js`, which sends x and
//! y in PDF points), the purpose the grant may ask for; the sealed PDF (PAdES B-T)
//! comes back as a download.
//! The right, the purpose and the usage log are the seal domain's, as for the API.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tongban_identity::sso;
use tongban_seal::SealError;
use tongban_seal::once::Once;
use tongban_seal::pdf::{Anchor, Anchored, Placement, Position};
use tongban_seal::pdf_sealing;
use tongban_seal::permissions::Actor;
use tongban_seal::registry::{self, SealId};
use tongban_seal::sign::{Authority, Format};
use tongban_seal::{image, registry::Seal};
use tongban_store::PooledConn;

use super::seals::{SealPath, seal_refusal};
use super::{form_desk, open_desk};
use crate::prefs::Prefs;
use crate::routes::session_form::SessionUpload;
use crate::routes::web;
use crate::state::AppState;
use crate::views::console::{self as view, SealPdfForm};

/// The size a console seal stamps at: the API's default, 120 points (42.3 mm).
const STAMP_POINTS: f32 = 120.0;

fn form_page(
    prefs: Prefs,
    (csrf, seal, has_image): (&str, &Seal, bool),
    typed: &SealPdfForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    web::no_store(view::seal_pdf_form(
        prefs,
        (csrf, seal, has_image),
        (typed, STAMP_POINTS),
        error,
        status,
    ))
}

/// Where the form asks for the seal: a named spot, or (`anchor=placed`) the lower-left
/// corner the preview sent.
fn position_of(typed: &SealPdfForm) -> Option<Position> {
    let page = typed.page.parse::<u32>().ok()?;
    if typed.anchor == "placed" {
        let x = typed.x.trim().parse::<f32>().ok()?;
        let y = typed.y.trim().parse::<f32>().ok()?;
        return Some(Position::One(Placement {
            page,
            x,
            y,
            size: STAMP_POINTS,
        }));
    }
    Some(Position::Anchored(Anchored {
        page,
        anchor: Anchor::parse(&typed.anchor)?,
        size: STAMP_POINTS,
    }))
}

/// The seal, if the actor may see it, and whether it has an image for the preview.
async fn seal_with_image(
    conn: &mut PooledConn,
    actor: &Actor,
    seal_id: SealId,
) -> Result<(Seal, bool), SealError> {
    let seal = registry::visible(conn, actor, seal_id).await?;
    let has_image = image::uploaded(conn, seal_id).await?;
    Ok((seal, has_image))
}

/// The form to seal a PDF with this seal.
#[utoipa::path(get, path = "/console/seals/{id}/pdf", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    responses(
        (status = 200, description = "the form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not of the seal's department", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
    ))]
pub async fn seal_pdf_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = Actor::console(session.subject, &session.acr);
    let (seal, has_image) = match seal_with_image(&mut conn, &actor, seal_id).await {
        Ok(found) => found,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let typed = SealPdfForm::default();
    let csrf = sso::session_csrf(&cookie);
    form_page(
        prefs,
        (&csrf, &seal, has_image),
        &typed,
        None,
        StatusCode::OK,
    )
}

/// Seals the uploaded PDF at the page and spot chosen; answers the sealed PDF.
#[utoipa::path(post, path = "/console/seals/{id}/pdf", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    request_body(content_type = "multipart/form-data", description = "csrf_token, pdf: the document, page (from 1), anchor=top-left|top|top-right|left|centre|right|bottom-left|bottom|bottom-right, or anchor=placed with x and y (the seal's lower-left corner in PDF points, as the preview puts it), purpose, reason"),
    responses(
        (status = 200, description = "the sealed PDF, as a download", content_type = "application/pdf"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "no grant of the seal (or below level 3), or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
        (status = 409, description = "the seal is suspended, revoked or expired, or an SM2 seal", content_type = "text/html"),
        (status = 413, description = "over http.document_limit_bytes: a page saying the file is too large", content_type = "text/html"),
        (status = 422, description = "no PDF, one we cannot seal, no such page, or no purpose where the grant asks for one: the form again, saying why", content_type = "text/html"),
    ))]
pub async fn console_seal_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
    SessionUpload {
        session,
        cookie,
        upload,
    }: SessionUpload,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let actor = Actor::console(session.subject, &session.acr);
    let (seal, has_image) = match seal_with_image(&mut conn, &actor, seal_id).await {
        Ok(found) => found,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    drop(conn);
    let typed = SealPdfForm {
        page: upload.field("page").trim().to_owned(),
        anchor: upload.field("anchor").to_owned(),
        purpose: upload.field("purpose").trim().to_owned(),
        reason: upload.field("reason").trim().to_owned(),
        x: upload.field("x").trim().to_owned(),
        y: upload.field("y").trim().to_owned(),
        once: upload.field("once").trim().to_owned(),
    };
    let csrf = sso::session_csrf(&cookie);
    let again = |error: String| {
        form_page(
            prefs,
            (&csrf, &seal, has_image),
            &typed,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(position) = position_of(&typed) else {
        return again("page, anchor: choose a page number and a spot".into());
    };
    let pdf = upload.files.get("pdf").cloned().unwrap_or_default();
    if pdf.is_empty() {
        return again("pdf: choose the PDF file to seal".into());
    }
    let purpose = (!typed.purpose.is_empty()).then_some(typed.purpose.as_str());
    let checked = match pdf_sealing::check_pdf(
        &state.store,
        &actor,
        (seal_id, Format::Pades),
        purpose,
        Authority::Grant,
    )
    .await
    {
        Ok(checked) => checked,
        Err(error @ SealError::Invalid { .. }) => return again(error.to_string()),
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let reason = (!typed.reason.is_empty()).then(|| typed.reason.clone());
    // The same form sent again as it was (a double click, a resent request) seals once
    // and gets the same document. The key is the rendering's own and what it sends, the
    // document included, so changing a field or the file and sending again from the
    // same page is another sealing, not a conflict. A form from before forms had keys
    // seals as it did.
    let fields = [
        typed.page.as_str(),
        &typed.anchor,
        &typed.x,
        &typed.y,
        &typed.purpose,
        &typed.reason,
    ]
    .map(str::as_bytes);
    let document = tongban_crypto::cms::sha256(&pdf);
    let parts = [
        &[b"console/pades".as_slice()],
        &fields[..],
        &[document.as_slice()],
    ]
    .concat();
    let once = match typed.once.as_str() {
        "" => None,
        rendering => {
            let mut sent = tongban_crypto::cms::Sha256::new();
            for part in &parts {
                sent.update(&(part.len() as u64).to_be_bytes());
                sent.update(part);
            }
            let sent = tongban_crypto::ca::hex(&sent.finish());
            match Once::new(&format!("{rendering}-{sent}"), &parts) {
                Ok(once) => Some(once),
                Err(error) => return again(error.to_string()),
            }
        }
    };
    let sealed = pdf_sealing::seal_pdf(
        &state.store,
        &state.pki,
        checked,
        pdf.into(),
        position,
        (reason, None),
        once.as_ref(),
    )
    .await;
    match sealed {
        Ok(sealed) => {
            let mut response = crate::routes::seals::sealing::sealed_pdf(sealed);
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"sealed.pdf\""),
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error @ SealError::Invalid { .. }) => again(error.to_string()),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}
