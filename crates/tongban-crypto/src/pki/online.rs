//! A CA whose key this instance holds: the issuing CAs, and a development root.

use std::sync::Arc;

use crate::ca;
use crate::signer::Signer;

/// A CA whose key we hold.
#[derive(Clone)]
pub(super) struct OnlineCa {
    pub(super) name: &'static str,
    pub(super) der: Vec<u8>,
    pub(super) signer: Arc<dyn Signer>,
}

impl OnlineCa {
    /// One of the issuing CAs (P-256 or SM2), whose leaves [`Pki::revoke_in`] revokes.
    pub(super) fn is_issuing(&self) -> bool {
        matches!(self.name, ca::ISSUING | ca::SM2_ISSUING)
    }
}
