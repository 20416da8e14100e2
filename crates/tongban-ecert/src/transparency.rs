//! What the transparency log says about a holder's certificates: their issuance,
//! re-issue and status changes, found by the hashes of their credentials (the log
//! holds nothing else that names them).

use tongban_core::time::Timestamp;
use tongban_ledger::Kind;
use tongban_ledger::storage::{self, Filter};
use tongban_store::Conn;

use crate::error::EcertError;
use crate::register::Certificate;

/// Entries about one certificate at most (a certificate's life has a handful).
const PER_CERTIFICATE: i64 = 50;

/// One act about a holder's certificate, as the log has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedAct {
    pub identifier: String,
    pub kind: Kind,
    pub at: Timestamp,
    /// Its index in the log; none while it waits for integration.
    pub index: Option<u64>,
}

/// The log's entries about `certificates`, newest first.
pub async fn about(
    conn: &mut Conn,
    certificates: &[Certificate],
) -> Result<Vec<LoggedAct>, EcertError> {
    let mut acts = Vec::new();
    for certificate in certificates {
        let hash = certificate.credential_sha256();
        let found = storage::entries(conn, Filter::Subject(&hash), 0, PER_CERTIFICATE).await?;
        acts.extend(found.into_iter().map(|(_, stored)| LoggedAct {
            identifier: certificate.identifier.clone(),
            kind: stored.entry.kind,
            at: stored.appended_at,
            index: stored.index,
        }));
    }
    acts.sort_by_key(|a| std::cmp::Reverse(a.at));
    Ok(acts)
}
