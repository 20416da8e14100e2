//! Grants of a seal to staff members and client systems.

use crate::auth::Acting;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tongban_core::time::Timestamp;
use tongban_seal::grants::{self, Grantee};
use utoipa::ToSchema;

use super::{invalid, seal_id};

/// A grant of a seal: to a staff member or to a client system of the department.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// A staff member's subject id (exactly one of `staff_id` and `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staff_id: Option<String>,
    /// A client system's client_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Each use must state a purpose.
    #[serde(default)]
    purpose_required: bool,
    /// End of the grant, ms since the Unix epoch; open-ended if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl From<grants::Grant> for GrantBody {
    fn from(g: grants::Grant) -> Self {
        let (staff_id, client_id) = match g.grantee {
            Grantee::Staff(s) => (Some(s), None),
            Grantee::Client(c) => (None, Some(c)),
        };
        Self {
            staff_id,
            client_id,
            purpose_required: g.purpose_required,
            expires_at: g.expires_at.map(Timestamp::unix_millis),
        }
    }
}

/// Grants a seal to a staff member or a client system of its department.
#[utoipa::path(post, path = "/api/v1/seals/{id}/grants", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    request_body = GrantBody,
    responses(
        (status = 204, description = "granted"),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the grantee is not of the seal's department", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn grant(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantBody>,
) -> Result<StatusCode, ApiError> {
    let grantee = match (body.staff_id, body.client_id) {
        (Some(staff), None) => Grantee::Staff(staff),
        (None, Some(client)) => Grantee::Client(client),
        _ => {
            return Err(invalid(
                "grantee",
                "give exactly one of staff_id and client_id",
            ));
        }
    };
    let mut tx = state.store.begin().await?;
    grants::grant(
        &mut tx,
        &actor,
        seal_id(&id)?,
        &grantee,
        body.purpose_required,
        body.expires_at.map(Timestamp::from_unix_millis),
    )
    .await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a grant of a seal at once: the grantee's next use is refused.
#[utoipa::path(delete, path = "/api/v1/seals/{id}/grants/{kind}/{grantee}", tag = "seals",
    params(
        ("id" = String, Path, description = "seal id"),
        ("kind" = String, Path, description = "`staff` or `client`"),
        ("grantee" = String, Path, description = "the staff member's subject id, or the client_id"),
    ),
    responses(
        (status = 204, description = "revoked"),
        (status = 403, description = "not an administrator of this seal's department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such seal, or no such grant of it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`kind` is neither `staff` nor `client`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["seal:manage"])))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path((id, kind, grantee)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let grantee = match kind.as_str() {
        "staff" => Grantee::Staff(grantee),
        "client" => Grantee::Client(grantee),
        _ => return Err(invalid("kind", "staff or client")),
    };
    let mut tx = state.store.begin().await?;
    grants::revoke(&mut tx, &actor, seal_id(&id)?, &grantee).await?;
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grants of a seal.
#[utoipa::path(get, path = "/api/v1/seals/{id}/grants", tag = "seals",
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, description = "the grants", body = Vec<GrantBody>)),
    security(("bearer" = ["seal:manage", "seal:use"])))]
pub async fn grants(
    State(state): State<AppState>,
    Acting(actor): Acting,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<GrantBody>>, ApiError> {
    let mut conn = state.store.conn().await?;
    let list = grants::of_seal(&mut conn, &actor, seal_id(&id)?).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}
