//! Who is calling the REST API and what they may do. The HTTP layer turns a verified,
//! unrevoked access token into a [`Caller`]; domain operations ask the caller for the
//! proof they need (for example [`Admin`]), so an operation cannot be reached without
//! its check.

use tongban_core::id::RequestId;

use crate::tokens::AccessClaims;

/// The scope of platform administration.
pub const ADMIN_SCOPE: &str = "admin";

/// An authenticated API caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject: a person, or the client itself for client_credentials.
    pub subject: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The request, for the audit trail.
    pub request_id: Option<RequestId>,
    /// The assurance level of the person's login (none for a client's own token).
    pub acr: Option<String>,
    /// For a relative acting for the subject: the authority they act under (checked
    /// in force when the token was accepted). Nothing is signed under it.
    pub delegation: Option<String>,
}

/// Why a caller may not do something.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// The token lacks a scope.
    #[error("this needs the scope {0}")]
    MissingScope(&'static str),
    /// The caller is not allowed this particular resource.
    #[error("{0}")]
    NotAllowed(String),
}

/// Proof that the caller is a platform administrator. Only [`Caller::admin`] makes one.
#[derive(Clone, Debug)]
pub struct Admin {
    actor: String,
    request_id: Option<RequestId>,
}

impl Admin {
    /// A platform administrator in the console (see [`crate::console::Desk::admin`]).
    pub(crate) fn person(
        subject: crate::subjects::SubjectId,
        request_id: Option<RequestId>,
    ) -> Self {
        Self {
            actor: format!("subject:{subject}"),
            request_id,
        }
    }

    /// Who acts, for the audit trail.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The request, for the audit trail.
    pub fn request_id(&self) -> Option<RequestId> {
        self.request_id.clone()
    }
}

impl Caller {
    /// The caller of a verified access token.
    pub fn from_claims(claims: &AccessClaims, request_id: Option<RequestId>) -> Self {
        Self {
            subject: claims.sub.clone(),
            client_id: claims.client_id.clone(),
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            request_id,
            acr: claims.acr.clone(),
            delegation: claims.delegation.clone(),
        }
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Platform administration: a token with scope `admin` (issued only to clients
    /// registered with that scope).
    pub fn admin(&self) -> Result<Admin, Denied> {
        if !self.has_scope(ADMIN_SCOPE) {
            return Err(Denied::MissingScope(ADMIN_SCOPE));
        }
        Ok(Admin {
            actor: if self.subject == self.client_id {
                format!("client:{}", self.client_id)
            } else {
                format!("subject:{}", self.subject)
            },
            request_id: self.request_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(scope: &str) -> Caller {
        Caller {
            subject: "c1".into(),
            client_id: "c1".into(),
            scopes: scope.split_whitespace().map(str::to_owned).collect(),
            request_id: None,
            acr: None,
            delegation: None,
        }
    }

    #[test]
    fn admin_needs_the_admin_scope() {
        assert!(caller("openid profile").admin().is_err());
        assert!(caller("administrator").admin().is_err());
        let admin = caller("openid admin").admin().expect("admin");
        assert_eq!(admin.actor(), "client:c1");
    }
}
