//! A form posted by a signed-in person from their account pages: the session of the
//! browser's cookie, and a CSRF token (`csrf_token`, derived from that cookie) that
//! belongs to it. Without either the answer is the "form expired" page; a form no page
//! of ours sends gets the malformed-request page.

use axum::extract::{FromRequest, Request};
use axum::response::Response;
use serde::de::DeserializeOwned;
use tongban_core::time::Timestamp;
use tongban_identity::secrets::constant_time_eq;
use tongban_identity::sso::{self, Session};

use crate::extract::PageForm;
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
        let Some(session_cookie) = cookie(req.headers(), SESSION_COOKIE) else {
            return Err(web::expired_form());
        };
        let PageForm(form) = PageForm::<T>::from_request(req, state).await?;
        let mut conn = state.store.conn().await.map_err(store_page)?;
        let session = sso::session_from_cookie(&mut conn, &session_cookie, Timestamp::now())
            .await
            .map_err(store_page)?;
        match session {
            Some(session)
                if constant_time_eq(&sso::session_csrf(&session_cookie), form.csrf_token()) =>
            {
                Ok(Self {
                    session,
                    cookie: session_cookie,
                    form,
                })
            }
            _ => Err(web::expired_form()),
        }
    }
}
