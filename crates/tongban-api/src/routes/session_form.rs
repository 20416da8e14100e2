//! A form posted by a signed-in person from their account pages: the session of the
//! browser's cookie, and a CSRF token (`csrf_token`, derived from that cookie) that
//! belongs to it. Without either the answer is the "form expired" page; a form no page
//! of ours sends gets the malformed-request page.

use axum::extract::{FromRequest, Request};
use axum::response::Response;
use serde::de::DeserializeOwned;
use tongban_core::time::Timestamp;
use tongban_identity::sso::Session;

use crate::extract::PageForm;
use crate::state::AppState;

use super::account::form_session;

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
