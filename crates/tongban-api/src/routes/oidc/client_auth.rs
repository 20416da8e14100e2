//! Client authentication at the token, introspection and revocation endpoints:
//! client_secret_basic/post and private_key_jwt (RFC 7523), or none for public clients.

use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;
use axum::extract::{FromRequest, RawForm, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tongban_core::time::Timestamp;
use tongban_identity::client_auth;
use tongban_identity::clients::{self, Client};

use super::{internal, oauth_error};

/// Client authentication fields of a form (RFC 6749 §2.3.1, RFC 7523 §2.2).
#[derive(Deserialize, Default)]
pub struct ClientAuthForm {
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_assertion_type: Option<String>,
    pub(super) client_assertion: Option<String>,
}

/// client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded).
pub(super) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()?
            .pop()
            .map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// How a caller identified itself.
pub(super) enum Presented {
    /// client_secret_basic or client_secret_post.
    Secret(String, String),
    /// A public client: its id alone.
    IdOnly(String),
    /// private_key_jwt.
    Assertion(String, Option<String>),
}

/// What the caller presented: HTTP Basic, a client assertion, or form fields.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP answer, returned at once"
)]
pub(super) fn presented(headers: &HeaderMap, form: &ClientAuthForm) -> Result<Presented, Response> {
    if let Some((id, secret)) = basic_credentials(headers) {
        return Ok(Presented::Secret(id, secret));
    }
    match (&form.client_assertion_type, &form.client_assertion) {
        (Some(kind), Some(assertion)) if kind == client_auth::ASSERTION_TYPE => {
            return Ok(Presented::Assertion(
                assertion.clone(),
                form.client_id.clone(),
            ));
        }
        (None, None) => {}
        _ => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unsupported client_assertion_type",
            ));
        }
    }
    match (&form.client_id, &form.client_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Secret(id.clone(), secret.clone())),
        (Some(id), None) => Ok(Presented::IdOnly(id.clone())),
        (None, _) => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        )),
    }
}

/// Checks a looked-up client against the presented secret (none for public clients).
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP answer, returned at once"
)]
pub(super) fn check_client(
    found: Result<Option<Client>, clients::ClientError>,
    secret: Option<&str>,
    now: Timestamp,
) -> Result<Client, Response> {
    let client = match found {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client",
            ));
        }
        Err(error) => return Err(internal(error)),
    };
    let authenticated = match (secret, client.confidential) {
        (Some(secret), true) => client.secret_matches(secret, now),
        (None, false) => true,
        _ => false,
    };
    if authenticated {
        Ok(client)
    } else {
        Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ))
    }
}

/// Checks a client assertion for a call to `endpoint` (`/token`, `/introspect`, …).
pub(super) async fn check_assertion(
    state: &AppState,
    conn: &mut tongban_store::Conn,
    assertion: &str,
    client_id: Option<&str>,
    endpoint: &str,
) -> Result<Client, Response> {
    let issuer = state.tokens.issuer();
    let endpoint_url = format!("{issuer}{endpoint}");
    let audiences = [issuer, endpoint_url.as_str()];
    match client_auth::authenticate(conn, assertion, client_id, &audiences, Timestamp::now()).await
    {
        Ok(client) => Ok(client),
        Err(client_auth::AssertionError::Invalid(why)) => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &why,
        )),
        Err(client_auth::AssertionError::Store(error)) => {
            Err(ApiError::from(error).into_response())
        }
    }
}

/// Authenticates the calling client of `endpoint`. Call it before taking a connection
/// or opening a transaction: a cache miss and an assertion's jti each take their own
/// connection, and holding one while waiting for another starves the pool.
pub(super) async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &ClientAuthForm,
    endpoint: &str,
) -> Result<Client, Response> {
    // Secrets are checked against the 5-second client cache; a secret it refuses is
    // checked again against the store, since it may be the new one of a rotation this
    // instance has not seen yet.
    let now = Timestamp::now();
    match presented(headers, form)? {
        Presented::Secret(id, secret) => {
            match check_client(state.clients.find(&id).await, Some(&secret), now) {
                Ok(client) => Ok(client),
                Err(_) => check_client(state.clients.fresh(&id).await, Some(&secret), now),
            }
        }
        Presented::IdOnly(id) => check_client(state.clients.find(&id).await, None, now),
        Presented::Assertion(assertion, id) => match state.store.conn().await {
            Ok(mut conn) => {
                check_assertion(state, &mut conn, &assertion, id.as_deref(), endpoint).await
            }
            Err(error) => Err(ApiError::from(error).into_response()),
        },
    }
}

/// A client's call to an OAuth endpoint: its form, and the client it authenticated as
/// (HTTP Basic, a form secret, `private_key_jwt`, or a public client's id alone).
/// Authenticated before the handler takes a connection (see [`authenticate_client`]);
/// a failure is the endpoint's OAuth error.
pub struct ClientCall<T> {
    pub(super) client: Client,
    pub(super) form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ClientCall<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let endpoint = req.uri().path().to_owned();
        let headers = req.headers().clone();
        let RawForm(body) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let malformed = |error: serde_urlencoded::de::Error| {
            let kind = ProblemType::for_status(StatusCode::UNPROCESSABLE_ENTITY);
            ApiError::new(kind, error.to_string()).into_response()
        };
        // The credentials and the endpoint's fields share one form.
        let auth: ClientAuthForm = serde_urlencoded::from_bytes(&body).map_err(malformed)?;
        let form: T = serde_urlencoded::from_bytes(&body).map_err(malformed)?;
        let client = authenticate_client(state, &headers, &auth, &endpoint).await?;
        Ok(Self { client, form })
    }
}

/// A token to introspect or revoke.
#[derive(Deserialize)]
pub struct TokenOnlyForm {
    token: Option<String>,
    #[serde(rename = "token_type_hint")]
    _hint: Option<String>,
}

impl TokenOnlyForm {
    /// The token, required (RFC 7662 §2.1, RFC 7009 §2.1).
    #[expect(
        clippy::result_large_err,
        reason = "the error is the HTTP answer, returned at once"
    )]
    pub(super) fn token(&self) -> Result<&str, Response> {
        let token = self.token.as_deref().map(str::trim);
        token.ok_or_else(|| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "token is required",
            )
        })
    }
}
