//! ID tokens (OpenID Connect Core §2) and JWT access tokens (RFC 9068), signed with the
//! current token key; access tokens verified against our own JWKS, as any resource
//! server could do offline.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tongban_core::time::Timestamp;
use tongban_crypto::CryptoError;
use tongban_crypto::jose::{self, JoseError};
use tongban_crypto::token_keys::TokenKeys;

use crate::secrets::{RngError, random_token};
use crate::sso::Session;

/// Lifetime of ID tokens, seconds.
pub const ID_TOKEN_SECS: i64 = 600;
/// Lifetime of access tokens, seconds.
pub const ACCESS_TOKEN_SECS: i64 = 600;

/// Issues and checks tokens for one issuer.
#[derive(Clone)]
pub struct TokenIssuer {
    issuer: String,
    keys: TokenKeys,
}

/// The claims of one of our access tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience: this platform's API.
    pub aud: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expires, seconds.
    pub exp: i64,
    /// Unique id.
    pub jti: String,
    /// The login's assurance level (RFC 9068 §2.2.3), for tokens of a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// When the person logged in, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The key the token is bound to (DPoP, RFC 9449 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Who acts for the subject (RFC 8693 §4.1): a relative under an authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<ActorClaim>,
    /// The authority the actor acts under; the token works only while it is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
}

/// The actor claim (RFC 8693 §4.1): the person at the keyboard, acting for the subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorClaim {
    /// The actor as the client knows them (pairwise for a third-party client).
    pub sub: String,
    /// Their name, when the client may know names (scope `profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of a DPoP key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// JWK SHA-256 thumbprint (RFC 7638), base64url.
    pub jkt: String,
}

/// What an access token is for.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    /// The subject as the client knows it (the client itself for its own tokens).
    pub sub: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// Granted scopes.
    pub scope: &'a [String],
    /// The login, for tokens of a person: its acr and auth_time.
    pub login: Option<(&'a str, Timestamp)>,
    /// The DPoP key thumbprint the token is bound to.
    pub jkt: Option<&'a str>,
    /// For a relative acting for the subject: who, and under which authority.
    pub actor: Option<(&'a ActorClaim, &'a str)>,
}

/// The event of a back-channel logout token (OIDC Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Lifetime of logout tokens, seconds.
pub const LOGOUT_TOKEN_SECS: i64 = 120;

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signature, algorithm, key, type, issuer, audience or expiry is wrong.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Signing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] RngError),
}

impl From<JoseError> for TokenError {
    fn from(error: JoseError) -> Self {
        Self::Invalid(error.to_string())
    }
}

fn seconds(at: Timestamp) -> i64 {
    at.unix_millis() / 1000
}

impl TokenIssuer {
    /// Tokens of `issuer` (the public URL), signed with `keys`.
    pub fn new(issuer: &str, keys: TokenKeys) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            keys,
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn sign(&self, typ: &str, claims: &Value, now: Timestamp) -> Result<String, TokenError> {
        let signer = self.keys.signer(now).await?;
        let mut header = Map::new();
        header.insert("typ".into(), json!(typ));
        let payload = serde_json::to_vec(claims).map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(jose::sign_compact(signer.as_ref(), &payload, &header)?)
    }

    /// An ID token for `session` to `client_id`, which knows the person as `sub` and
    /// the session as `sid`.
    pub async fn id_token(
        &self,
        client_id: &str,
        participant: &crate::sso::Participant,
        session: &Session,
        nonce: Option<&str>,
        actor: Option<&ActorClaim>,
        now: Timestamp,
    ) -> Result<String, TokenError> {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": participant.sub,
            "aud": client_id,
            "iat": seconds(now),
            "exp": seconds(now) + ID_TOKEN_SECS,
            "auth_time": seconds(session.auth_time),
            "acr": session.acr,
            "amr": session.amr,
            "sid": participant.sid,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        // An agent's session names the legal person they act for.
        if let Some(company) = session.acting_for {
            claims["acting_for"] = json!(company.to_string());
        }
        // A relative's login for a person: `sub` is the person, `act` the relative.
        if let Some(actor) = actor {
            claims["act"] = json!(actor);
        }
        self.sign("JWT", &claims, now).await
    }

    /// A JWT access token (RFC 9068) for `request`; returns the token and its claims
    /// (the `jti` is what revocation lists).
    pub async fn access_token(
        &self,
        request: AccessRequest<'_>,
        now: Timestamp,
    ) -> Result<(String, AccessClaims), TokenError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: request.sub.to_owned(),
            aud: self.issuer.clone(),
            client_id: request.client_id.to_owned(),
            scope: request.scope.join(" "),
            iat: seconds(now),
            exp: seconds(now) + ACCESS_TOKEN_SECS,
            jti: random_token(16)?,
            acr: request.login.map(|(acr, _)| acr.to_owned()),
            auth_time: request.login.map(|(_, at)| seconds(at)),
            cnf: request.jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
            act: request.actor.map(|(actor, _)| actor.clone()),
            delegation: request.actor.map(|(_, id)| id.to_owned()),
        };
        let value =
            serde_json::to_value(&claims).map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok((self.sign("at+jwt", &value, now).await?, claims))
    }

    /// A logout token (OIDC Back-Channel Logout 1.0 §2.4) telling `client_id` that the
    /// session `sid` of `sub` ended. It has no nonce, so it cannot pass for an ID token.
    pub async fn logout_token(
        &self,
        client_id: &str,
        sub: &str,
        sid: &str,
        now: Timestamp,
    ) -> Result<String, TokenError> {
        let claims = json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": client_id,
            "iat": seconds(now),
            "exp": seconds(now) + LOGOUT_TOKEN_SECS,
            "jti": random_token(16)?,
            "sid": sid,
            "events": { LOGOUT_EVENT: {} },
        });
        self.sign("logout+jwt", &claims, now).await
    }

    /// A signing event (a signing request ended) for the requesting client `client_id`:
    /// the request's id and how it ended, signed with our token key (JWKS at
    /// `/pki/jwks.json`), so the requester can trust the callback that carries it.
    pub async fn signing_event(
        &self,
        client_id: &str,
        request_id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<String, TokenError> {
        let claims = json!({
            "iss": self.issuer,
            "aud": client_id,
            "iat": seconds(now),
            "exp": seconds(now) + LOGOUT_TOKEN_SECS,
            "jti": random_token(16)?,
            "signing_request": request_id,
            "status": status,
        });
        self.sign("signing-event+jwt", &claims, now).await
    }

    /// Verifies one of our access tokens: signature by a published key (never `none`,
    /// never an unknown key), type `at+jwt`, our issuer and audience, not expired.
    pub async fn verify_access_token(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<AccessClaims, TokenError> {
        let jwks = self.keys.jwks(now).await?;
        let verified = jose::verify_compact(token, None, &jwks)?;
        if verified.header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
            return Err(TokenError::Invalid("not an access token (typ)".into()));
        }
        let claims: AccessClaims = serde_json::from_slice(&verified.payload)
            .map_err(|e| TokenError::Invalid(format!("claims: {e}")))?;
        if claims.iss != self.issuer || claims.aud != self.issuer {
            return Err(TokenError::Invalid(
                "issued for another issuer or audience".into(),
            ));
        }
        if claims.exp <= seconds(now) {
            return Err(TokenError::Invalid("expired".into()));
        }
        Ok(claims)
    }

    /// Checks an `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 §2): one of our
    /// ID tokens — signature by a published key, our issuer — expired or not, since a
    /// relying party logs out long after login. Returns its client (`aud`), subject and
    /// session (`sid`).
    pub async fn verify_id_token_hint(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<IdTokenHint, TokenError> {
        let jwks = self.keys.jwks(now).await?;
        let verified = jose::verify_compact(token, None, &jwks)?;
        if verified.header.get("typ").and_then(Value::as_str) != Some("JWT") {
            return Err(TokenError::Invalid("not an ID token (typ)".into()));
        }
        let claims: Value = serde_json::from_slice(&verified.payload)
            .map_err(|e| TokenError::Invalid(format!("claims: {e}")))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        if text("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(TokenError::Invalid("issued by another issuer".into()));
        }
        Ok(IdTokenHint {
            client_id: text("aud").ok_or_else(|| TokenError::Invalid("no aud".into()))?,
            subject: text("sub").ok_or_else(|| TokenError::Invalid("no sub".into()))?,
            session_id: text("sid"),
        })
    }
}

/// What an `id_token_hint` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The relying party it was issued to.
    pub client_id: String,
    /// Who.
    pub subject: String,
    /// The session it came from.
    pub session_id: Option<String>,
}
