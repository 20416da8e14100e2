//! The token endpoint: authorization_code (PKCE), refresh_token (rotation, reuse
//! detection) and client_credentials grants, DPoP-bound when a proof comes (RFC 9449).

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_identity::clients::Client;
use tongban_identity::dpop;
use tongban_identity::refresh_tokens::{self, GrantError, RefreshGrant};
use tongban_identity::sso::{self, CodeError};
use tongban_identity::token_info::token_type;
use tongban_identity::tokens::AccessRequest;

use super::client_auth::ClientCall;
use super::{internal, oauth_error, token_response};

/// The token request's fields.
#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// Token endpoint: authorization_code (with PKCE), refresh_token (rotated, with reuse
/// detection) and client_credentials.
#[utoipa::path(post, path = "/token", tag = "oidc",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "grant_type=authorization_code (code, redirect_uri, code_verifier) | refresh_token (refresh_token) | client_credentials (scope); client authentication by HTTP Basic or client_id/client_secret"),
    responses(
        (status = 200, description = "access_token, token_type, expires_in; id_token and refresh_token where they apply", body = Object),
        (status = 400, description = "RFC 6749 §5.2 error (invalid_grant, invalid_request, invalid_scope, unsupported_grant_type)", body = Object),
        (status = 401, description = "invalid_client", body = Object),
    ))]
pub async fn token(
    State(state): State<AppState>,
    DpopKey(jkt): DpopKey,
    ClientCall { client, form }: ClientCall<TokenForm>,
) -> Response {
    let now = Timestamp::now();
    let grant_type = form.grant_type.as_deref().unwrap_or("");
    if !client.allows_grant(grant_type) {
        let why = "this client may not use that grant type";
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", why);
    }
    let jkt = jkt.as_deref();
    // client_credentials writes nothing (but an assertion's jti, already spent): no
    // transaction, so no write lock is held while its token is signed.
    if grant_type == "client_credentials" {
        let issued = client_credentials_grant(&state, &client, &form, jkt, now).await;
        return issued.unwrap_or_else(|response| response);
    }
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let result = match grant_type {
        "authorization_code" => code_grant(&state, &mut tx, &client, &form, jkt, now).await,
        "refresh_token" => refresh_grant(&state, &mut tx, &client, &form, jkt, now).await,
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unknown grant type",
        )),
    };
    // Refusals commit too: a spent code, a revoked family must stay so.
    if let Err(error) = tx.commit().await {
        return ApiError::from(tongban_store::StoreError::from(error)).into_response();
    }
    result.unwrap_or_else(|response| response)
}

/// The key of the request's DPoP proof (RFC 9449 §5), if it has one; a bad proof or
/// one without a current nonce is answered at once.
pub struct DpopKey(pub(super) Option<String>);

impl FromRequestParts<AppState> for DpopKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let endpoint = parts.uri.path();
        dpop_key(state, &parts.headers, endpoint, Timestamp::now())
            .await
            .map(Self)
    }
}

/// The key of the request's DPoP proof (RFC 9449 §5), if it has one; a bad proof or
/// one without a current nonce is answered at once.
pub(super) async fn dpop_key(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: &str,
    now: Timestamp,
) -> Result<Option<String>, Response> {
    let Some(proof) = headers.get("dpop") else {
        return Ok(None);
    };
    let proof = proof.to_str().map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the DPoP header is not text",
        )
    })?;
    let url = format!("{}{endpoint}", state.tokens.issuer());
    let target = dpop::ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
    };
    let mut conn = state
        .store
        .conn()
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    match dpop::verify(&mut conn, &state.dpop, proof, target, now).await {
        Ok(jkt) => Ok(Some(jkt)),
        Err(dpop::DpopError::UseNonce) => {
            let mut response = oauth_error(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "send the DPoP proof again with this nonce",
            );
            if let Ok(nonce) = HeaderValue::from_str(&state.dpop.issue(now)) {
                response.headers_mut().insert("dpop-nonce", nonce);
            }
            Err(response)
        }
        Err(dpop::DpopError::Invalid(why)) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            &why,
        )),
        Err(dpop::DpopError::Store(error)) => Err(ApiError::from(error).into_response()),
    }
}

pub(super) async fn code_grant(
    state: &AppState,
    tx: &mut tongban_store::Conn,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (&form.code, &form.redirect_uri, &form.code_verifier)
    else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        ));
    };
    let redemption = sso::Redemption {
        code,
        client_id: &client.id,
        redirect_uri,
        verifier,
        jkt,
    };
    let grant = match sso::redeem_code(tx, &state.codes, redemption, now).await {
        Ok(grant) => grant,
        Err(CodeError::InvalidGrant(why)) => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why));
        }
        Err(CodeError::Store(error)) => return Err(ApiError::from(error).into_response()),
    };
    let subject = grant.session.subject.to_string();
    // The relying party joins the session (for back-channel logout) under the subject
    // it is told: pairwise for a third-party client.
    let participant = match sso::join_session(tx, &state.pairwise, client, &grant.session).await {
        Ok(Some(participant)) => participant,
        Ok(None) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the session has ended",
            ));
        }
        Err(error) => return Err(ApiError::from(error).into_response()),
    };
    let sub = participant.sub.clone();
    let id_token = state
        .tokens
        .id_token(
            &client.id,
            &participant,
            &grant.session,
            grant.nonce.as_deref(),
            now,
        )
        .await
        .map_err(internal)?;
    let request = AccessRequest {
        sub: &sub,
        client_id: &client.id,
        scope: &grant.scope,
        login: Some((&grant.session.acr, grant.session.auth_time)),
        jkt,
    };
    let (access_token, claims) = state
        .tokens
        .access_token(request, now)
        .await
        .map_err(internal)?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type(jkt),
        "expires_in": tongban_identity::tokens::ACCESS_TOKEN_SECS,
        "id_token": id_token,
        "scope": grant.scope.join(" "),
    });
    let mut family = None;
    if client.allows_grant("refresh_token") {
        let refresh = RefreshGrant {
            family_id: String::new(),
            client_id: client.id.clone(),
            session_id: Some(grant.session.id.clone()),
            subject_id: subject,
            scope: grant.scope.clone(),
            expires_at: now,
            dpop_jkt: jkt.map(str::to_owned),
            login: None,
        };
        let (token, stored) = refresh_tokens::issue_refresh(tx, &refresh, now)
            .await
            .map_err(internal)?;
        body["refresh_token"] = json!(token);
        family = Some(stored.family_id);
    }
    refresh_tokens::record_code_tokens(tx, code, family.as_deref(), &claims.jti)
        .await
        .map_err(internal)?;
    Ok(token_response(body))
}

pub(super) async fn refresh_grant(
    state: &AppState,
    tx: &mut tongban_store::Conn,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    let Some(token) = &form.refresh_token else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let (next, grant) = match refresh_tokens::rotate(tx, token, &client.id, jkt, now).await {
        Ok(rotated) => rotated,
        Err(GrantError::InvalidGrant(why)) => {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why));
        }
        Err(error) => return Err(internal(error)),
    };
    let sub = client.subject_for(&state.pairwise, &grant.subject_id);
    let request = AccessRequest {
        sub: &sub,
        client_id: &client.id,
        scope: &grant.scope,
        login: grant.login.as_ref().map(|(acr, at)| (acr.as_str(), *at)),
        jkt,
    };
    access_token_response(state, request, now, json!({ "refresh_token": next })).await
}

pub(super) async fn client_credentials_grant(
    state: &AppState,
    client: &Client,
    form: &TokenForm,
    jkt: Option<&str>,
    now: Timestamp,
) -> Result<Response, Response> {
    if !client.confidential {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_credentials needs a confidential client",
        ));
    }
    let requested: Vec<String> = match form.scope.as_deref() {
        Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
        None => client.scopes.clone(),
    };
    if let Some(extra) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("this client may not request {extra}"),
        ));
    }
    // With no resource owner, the client is the subject (RFC 9068 §2.2).
    let request = AccessRequest {
        sub: &client.id,
        client_id: &client.id,
        scope: &requested,
        login: None,
        jkt,
    };
    access_token_response(state, request, now, json!({})).await
}

/// The token response of an access token for `request` (RFC 6749 §5.1), with the
/// members in `extra` (a refresh token).
async fn access_token_response(
    state: &AppState,
    request: AccessRequest<'_>,
    now: Timestamp,
    mut extra: serde_json::Value,
) -> Result<Response, Response> {
    let (jkt, scope) = (request.jkt, request.scope.join(" "));
    let (access_token, _) = state
        .tokens
        .access_token(request, now)
        .await
        .map_err(internal)?;
    extra["access_token"] = json!(access_token);
    extra["token_type"] = json!(token_type(jkt));
    extra["expires_in"] = json!(tongban_identity::tokens::ACCESS_TOKEN_SECS);
    extra["scope"] = json!(scope);
    Ok(token_response(extra))
}
