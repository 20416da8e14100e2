//! Path validation: against our roots (P-256 and SM2) with our issuing CAs and newest
//! CRLs, or — for seal and seal-maker certificates only — with the foreign trust store
//! too. What it starts from is gathered once, when the PKI opens or its foreign trust
//! store is set, not for every validation.

use std::collections::HashMap;
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
    crls: Vec<Arc<Vec<u8>>>,
    /// Which trust this is, in [`Validated`]'s keys.
    abroad: bool,
}

/// Paths found valid at the present moment, kept briefly: every verification of a
/// certificate signed by one department seal validates that seal's same path again.
/// A path is reused only for a validation at the present moment too, with the very
/// CRLs it was validated with (the same reads: after a revocation none are kept, so
/// nothing is reused), within [`REUSED_FOR`] and within every certificate's validity.
/// Failures are not kept.
#[derive(Default)]
pub(super) struct Validated(std::sync::Mutex<HashMap<PathKey, Kept>>);

/// A validation: the leaf (DER), its usage, and whether foreign roots were trusted.
type PathKey = (Vec<u8>, Usage, bool);

/// A CRL as read, shared: the same read is the same `Arc`.
pub(super) type Crl = Arc<Vec<u8>>;

struct Kept {
    crls: Vec<Crl>,
    at: Timestamp,
    made: std::time::Instant,
    path: ValidPath,
}

/// How long a validated path is reused: as long as the CRLs it used are.
const REUSED_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Paths kept at most; past it the memo starts afresh.
const PATHS_KEPT: usize = 1_024;

/// How far from now a validation's time may be to count as at the present moment.
const PRESENT_MS: i64 = 2_000;

impl Validated {
    fn get(&self, key: &PathKey, crls: &[Crl], at: Timestamp) -> Option<ValidPath> {
        let kept = self.0.lock().ok()?;
        let found = kept.get(key)?;
        let same_crls = found.crls.len() == crls.len()
            && found.crls.iter().zip(crls).all(|(a, b)| Arc::ptr_eq(a, b));
        let in_validity = found
            .path
            .chain
            .iter()
            .all(|c| c.not_before <= at && at <= c.not_after);
        (same_crls && in_validity && at >= found.at && found.made.elapsed() < REUSED_FOR)
            .then(|| found.path.clone())
    }

    fn keep(&self, key: PathKey, crls: Vec<Crl>, at: Timestamp, path: &ValidPath) {
        if let Ok(mut kept) = self.0.lock() {
            if kept.len() >= PATHS_KEPT {
                kept.clear();
            }
            kept.insert(
                key,
                Kept {
                    crls,
                    at,
                    made: std::time::Instant::now(),
                    path: path.clone(),
                },
            );
        }
    }
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
            abroad: false,
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
            crls: foreign.crls.iter().cloned().map(Arc::new).collect(),
            abroad: true,
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
        let present = (at.unix_millis() - Timestamp::now().unix_millis()).abs() < PRESENT_MS;
        let key = (leaf.to_vec(), usage, trust.abroad);
        if present && let Some(path) = self.validated.get(&key, &crls, at) {
            return Ok(Ok(path));
        }
        let ders: Vec<&[u8]> = crls.iter().map(|crl| crl.as_slice()).collect();
        let validated = path::validate(leaf, &trust.intermediates, &trust.roots, &ders, usage, at);
        if present && let Ok(path) = &validated {
            self.validated.keep(key, crls, at, path);
        }
        Ok(validated)
    }
}
