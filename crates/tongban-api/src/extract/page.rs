//! Form bodies and query strings of the pages for people. A browser sends every field
//! of a form we rendered, so a failure here is a hand-made request; it still gets a page
//! (400, in the person's language), as the OpenAPI document says, not problem+json.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::views::{self, ErrorPage, Prefs};

/// A form body (`application/x-www-form-urlencoded`) of a page.
#[derive(Debug, Clone)]
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let prefs = Prefs::from_headers(req.headers(), None);
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(form)) => Ok(Self(form)),
            Err(rejection) => Err(malformed(prefs, &rejection.body_text())),
        }
    }
}

/// The query string of a page.
#[derive(Debug, Clone)]
pub struct PageQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for PageQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(query)) => Ok(Self(query)),
            Err(rejection) => Err(malformed(
                Prefs::from_headers(&parts.headers, None),
                &rejection.body_text(),
            )),
        }
    }
}

fn malformed(prefs: Prefs, why: &str) -> Response {
    tracing::info!(why, "malformed page request");
    views::error(prefs, StatusCode::BAD_REQUEST, ErrorPage::MalformedRequest)
}
