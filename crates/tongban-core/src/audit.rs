//! Audit event types: what happened, who did it, to what, in which request.
//!
//! Audit events are written in the same transaction as the change they describe
//! (see `tongban-store`), so there is never a change without its record.

use serde::{Deserialize, Serialize};

use crate::id::{AuditEventId, RequestId};
use crate::time::Timestamp;

/// One entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unique id.
    pub id: AuditEventId,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Who acted: a subject id, a client id, or `system`.
    pub actor: String,
    /// What was done, as a dotted verb, e.g. `seal.created`.
    pub action: String,
    /// What it was done to, e.g. a seal id; none for global actions.
    pub target: Option<String>,
    /// The request that caused it, if any.
    pub request_id: Option<RequestId>,
    /// Further facts as a JSON object; never secrets or personal identity numbers.
    pub details: String,
    /// The department whose matter it was (its certificate types, seals, staff,
    /// clients or counter), so that department's administrators read it; none for a
    /// person's own matters and platform-wide ones.
    pub department: Option<String>,
}

impl AuditEvent {
    /// An event happening now; `details` is a JSON object.
    pub fn new(
        actor: &str,
        action: &str,
        target: Option<&str>,
        request_id: Option<RequestId>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            id: AuditEventId::new(),
            occurred_at: Timestamp::now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            request_id,
            details: details.to_string(),
            department: None,
        }
    }

    /// The same event, attributed to `department`.
    pub fn in_department(mut self, department: impl ToString) -> Self {
        self.department = Some(department.to_string());
        self
    }
}
