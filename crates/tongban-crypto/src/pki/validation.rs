//! Path validation: against our roots (P-256 and SM2) with our issuing CAs and newest
//! CRLs, or — for seal and seal-maker certificates only — with the foreign trust store
//! too. What it starts from is gathered once, when the PKI opens or its foreign trust
//! store is set, not for every validation.

use std::sync::Arc;

use tongban_core::time::Timestamp;

use super::{ForeignTrust, Pki};
use crate::ca;
use crate::error::CryptoError;
use crate::path::{self, PathError, Usage, ValidPath};

/// Intermediates, trust anchors and fixed CRLs (DER).
#[derive(Debug, Default)]
struct Trust {
    intermediates: Vec<Vec<u8>>,
    roots: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

/// What path validation starts from: ours alone, ours with the foreign store, and our
/// roots as a path names them (serial, subject).
#[derive(Debug, Default)]
pub(super) struct Anchors {
    own: Trust,
    abroad: Trust,
    own_roots: Vec<(String, String)>,
}

impl Anchors {
    /// `pki`'s CAs, and with them `foreign`.
    pub(super) fn new(pki: &Pki, foreign: &ForeignTrust) -> Self {
        let sm2 = pki.sm2.as_ref();
        let own = Trust {
            intermediates: std::iter::once(&pki.issuing)
                .chain(sm2.map(|sm2| &sm2.issuing))
                .map(|ca| ca.der.clone())
                .collect(),
            roots: std::iter::once(&pki.root)
                .chain(sm2.map(|sm2| &sm2.root))
                .cloned()
                .collect(),
            crls: Vec::new(),
        };
        let own_roots = own
            .roots
            .iter()
            .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
            .map(|(_, cert)| (ca::hex(cert.raw_serial()), cert.subject().to_string()))
            .collect();
        let abroad = Trust {
            intermediates: [&own.intermediates[..], &foreign.intermediates[..]].concat(),
            roots: [&own.roots[..], &foreign.roots[..]].concat(),
            crls: foreign.crls.clone(),
        };
        Self {
            own,
            abroad,
            own_roots,
        }
    }
}

impl Pki {
    /// This PKI trusting `trust` too, for verifying other platforms' seals.
    pub fn with_foreign_trust(mut self, trust: ForeignTrust) -> Self {
        self.anchors = Arc::new(Anchors::new(&self, &trust));
        self
    }

    /// Whether `path` ends at another platform's root (from the foreign trust store)
    /// rather than at one of ours.
    pub fn ends_abroad(&self, path: &ValidPath) -> bool {
        path.chain.last().is_some_and(|anchor| {
            !self
                .anchors
                .own_roots
                .iter()
                .any(|(serial, subject)| *serial == anchor.serial && *subject == anchor.subject)
        })
    }

    /// Validates a certificate issued under one of our roots (P-256 or SM2) for `usage`
    /// at `at`, with our issuing CAs as intermediates and our newest CRLs.
    pub async fn validate(
        &self,
        leaf: &[u8],
        usage: Usage,
        at: Timestamp,
    ) -> Result<Result<ValidPath, PathError>, CryptoError> {
        self.validate_against(&self.anchors.own, leaf, usage, at)
            .await
    }

    /// Like [`Pki::validate`], trusting the foreign trust store too: for the
    /// certificates of seals (and seal makers) that another platform may have issued.
    /// Never for time-stamps or our own credentials, which only our roots vouch for.
    pub async fn validate_seal(
        &self,
        leaf: &[u8],
        at: Timestamp,
    ) -> Result<Result<ValidPath, PathError>, CryptoError> {
        self.validate_against(&self.anchors.abroad, leaf, Usage::Seal, at)
            .await
    }

    async fn validate_against(
        &self,
        trust: &Trust,
        leaf: &[u8],
        usage: Usage,
        at: Timestamp,
    ) -> Result<Result<ValidPath, PathError>, CryptoError> {
        let mut crls = Vec::new();
        let issuing = std::iter::once(ca::ISSUING).chain(self.sm2.iter().map(|_| ca::SM2_ISSUING));
        for name in issuing {
            let crl = self
                .recent_crl(name)
                .await?
                .ok_or_else(|| CryptoError::NotFound(format!("CRL of {name}")))?;
            crls.push(crl);
        }
        for root in [ca::ROOT, ca::SM2_ROOT] {
            if let Ok(Some(crl)) = self.recent_crl(root).await {
                crls.push(crl);
            }
        }
        crls.extend(trust.crls.iter().cloned());
        Ok(path::validate(
            leaf,
            &trust.intermediates,
            &trust.roots,
            &crls,
            usage,
            at,
        ))
    }
}
