//! Issues batch jobs in the background (`tongban_ecert::batch` keeps the jobs, the
//! chunks and the leases). Every instance runs one; leases keep them apart.

use std::sync::Arc;
use std::time::Duration;

use tongban_crypto::pki::Pki;
use tongban_store::Store;

/// How often to look for work when there is none.
const POLL: Duration = Duration::from_millis(500);

/// Runs until the task is aborted.
pub async fn run(store: Store, pki: Arc<Pki>, base: String) {
    let owner = tongban_core::id::Uuid::new_v4().to_string();
    loop {
        match tongban_ecert::batch::work_once(&store, &pki, &base, &owner).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "batch issuance: a chunk failed; it will be retried")
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
