//! The Cloud Signature Consortium API v2 (`/csc/v2/…`) for signing applications,
//! acting for a person with their access token (scope `service`). Errors are CSC's
//! own `{"error", "error_description"}`, as the specification wants; a missing or
//! refused token is the API's usual 401. Requests take CSC 2.0 field names and the
//! 1.0 names clients such as pyHanko still send (`hash`, `hashAlgo`, `PIN`, `OTP`).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tongban_core::time::Timestamp;
use tongban_esign::SignError;
use tongban_esign::csc::{self, Authorize, SignHash};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::extract::{ApiJson, ClientIp};
use crate::problem::ApiError;
use crate::state::AppState;

/// A CSC error.
#[derive(Serialize, ToSchema)]
pub struct CscError {
    /// `invalid_request`, `access_denied` or `server_error`.
    error: String,
    /// What is wrong.
    error_description: String,
}

/// A refusal as CSC says it.
pub struct CscFailure(SignError);

impl From<SignError> for CscFailure {
    fn from(error: SignError) -> Self {
        Self(error)
    }
}

impl From<ApiError> for CscFailure {
    fn from(error: ApiError) -> Self {
        Self(SignError::Internal(format!("{error:?}")))
    }
}

impl From<tongban_store::StoreError> for CscFailure {
    fn from(error: tongban_store::StoreError) -> Self {
        Self(SignError::Store(error))
    }
}

impl IntoResponse for CscFailure {
    fn into_response(self) -> Response {
        let (status, error) = match &self.0 {
            SignError::Invalid { .. } | SignError::Conflict(_) | SignError::NotFound(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            SignError::Approval(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            SignError::Denied(_) | SignError::Assurance => (StatusCode::FORBIDDEN, "access_denied"),
            SignError::Store(_) => {
                // A refusal of the database is the API's usual 503 with Retry-After.
                return ApiError::from(match self.0 {
                    SignError::Store(store) => store,
                    _ => tongban_store::StoreError::Corrupt(String::new()),
                })
                .into_response();
            }
            SignError::Crypto(_) | SignError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let body = json!({ "error": error, "error_description": self.0.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A malformed body is a CSC `invalid_request`, like every other refusal here.
fn body<T>(parsed: Result<ApiJson<T>, ApiError>) -> Result<T, CscFailure> {
    parsed.map(|ApiJson(body)| body).map_err(|_| {
        CscFailure(SignError::Invalid {
            field: "body",
            reason: "not the JSON object this method takes".into(),
        })
    })
}

fn decode_hashes(hashes: &[String]) -> Result<Vec<[u8; 32]>, CscFailure> {
    hashes
        .iter()
        .map(|h| {
            B64.decode(h.as_bytes())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    CscFailure(SignError::Invalid {
                        field: "hashes",
                        reason: "each a SHA-256 hash, base64".into(),
                    })
                })
        })
        .collect()
}

/// `info`: what this service offers.
#[utoipa::path(post, path = "/csc/v2/info", tag = "csc",
    request_body(content = Object, description = "`lang`, optional", content_type = "application/json"),
    responses((status = 200, description = "CSC `info`", body = Object)))]
pub async fn csc_info(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "specs": "2.0.0.2",
        "name": "Tongban 通办",
        "logo": format!("{}/static/tongban.css", state.public_url),
        "region": "CN",
        "lang": "zh-CN",
        "description": "Personal signing certificates of the Tongban platform",
        "authType": ["oauth2code"],
        "oauth2": state.public_url,
        "oauth2Issuer": state.public_url,
        "methods": ["credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash"],
        "signAlgorithms": { "algos": [csc::ECDSA_SHA256_OID] },
    }))
}

/// `credentials/list`.
#[derive(Deserialize, ToSchema)]
pub struct ListBody {
    /// Ignored: the token says whose credentials.
    #[serde(default, rename = "userID")]
    _user_id: Option<String>,
}

/// `credentials/list`: the person's usable credentials.
#[utoipa::path(post, path = "/csc/v2/credentials/list", tag = "csc",
    request_body = ListBody,
    responses(
        (status = 200, description = "`credentialIDs`", body = Object),
        (status = 403, description = "no scope service, or not a person's token", body = CscError),
        (status = 400, description = "the request is not acceptable", body = CscError),
        (status = 500, description = "the credentials could not be read", body = CscError),
    ),
    security(("bearer" = ["service"])))]
pub async fn csc_credentials_list(
    State(state): State<AppState>,
    auth: Authenticated,
    parsed: Result<ApiJson<ListBody>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, CscFailure> {
    let _body = body(parsed)?;
    let mut conn = state.store.conn().await?;
    let ids = csc::list(&mut conn, &auth.caller, Timestamp::now()).await?;
    Ok(axum::Json(json!({ "credentialIDs": ids })))
}

/// `credentials/info`.
#[derive(Deserialize, ToSchema)]
pub struct InfoBody {
    /// The credential.
    #[serde(rename = "credentialID")]
    credential_id: String,
    /// `none`, `single` or `chain` (default `single`).
    #[serde(default)]
    certificates: Option<String>,
    /// Whether to describe the certificate.
    #[serde(default, rename = "certInfo")]
    cert_info: bool,
}

/// `credentials/info`: the key, the certificate (chain) and how to authorise.
#[utoipa::path(post, path = "/csc/v2/credentials/info", tag = "csc",
    request_body = InfoBody,
    responses(
        (status = 200, description = "CSC credential info", body = Object),
        (status = 400, description = "no such credential", body = CscError),
        (status = 403, description = "no scope service, or not a person's token", body = CscError),
        (status = 500, description = "the key could not be used", body = CscError),
    ),
    security(("bearer" = ["service"])))]
pub async fn csc_credentials_info(
    State(state): State<AppState>,
    auth: Authenticated,
    parsed: Result<ApiJson<InfoBody>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, CscFailure> {
    let body = body(parsed)?;
    let mut conn = state.store.conn().await?;
    let found = csc::credential(&mut conn, &state.pki, &auth.caller, &body.credential_id).await?;
    let now = Timestamp::now();
    let count = match body.certificates.as_deref() {
        Some("none") => 0,
        Some("chain") => found.chain.len(),
        _ => 1,
    };
    let certificates: Vec<String> = found
        .chain
        .iter()
        .take(count)
        .map(|c| B64.encode(c))
        .collect();
    let status = if found.certificate.status == "revoked" {
        "revoked"
    } else if now >= found.certificate.valid_until {
        "expired"
    } else {
        "valid"
    };
    let mut cert = json!({ "status": status, "certificates": certificates });
    if body.cert_info {
        cert["serialNumber"] = json!(found.certificate.serial);
        cert["validTo"] = json!(found.certificate.valid_until.to_rfc3339());
    }
    Ok(axum::Json(json!({
        "description": "个人签名证书 personal signing certificate",
        "key": {
            "status": if status == "valid" { "enabled" } else { "disabled" },
            "algo": [csc::ECDSA_SHA256_OID],
            "len": 256,
            "curve": "1.2.840.10045.3.1.7",
        },
        "cert": cert,
        "auth": {
            "mode": "explicit",
            "objects": [
                { "type": "Password", "id": "PIN", "format": "A", "label": "Your Tongban password" },
                { "type": "Password", "id": "OTP", "format": "N", "label": "A code from your authenticator app" },
            ],
        },
        "authMode": "explicit",
        "SCAL": "2",
        "multisign": csc::MAX_HASHES,
        "lang": "zh-CN",
    })))
}

/// One authentication object of `authData`.
#[derive(Deserialize, ToSchema)]
pub struct AuthDatum {
    /// `PIN` or `OTP`.
    id: String,
    /// Its value.
    value: String,
}

/// `credentials/authorize`.
#[derive(Deserialize, ToSchema)]
pub struct AuthorizeBody {
    /// The credential.
    #[serde(rename = "credentialID")]
    credential_id: String,
    /// How many signatures: the number of hashes.
    #[serde(rename = "numSignatures")]
    num_signatures: i64,
    /// The SHA-256 hashes to be signed, base64 (CSC 1.0: `hash`).
    #[serde(default, alias = "hash")]
    hashes: Vec<String>,
    /// `2.16.840.1.101.3.4.2.1` (CSC 1.0: `hashAlgo`).
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    hash_algorithm: Option<String>,
    /// `PIN`: the person's password; `OTP`: their authenticator code.
    #[serde(default, rename = "authData")]
    auth_data: Vec<AuthDatum>,
    /// CSC 1.0 `PIN`.
    #[serde(default, rename = "PIN")]
    pin: Option<String>,
    /// CSC 1.0 `OTP`.
    #[serde(default, rename = "OTP")]
    otp: Option<String>,
}

/// `credentials/authorize`: the person's password and authenticator code for exactly
/// these hashes; the SAD signs them once.
#[utoipa::path(post, path = "/csc/v2/credentials/authorize", tag = "csc",
    request_body = AuthorizeBody,
    responses(
        (status = 200, description = "`SAD` and `expiresIn` (seconds)", body = Object),
        (status = 400, description = "wrong password or code, unknown credential, or bad hashes", body = CscError),
        (status = 403, description = "no scope service, or not a person's token", body = CscError),
        (status = 500, description = "the approval could not be recorded", body = CscError),
    ),
    security(("bearer" = ["service"])))]
pub async fn csc_credentials_authorize(
    State(state): State<AppState>,
    auth: Authenticated,
    ClientIp(client_ip): ClientIp,
    parsed: Result<ApiJson<AuthorizeBody>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, CscFailure> {
    let body = body(parsed)?;
    let datum = |id: &str| {
        body.auth_data
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.value.as_str())
    };
    let call = Authorize {
        credential_id: &body.credential_id,
        num_signatures: body.num_signatures,
        hashes: decode_hashes(&body.hashes)?,
        hash_algorithm: body.hash_algorithm.as_deref(),
        pin: datum("PIN").or(body.pin.as_deref()),
        otp: datum("OTP").or(body.otp.as_deref()),
        client_ip,
    };
    let secrets = (state.pki.as_ref(), &state.passwords, state.totp.as_ref());
    let now = Timestamp::now();
    let (sad, expires_in) = csc::authorize(&state.store, secrets, &auth.caller, &call, now).await?;
    Ok(axum::Json(json!({ "SAD": sad, "expiresIn": expires_in })))
}

/// `signatures/signHash`.
#[derive(Deserialize, ToSchema)]
pub struct SignHashBody {
    /// The credential.
    #[serde(rename = "credentialID")]
    credential_id: String,
    /// From `credentials/authorize`.
    #[serde(rename = "SAD")]
    sad: String,
    /// The hashes, base64 (CSC 1.0: `hash`).
    #[serde(alias = "hash")]
    hashes: Vec<String>,
    /// CSC 1.0: `hashAlgo`.
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    hash_algorithm: Option<String>,
    /// `1.2.840.10045.4.3.2` (ecdsa-with-SHA256).
    #[serde(rename = "signAlgo")]
    sign_algorithm: String,
}

/// `signatures/signHash`: DER ECDSA signatures of the authorised hashes, base64, in
/// their order.
#[utoipa::path(post, path = "/csc/v2/signatures/signHash", tag = "csc",
    request_body = SignHashBody,
    responses(
        (status = 200, description = "`signatures`", body = Object),
        (status = 400, description = "a SAD that is unknown, used, expired or for other hashes", body = CscError),
        (status = 403, description = "no scope service, or not a person's token", body = CscError),
        (status = 500, description = "the key could not sign", body = CscError),
    ),
    security(("bearer" = ["service"])))]
pub async fn csc_sign_hash(
    State(state): State<AppState>,
    auth: Authenticated,
    parsed: Result<ApiJson<SignHashBody>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, CscFailure> {
    let body = body(parsed)?;
    let call = SignHash {
        credential_id: &body.credential_id,
        sad: &body.sad,
        hashes: decode_hashes(&body.hashes)?,
        sign_algorithm: &body.sign_algorithm,
        hash_algorithm: body.hash_algorithm.as_deref(),
    };
    let now = Timestamp::now();
    let signatures = csc::sign_hash(&state.store, &state.pki, &auth.caller, &call, now).await?;
    let encoded: Vec<String> = signatures.iter().map(|s| B64.encode(s)).collect();
    Ok(axum::Json(json!({ "signatures": encoded })))
}
