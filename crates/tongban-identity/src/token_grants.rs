//! The token endpoint's grants: an authorization code with its PKCE verifier (RFC 6749
//! §4.1.3, RFC 7636), a refresh token rotated with reuse detection (RFC 9700 §4.14),
//! and client credentials (§4.4), each bound to the key of a DPoP proof when one came
//! (RFC 9449). The HTTP layer authenticates the client first and serialises the answer.

use serde::Serialize;
use tongban_core::time::Timestamp;
use tongban_store::{Conn, Store, StoreError};

use crate::clients::Client;
use crate::delegation::{self, Delegation, Matter};
use crate::pairwise::PairwiseKey;
use crate::refresh_tokens::{self, GrantError, RefreshGrant};
use crate::refusal::Refusal;
use crate::sso::{self, CodeError, CodeKey};
use crate::token_info::token_type;
use crate::tokens::{ACCESS_TOKEN_SECS, AccessRequest, ActorClaim, TokenError, TokenIssuer};

/// What the grants need.
pub struct TokenGrants<'a> {
    /// Codes, refresh tokens, sessions.
    pub store: &'a Store,
    /// Signs ID and access tokens.
    pub tokens: &'a TokenIssuer,
    /// Opens authorization codes.
    pub codes: &'a CodeKey,
    /// Pairwise subject identifiers of third-party clients.
    pub pairwise: &'a PairwiseKey,
}

/// The token request's fields (RFC 6749 §4.1.3, §6, §4.4).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenRequest<'a> {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: &'a str,
    /// The authorization code.
    pub code: Option<&'a str>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: Option<&'a str>,
    /// The PKCE verifier.
    pub code_verifier: Option<&'a str>,
    /// The refresh token to rotate.
    pub refresh_token: Option<&'a str>,
    /// The scopes a client asks for itself.
    pub scope: Option<&'a str>,
    /// The thumbprint of the request's DPoP proof key.
    pub jkt: Option<&'a str>,
}

/// The tokens issued (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct Issued {
    /// The access token (RFC 9068 JWT).
    pub access_token: String,
    /// `Bearer`, or `DPoP` when bound to a key.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// For a login: the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// For clients allowed refresh: the next refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes.
    pub scope: String,
}

impl Issued {
    /// An access token alone, bound to `jkt` if a proof came.
    fn access(access_token: String, jkt: Option<&str>, scope: String) -> Self {
        Self {
            access_token,
            token_type: token_type(jkt),
            expires_in: ACCESS_TOKEN_SECS,
            id_token: None,
            refresh_token: None,
            scope,
        }
    }
}

/// Why tokens could not be issued (the store or a key failed).
#[derive(Debug, thiserror::Error)]
pub enum TokenGrantError {
    /// Signing a token failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A refresh token could not be stored.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CodeError> for TokenGrantError {
    fn from(error: CodeError) -> Self {
        match error {
            CodeError::Store(store) => Self::Store(store),
            CodeError::InvalidGrant(why) => Self::Grant(GrantError::InvalidGrant(why)),
        }
    }
}

type Answer = Result<Result<Issued, Refusal>, TokenGrantError>;

impl TokenGrants<'_> {
    /// The tokens the authenticated `client` asked for with `request`.
    pub async fn exchange(
        &self,
        client: &Client,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Answer {
        if !client.allows_grant(request.grant_type) {
            let why = "this client may not use that grant type";
            return Ok(Err(Refusal::new("unsupported_grant_type", why)));
        }
        // client_credentials writes nothing (but an assertion's jti, already spent): no
        // transaction, so no write lock is held while its token is signed.
        if request.grant_type == "client_credentials" {
            return self.client_credentials(client, request, now).await;
        }
        let mut tx = self.store.begin().await?;
        let answer = match request.grant_type {
            "authorization_code" => self.code(&mut tx, client, request, now).await,
            "refresh_token" => self.refresh(&mut tx, client, request, now).await,
            _ => Ok(Err(Refusal::new(
                "unsupported_grant_type",
                "unknown grant type",
            ))),
        };
        // Refusals commit too: a spent code, a revoked family must stay so.
        tx.commit().await.map_err(StoreError::from)?;
        answer
    }

    async fn code(
        &self,
        tx: &mut Conn,
        client: &Client,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Answer {
        let (Some(code), Some(redirect_uri), Some(verifier)) =
            (request.code, request.redirect_uri, request.code_verifier)
        else {
            let why = "code, redirect_uri and code_verifier are required";
            return Ok(Err(Refusal::new("invalid_request", why)));
        };
        let jkt = request.jkt;
        let redemption = sso::Redemption {
            code,
            client_id: &client.id,
            redirect_uri,
            verifier,
            jkt,
        };
        let grant = match sso::redeem_code(tx, self.codes, redemption, now).await {
            Ok(grant) => grant,
            Err(CodeError::InvalidGrant(why)) => {
                return Ok(Err(Refusal::new("invalid_grant", why)));
            }
            Err(CodeError::Store(error)) => return Err(error.into()),
        };
        // The relying party joins the session (for back-channel logout) under the
        // subject it is told: pairwise for a third-party client; for a relative's
        // login, the person they act for.
        let nonce = grant.nonce.as_deref();
        if grant.delegation.is_some() && !client.accepts_delegation {
            let why = "this client does not take logins for another person";
            return Ok(Err(Refusal::new("invalid_grant", why)));
        }
        // A relative's login for a person is as strong as the weaker of the two.
        let session = &match &grant.delegation {
            Some(d) => {
                let own = crate::assurance::level_of_acr(&grant.session.acr);
                let acr = crate::identity_registry::acr(own.min(d.principal_assurance));
                sso::Session {
                    acr,
                    ..grant.session.clone()
                }
            }
            None => grant.session.clone(),
        };
        let subject = grant
            .delegation
            .as_ref()
            .map_or(session.subject, |d| d.principal);
        let delegation_id = grant.delegation.as_ref().map(|d| d.id.clone());
        let joined = sso::join_session(
            tx,
            self.pairwise,
            client,
            session,
            subject,
            delegation_id.as_deref(),
        );
        let Some(participant) = joined.await? else {
            return Ok(Err(Refusal::new("invalid_grant", "the session has ended")));
        };
        let actor = grant
            .delegation
            .as_ref()
            .map(|d| self.actor(client, d, &grant.scope));
        let id_token = self
            .tokens
            .id_token(
                &client.id,
                &participant,
                session,
                nonce,
                actor.as_ref(),
                now,
            )
            .await?;
        let access = AccessRequest {
            sub: &participant.sub,
            client_id: &client.id,
            scope: &grant.scope,
            login: Some((&session.acr, session.auth_time)),
            jkt,
            actor: actor.as_ref().zip(delegation_id.as_deref()),
        };
        if let Some(d) = &grant.delegation {
            delegation::acts::record(tx, d, "sign-in", Some(&client.id), now).await?;
        }
        let (access_token, claims) = self.tokens.access_token(access, now).await?;
        let mut refresh_token = None;
        let mut family = None;
        if client.allows_grant("refresh_token") {
            let refresh = RefreshGrant {
                family_id: String::new(),
                client_id: client.id.clone(),
                session_id: Some(session.id.clone()),
                subject_id: subject.to_string(),
                scope: grant.scope.clone(),
                expires_at: now,
                dpop_jkt: jkt.map(str::to_owned),
                login: None,
                delegation_id: delegation_id.clone(),
            };
            let (token, stored) = refresh_tokens::issue_refresh(tx, &refresh, now).await?;
            refresh_token = Some(token);
            family = Some(stored.family_id);
        }
        refresh_tokens::record_code_tokens(tx, code, family.as_deref(), &claims.jti).await?;
        Ok(Ok(Issued {
            id_token: Some(id_token),
            refresh_token,
            ..Issued::access(access_token, jkt, grant.scope.join(" "))
        }))
    }

    async fn refresh(
        &self,
        tx: &mut Conn,
        client: &Client,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Answer {
        let Some(token) = request.refresh_token else {
            return Ok(Err(Refusal::new(
                "invalid_request",
                "refresh_token is required",
            )));
        };
        let (next, grant) =
            match refresh_tokens::rotate(tx, token, &client.id, request.jkt, now).await {
                Ok(rotated) => rotated,
                Err(GrantError::InvalidGrant(why)) => {
                    return Ok(Err(Refusal::new("invalid_grant", why)));
                }
                Err(error) => return Err(error.into()),
            };
        // A relative's tokens for a person live only while the authority does.
        let delegation = match &grant.delegation_id {
            Some(id) => match delegation::find(tx, id).await? {
                Some(d) if d.live(now) && d.covers(Matter::SignIn) && client.accepts_delegation => {
                    Some(d)
                }
                _ => {
                    refresh_tokens::revoke_family(tx, &grant.family_id, now).await?;
                    let why = "the authority to act for this person has ended";
                    return Ok(Err(Refusal::new("invalid_grant", why)));
                }
            },
            None => None,
        };
        let actor = delegation
            .as_ref()
            .map(|d| self.actor(client, d, &grant.scope));
        let sub = client.subject_for(self.pairwise, &grant.subject_id);
        // As strong as the weaker of the relative's login and the person's identity.
        let login = grant.login.as_ref().map(|(acr, at)| {
            let own = crate::assurance::level_of_acr(acr);
            let level = delegation
                .as_ref()
                .map_or(own, |d| own.min(d.principal_assurance));
            (crate::identity_registry::acr(level), *at)
        });
        let access = AccessRequest {
            sub: &sub,
            client_id: &client.id,
            scope: &grant.scope,
            login: login.as_ref().map(|(acr, at)| (acr.as_str(), *at)),
            jkt: request.jkt,
            actor: actor.as_ref().zip(grant.delegation_id.as_deref()),
        };
        self.access_only(access, Some(next), now).await
    }

    async fn client_credentials(
        &self,
        client: &Client,
        request: &TokenRequest<'_>,
        now: Timestamp,
    ) -> Answer {
        if !client.confidential {
            let why = "client_credentials needs a confidential client";
            return Ok(Err(Refusal::new("invalid_client", why)));
        }
        let requested: Vec<String> = match request.scope {
            Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
            None => client.scopes.clone(),
        };
        if let Some(extra) = requested.iter().find(|s| !client.scopes.contains(s)) {
            let why = format!("this client may not request {extra}");
            return Ok(Err(Refusal::new("invalid_scope", why)));
        }
        // With no resource owner, the client is the subject (RFC 9068 §2.2).
        let access = AccessRequest {
            sub: &client.id,
            client_id: &client.id,
            scope: &requested,
            login: None,
            jkt: request.jkt,
            actor: None,
        };
        self.access_only(access, None, now).await
    }

    /// The actor claim of `delegation`'s relative as `client` knows them: their
    /// identifier, and their name if the client may know names.
    fn actor(&self, client: &Client, delegation: &Delegation, scope: &[String]) -> ActorClaim {
        ActorClaim {
            sub: client.subject_for(self.pairwise, &delegation.delegate.to_string()),
            name: scope
                .iter()
                .any(|s| s == "profile")
                .then(|| delegation.delegate_name.clone()),
        }
    }

    /// An access token for `access`, with the next refresh token if there is one.
    async fn access_only(
        &self,
        access: AccessRequest<'_>,
        refresh_token: Option<String>,
        now: Timestamp,
    ) -> Answer {
        let (jkt, scope) = (access.jkt, access.scope.join(" "));
        let (access_token, _) = self.tokens.access_token(access, now).await?;
        Ok(Ok(Issued {
            refresh_token,
            ..Issued::access(access_token, jkt, scope)
        }))
    }
}
