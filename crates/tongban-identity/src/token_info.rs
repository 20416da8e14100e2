//! What a token tells those who may ask, and ending it early: introspection for
//! resource servers (RFC 7662), the userinfo endpoint (OpenID Connect Core §5.3) and
//! revocation (RFC 7009). The HTTP layer authenticates the caller and serialises.

use serde::Serialize;
use tongban_core::time::Timestamp;
use tongban_store::{Store, StoreError};

use crate::clients::{ClientCache, ClientError};
use crate::pairwise::{self, PairwiseKey};
use crate::refresh_tokens::{self, GrantError};
use crate::subjects::{self, SubjectError};
use crate::tokens::{AccessClaims, Confirmation, TokenIssuer};

/// What the three endpoints read.
pub struct TokenInfo<'a> {
    /// Refresh tokens, revocations, subjects.
    pub store: &'a Store,
    /// Verifies access tokens.
    pub tokens: &'a TokenIssuer,
    /// The clients tokens were issued to.
    pub clients: &'a ClientCache,
    /// Pairwise subject identifiers of third-party clients.
    pub pairwise: &'a PairwiseKey,
}

/// An introspection answer: `{"active": false}`, or the token's claims.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    /// Whether the token is live.
    pub active: bool,
    /// `Bearer`, `DPoP` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// The DPoP key it is bound to (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// Who acts for the subject (RFC 8693 §4.1), for a relative's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<crate::tokens::ActorClaim>,
}

/// The claims about a person a token's scopes release (OpenID Connect Core §5.1).
#[derive(Debug, Default, Serialize)]
pub struct UserInfo {
    /// As the token's client knows the person.
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assurance_level: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resident_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uscc: Option<String>,
}

/// Why an answer could not be made (the store failed).
#[derive(Debug, thiserror::Error)]
pub enum TokenInfoError {
    /// Reading a client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Reading a grant or a revocation failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// Reading the subject failed.
    #[error(transparent)]
    Subject(#[from] SubjectError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TokenInfoError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl TokenInfo<'_> {
    /// What `token` (an access or a refresh token) is, for a resource server.
    pub async fn introspect(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Introspection, TokenInfoError> {
        let mut conn = self.store.conn().await?;
        if let Ok(claims) = self.tokens.verify_access_token(token, now).await {
            if refresh_tokens::access_revoked(&mut conn, &claims.jti).await? {
                return Ok(Introspection::default());
            }
            // A relative's token is active only while the authority is in force.
            if let Some(id) = &claims.delegation
                && !crate::delegation::find(&mut conn, id)
                    .await?
                    .is_some_and(|d| d.live(now))
            {
                return Ok(Introspection::default());
            }
            // A resource server relying on introspection learns the binding too
            // (RFC 9449 §6.2), and the login's level.
            return Ok(Introspection {
                active: true,
                token_type: Some(token_type(claims.cnf.as_ref().map(|c| c.jkt.as_str()))),
                iss: Some(claims.iss),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                client_id: Some(claims.client_id),
                scope: Some(claims.scope),
                iat: Some(claims.iat),
                exp: Some(claims.exp),
                jti: Some(claims.jti),
                cnf: claims.cnf,
                acr: claims.acr,
                auth_time: claims.auth_time,
                act: claims.act,
            });
        }
        let Some(grant) = refresh_tokens::active_refresh(&mut conn, token, now).await? else {
            return Ok(Introspection::default());
        };
        if let Some(id) = &grant.delegation_id
            && !crate::delegation::find(&mut conn, id)
                .await?
                .is_some_and(|d| d.live(now))
        {
            return Ok(Introspection::default());
        }
        drop(conn);
        // The subject as the token's own client knows it: never the internal id to a
        // third-party client.
        let Some(owner) = self.clients.find(&grant.client_id).await? else {
            return Ok(Introspection::default());
        };
        Ok(Introspection {
            active: true,
            token_type: Some("refresh_token"),
            sub: Some(owner.subject_for(self.pairwise, &grant.subject_id)),
            scope: Some(grant.scope.join(" ")),
            exp: Some(grant.expires_at.unix_millis() / 1000),
            cnf: grant.dpop_jkt.map(|jkt| Confirmation { jkt }),
            client_id: Some(grant.client_id),
            ..Introspection::default()
        })
    }

    /// The claims about the person of an access token that its scopes release.
    /// Identity numbers go only with `tongban:identity`, which only clients allowed it
    /// are granted.
    pub async fn userinfo(&self, claims: &AccessClaims) -> Result<UserInfo, TokenInfoError> {
        let scopes: Vec<&str> = claims.scope.split_whitespace().collect();
        let mut conn = self.store.conn().await?;
        // A third-party client's token names the person by a pairwise identifier.
        let sector = self.clients.find(&claims.client_id).await?;
        let subject = match sector.and_then(|c| c.sector) {
            Some(sector) => pairwise::resolve(&mut conn, &sector, &claims.sub)
                .await?
                .unwrap_or_default(),
            None => claims.sub.clone(),
        };
        let mut info = UserInfo {
            sub: claims.sub.clone(),
            ..UserInfo::default()
        };
        let Some(profile) = subjects::profile_of(&mut conn, &subject).await? else {
            return Ok(info);
        };
        let identity = scopes.contains(&"tongban:identity");
        if scopes.contains(&"profile") || identity {
            info.name = Some(profile.name);
        }
        if scopes.contains(&"email") {
            info.email = profile.email;
        }
        if scopes.contains(&"phone") {
            info.phone_number = profile.phone;
        }
        if identity {
            info.assurance_level = Some(profile.assurance);
            info.resident_id = profile.resident_id;
            info.uscc = profile.uscc;
        }
        Ok(info)
    }

    /// Revokes `token` for the client `client_id`: an access token it was issued, or a
    /// refresh token of its (with the tokens descended from the same grant). Unknown
    /// and foreign tokens are ignored, as RFC 7009 §2.2 asks.
    pub async fn revoke(
        &self,
        client_id: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<(), TokenInfoError> {
        let mut tx = self.store.begin().await?;
        match self.tokens.verify_access_token(token, now).await {
            Ok(claims) if claims.client_id == client_id => {
                let expires_at = Timestamp::from_unix_millis(claims.exp * 1000);
                refresh_tokens::revoke_access(&mut tx, &claims.jti, expires_at).await?;
            }
            Ok(_) => {}
            Err(_) => {
                refresh_tokens::revoke_refresh(&mut tx, token, client_id, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The `token_type` of an access token bound to `jkt` (RFC 9449 §5) or not.
pub fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}
