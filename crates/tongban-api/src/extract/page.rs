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

/// A form with files (`multipart/form-data`) of a page: its text fields and its files,
/// each by name (a name sent twice keeps the last).
#[derive(Debug, Clone, Default)]
pub struct PageUpload {
    /// Text fields.
    pub fields: std::collections::HashMap<String, String>,
    /// Files, as sent.
    pub files: std::collections::HashMap<String, Vec<u8>>,
}

impl PageUpload {
    /// The text field `name`, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

impl<S> FromRequest<S> for PageUpload
where
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let prefs = Prefs::from_headers(req.headers(), None);
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|rejection| {
                refused_upload(prefs, rejection.status(), &rejection.body_text())
            })?;
        let mut upload = Self::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return Ok(upload),
                Err(error) => {
                    return Err(refused_upload(prefs, error.status(), &error.body_text()));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            let is_file = field.file_name().is_some();
            let bytes = field
                .bytes()
                .await
                .map_err(|error| refused_upload(prefs, error.status(), &error.body_text()))?;
            if is_file {
                upload.files.insert(name, bytes.to_vec());
            } else {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| malformed(prefs, "a text field that is not UTF-8"))?;
                upload.fields.insert(name, text);
            }
        }
    }
}

/// The page for an upload that could not be read: too large (413, saying so), or
/// malformed.
fn refused_upload(prefs: Prefs, status: StatusCode, why: &str) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        tracing::info!(why, "page upload over the limit");
        return views::error(prefs, status, ErrorPage::TooLarge);
    }
    malformed(prefs, why)
}

/// The page for a request no page of ours sends (400), logged with why.
pub(crate) fn malformed(prefs: Prefs, why: &str) -> Response {
    tracing::info!(why, "malformed page request");
    views::error(prefs, StatusCode::BAD_REQUEST, ErrorPage::MalformedRequest)
}
