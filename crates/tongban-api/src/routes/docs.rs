//! The API docs page at `/docs` (Swagger UI, its assets compiled into the binary) and the
//! OpenAPI document at `/openapi.json`.

use axum::Router;
use axum::http::{HeaderValue, header};
use serde_json::Value;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// Swagger UI sets inline styles and uses data: images, so its page needs a looser
/// style/img policy than ours; scripts still come only from this origin.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

pub(super) fn router(api: Value) -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", api)).layer(
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ),
    )
}
