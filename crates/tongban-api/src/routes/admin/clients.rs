//! Relying parties in the administration API: registering and listing clients, and the
//! back-channel logout deliveries to them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{Client, NewClient};
use tongban_identity::subjects::DepartmentId;
use tongban_identity::{admin, client_lifecycle};
use utoipa::ToSchema;

use super::{invalid, parse_id};
use crate::auth::Administering;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A client to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Shown on consent pages.
    name: String,
    /// Confidential clients get a secret; public ones (browser, native) do not.
    confidential: bool,
    /// Exact redirect URIs (https, or http on loopback).
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Scopes it may request.
    scopes: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    grant_types: Vec<String>,
    /// First-party portals skip the consent page.
    #[serde(default)]
    first_party: bool,
    /// The department a department system acts for.
    department_id: Option<String>,
    /// A public JWK Set (ES256 or EdDSA keys): the client authenticates with
    /// private_key_jwt and gets no secret.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where logout tokens are posted (OIDC Back-Channel Logout 1.0).
    backchannel_logout_uri: Option<String>,
    /// Authorization requests only through PAR (RFC 9126).
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// The lowest assurance level of its logins, 1 to 3.
    #[serde(default)]
    min_level: u8,
    /// The sector of a third-party client's pairwise subject identifiers; by default
    /// the host of its redirect URIs.
    sector_identifier: Option<String>,
    /// Take logins of a relative acting for a person (亲友代办): the client reads the
    /// ID token's `act` claim (RFC 8693) and shows who is really at the keyboard.
    /// Without it, only people themselves sign in here.
    #[serde(default)]
    accepts_delegation: bool,
}

/// A registered client.
#[derive(Serialize, ToSchema)]
pub struct ClientBody {
    client_id: String,
    /// Present only in the answer to its creation: it is stored as SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    name: String,
    confidential: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scopes: Vec<String>,
    grant_types: Vec<String>,
    first_party: bool,
    department_id: Option<String>,
    /// Its public keys, if it authenticates with private_key_jwt.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    backchannel_logout_uri: Option<String>,
    require_pushed_authorization_requests: bool,
    min_level: u8,
    accepts_delegation: bool,
    /// `pairwise` for third-party clients, `public` for first-party ones.
    subject_type: &'static str,
    /// When it was disabled (ms since the epoch); absent while enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_at: Option<i64>,
    /// Until when the secret before the last rotation still works (ms since the
    /// epoch); absent when never rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_valid_until: Option<i64>,
}

impl ClientBody {
    fn new(client: Client, secret: Option<String>) -> Self {
        Self {
            client_id: client.id,
            client_secret: secret,
            name: client.name,
            confidential: client.confidential,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            scopes: client.scopes,
            grant_types: client.grant_types,
            first_party: client.first_party,
            department_id: client.department_id.map(|d| d.to_string()),
            jwks: client.jwks.and_then(|k| serde_json::to_value(k).ok()),
            backchannel_logout_uri: client.backchannel_logout_uri,
            require_pushed_authorization_requests: client.require_par,
            min_level: client.min_level,
            accepts_delegation: client.accepts_delegation,
            subject_type: if client.sector.is_some() {
                "pairwise"
            } else {
                "public"
            },
            disabled_at: client.disabled_at.map(|t| t.unix_millis()),
            previous_secret_valid_until: client.previous_secret_until.map(|t| t.unix_millis()),
        }
    }
}

/// Registers a client (portal or department system). The secret is in this answer
/// only.
#[utoipa::path(post, path = "/api/v1/admin/clients", tag = "admin",
    request_body = NewClientBody,
    responses(
        (status = 201, description = "created, with its secret if confidential", body = ClientBody),
        (status = 422, description = "a field is invalid (named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create_client(
    State(state): State<AppState>,
    Administering(admin): Administering,
    ApiJson(body): ApiJson<NewClientBody>,
) -> Result<impl IntoResponse, ApiError> {
    let department_id = body
        .department_id
        .as_deref()
        .map(|d| parse_id::<DepartmentId>("department_id", d))
        .transpose()?;
    let jwks = body
        .jwks
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| invalid("jwks", &format!("not a JWK Set: {e}")))?;
    let new = NewClient {
        jwks,
        name: body.name,
        confidential: body.confidential,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        scopes: body.scopes,
        grant_types: body.grant_types,
        first_party: body.first_party,
        department_id,
        backchannel_logout_uri: body.backchannel_logout_uri,
        require_par: body.require_pushed_authorization_requests,
        min_level: body.min_level,
        sector_identifier: body.sector_identifier,
        accepts_delegation: body.accepts_delegation,
    };
    let mut tx = state.store.begin().await?;
    let (client, secret) = admin::create_client(&mut tx, &admin, &new).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ClientBody::new(client, secret)),
    ))
}

/// How a secret is rotated.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the previous secret keeps working, 0 to 2 592 000 seconds (30 days);
    /// 86 400 (a day) when absent.
    grace_seconds: Option<i64>,
}

/// Gives a client a new secret, in this answer only; the previous one keeps working
/// for the grace period. While that period runs, only a rotation without grace
/// (`grace_seconds` 0) is accepted: another would end the secret still deployed.
#[utoipa::path(post, path = "/api/v1/admin/clients/{id}/secret", tag = "admin",
    params(("id" = String, Path, description = "client_id")),
    request_body = RotateBody,
    responses(
        (status = 200, description = "the client with its new secret and the end of the previous one's grace period", body = ClientBody),
        (status = 404, description = "no such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the client has no secret (public, or private_key_jwt), or its previous secret is still in its grace period and the new rotation has one too (rotate with grace_seconds 0 to end both old secrets)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the grace period is out of range", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn rotate_client_secret(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<axum::Json<ClientBody>, ApiError> {
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let (client, secret) =
        client_lifecycle::rotate_secret(&mut tx, &admin, &id, body.grace_seconds, now).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    state.clients.fresh(&id).await?;
    Ok(axum::Json(ClientBody::new(client, Some(secret))))
}

/// Disables a client: every protocol endpoint and API treats it as unknown, and its
/// refresh tokens are revoked.
#[utoipa::path(post, path = "/api/v1/admin/clients/{id}/disable", tag = "admin",
    params(("id" = String, Path, description = "client_id")),
    responses(
        (status = 200, description = "disabled", body = ClientBody),
        (status = 404, description = "no such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn disable_client(
    state: State<AppState>,
    admin: Administering,
    id: Path<String>,
) -> Result<axum::Json<ClientBody>, ApiError> {
    set_disabled(state, admin, id, true).await
}

/// Enables a disabled client again (its revoked refresh tokens stay revoked).
#[utoipa::path(post, path = "/api/v1/admin/clients/{id}/enable", tag = "admin",
    params(("id" = String, Path, description = "client_id")),
    responses(
        (status = 200, description = "enabled", body = ClientBody),
        (status = 404, description = "no such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn enable_client(
    state: State<AppState>,
    admin: Administering,
    id: Path<String>,
) -> Result<axum::Json<ClientBody>, ApiError> {
    set_disabled(state, admin, id, false).await
}

async fn set_disabled(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
    disabled: bool,
) -> Result<axum::Json<ClientBody>, ApiError> {
    let now = Timestamp::now();
    let mut tx = state.store.begin().await?;
    let client = client_lifecycle::set_disabled(&mut tx, &admin, &id, disabled, now).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    // This instance knows at once; the others within the cache's five seconds.
    state.clients.fresh(&id).await?;
    Ok(axum::Json(ClientBody::new(client, None)))
}

/// Lists every client (never their secrets).
#[utoipa::path(get, path = "/api/v1/admin/clients", tag = "admin",
    responses((status = 200, description = "the clients", body = Vec<ClientBody>)),
    security(("bearer" = ["admin"])))]
pub async fn clients(
    State(state): State<AppState>,
    Administering(admin): Administering,
) -> Result<axum::Json<Vec<ClientBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let list = admin::clients(&mut conn, &admin).await?;
    Ok(axum::Json(
        list.into_iter().map(|c| ClientBody::new(c, None)).collect(),
    ))
}

/// Which logout deliveries to list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`; all when absent.
    state: Option<String>,
}

/// A back-channel logout delivery.
#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    id: String,
    client_id: String,
    session_id: String,
    /// `pending`, `delivered` or `failed` (given up after the last retry).
    state: &'static str,
    attempts: i64,
    /// Queued, ms since the epoch.
    created_at: i64,
    /// The next attempt of a pending delivery, ms since the epoch.
    next_attempt_at: Option<i64>,
    /// Why the last attempt failed.
    last_error: Option<String>,
}

/// Back-channel logout deliveries, newest first (at most 500): which relying parties
/// were told of a logout, which are still being retried, which were given up.
#[utoipa::path(get, path = "/api/v1/admin/logout-deliveries", tag = "admin",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "the deliveries", body = Vec<DeliveryBody>),
        (status = 422, description = "an unknown state", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn logout_deliveries(
    State(state): State<AppState>,
    Administering(admin): Administering,
    axum::extract::Query(query): axum::extract::Query<DeliveriesQuery>,
) -> Result<axum::Json<Vec<DeliveryBody>>, ApiError> {
    if let Some(s) = query.state.as_deref()
        && !matches!(s, "pending" | "delivered" | "failed")
    {
        return Err(invalid("state", "must be pending, delivered or failed"));
    }
    let mut conn = state.store.conn().await?;
    let list = admin::logout_deliveries(&mut conn, &admin, query.state.as_deref()).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|d| DeliveryBody {
                id: d.id,
                client_id: d.client_id,
                session_id: d.session_id,
                state: d.state,
                attempts: d.attempts,
                created_at: d.created_at,
                next_attempt_at: d.next_attempt_at,
                last_error: d.last_error,
            })
            .collect(),
    ))
}

/// Tries a given-up back-channel logout delivery again (after its relying party was
/// fixed): queued now, with its attempts counted anew.
#[utoipa::path(post, path = "/api/v1/admin/logout-deliveries/{id}/retry", tag = "admin",
    params(("id" = String, Path, description = "the delivery's id")),
    responses(
        (status = 204, description = "queued again"),
        (status = 404, description = "no given-up delivery with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
pub async fn retry_logout_delivery(
    State(state): State<AppState>,
    Administering(admin): Administering,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.store.begin().await?;
    admin::retry_logout_delivery(&mut tx, &admin, &id).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
