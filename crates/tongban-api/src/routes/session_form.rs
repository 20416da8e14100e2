//! A form posted by a signed-in person from their account pages: the session of the
//! browser's cookie, and a CSRF token (`csrf_token`, derived from that cookie) that
//! belongs to it. Without either the answer is the "form expired" page; a form no page
//! of ours sends gets the malformed-request page. The pages a signed-in person opens
//! find their session here too ([`signed_in`]).

use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::de::DeserializeOwned;
use tongban_core::time::Timestamp;
use tongban_identity::secrets::constant_time_eq;
use tongban_identity::sso::{self, Session};

use crate::extract::{PageForm, PageUpload};
use crate::state::AppState;

use super::web::{self, SESSION_COOKIE, cookie, store_page};

/// A form that carries the session's CSRF token.
pub(crate) trait CsrfProtected {
    /// The form's `csrf_token` field.
    fn csrf_token(&self) -> &str;
}

/// A form of a signed-in person, its session checked.
pub(crate) struct SessionForm<T> {
    /// The browser's session.
    pub session: Session,
    /// The session cookie's value.
    pub cookie: String,
    /// The form's fields.
    pub form: T,
}

impl<T> FromRequest<AppState> for SessionForm<T>
where
    T: DeserializeOwned + CsrfProtected + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let PageForm(form) = PageForm::<T>::from_request(req, state).await?;
        let (session, cookie) =
            form_session(state, &headers, form.csrf_token(), Timestamp::now()).await?;
        Ok(Self {
            session,
            cookie,
            form,
        })
    }
}

/// A form whose fields a page generates (a certificate type's face fields, the field
/// editor's rows): every field by name.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct FieldsForm(pub std::collections::HashMap<String, String>);

impl FieldsForm {
    /// The field `name`, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl CsrfProtected for FieldsForm {
    fn csrf_token(&self) -> &str {
        self.field("csrf_token")
    }
}

/// A form with files of a signed-in person, its session checked as [`SessionForm`]'s.
pub(crate) struct SessionUpload {
    /// The browser's session.
    pub session: Session,
    /// The session cookie's value.
    pub cookie: String,
    /// The form's fields and files.
    pub upload: PageUpload,
}

impl FromRequest<AppState> for SessionUpload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // The session first: a body of up to the document limit is read only for
        // someone signed in, never buffered for anyone who sends one.
        if signed_in(state, req.headers(), Timestamp::now())
            .await?
            .is_none()
        {
            return Err(web::expired_form());
        }
        let headers = req.headers().clone();
        let upload = PageUpload::from_request(req, state).await?;
        // Again after the body: a session ended during a long upload does not count.
        let (session, cookie) = form_session(
            state,
            &headers,
            upload.field("csrf_token"),
            Timestamp::now(),
        )
        .await?;
        Ok(Self {
            session,
            cookie,
            upload,
        })
    }
}

/// The live session of this browser and its cookie.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Option<(Session, String)>, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let mut conn = state.store.conn().await.map_err(store_page)?;
    let session = sso::session_from_cookie(&mut conn, &token, now)
        .await
        .map_err(store_page)?;
    Ok(session.map(|s| (s, token)))
}

/// The session of a form post whose CSRF token matches it.
pub(crate) async fn form_session(
    state: &AppState,
    headers: &HeaderMap,
    csrf_token: &str,
    now: Timestamp,
) -> Result<(Session, String), Response> {
    match signed_in(state, headers, now).await? {
        Some((session, token)) if csrf_matches(&token, csrf_token) => Ok((session, token)),
        _ => Err(web::expired_form()),
    }
}

/// Whether a form's CSRF token is the one of the session whose cookie is `cookie`.
fn csrf_matches(cookie: &str, csrf_token: &str) -> bool {
    constant_time_eq(&sso::session_csrf(cookie), csrf_token)
}
