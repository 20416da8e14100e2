//! Certification path validation (RFC 5280 §6, the parts our profiles need): the one
//! function the whole product uses to decide whether a certificate was good at an
//! instant. Its typed result becomes part of validation reports.
//!
//! Checks, for every certificate from the leaf up to a trust anchor: signature by the
//! next one, validity at the instant, CA flag, key usage keyCertSign and path length on
//! issuers, the leaf's key usage and extended key usage for its purpose, and revocation
//! of the leaf (and of intermediates when their issuer's CRL is supplied) via CRLs
//! whose signature and freshness are checked too.

use tongban_core::time::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::crl::RevocationReason;
use crate::sm2_certificates::sm2_signature_valid;

/// Signatures already found valid, each as SHA-256 of the signed object's whole DER and
/// the signer's public key. A signature over fixed bytes by a fixed key stays valid, so
/// validating the same chain and CRLs again (every verification of a seal's or a
/// certificate's signature) skips the public-key operations; expiry and revocation are
/// still judged each time. Bounded: emptied when full.
static VERIFIED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<[u8; 32]>>> =
    std::sync::LazyLock::new(Default::default);

const VERIFIED_MAX: usize = 10_000;

/// Whether `signed` (whole DER) verifies under `key` (SPKI DER), by `check` the first
/// time.
fn verified_once(signed: &[u8], key: &[u8], check: impl FnOnce() -> bool) -> bool {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    hash.update(&(signed.len() as u64).to_be_bytes());
    hash.update(signed);
    hash.update(key);
    let mut memo = [0u8; 32];
    memo.copy_from_slice(hash.finish().as_ref());
    let known = VERIFIED
        .lock()
        .map(|set| set.contains(&memo))
        .unwrap_or(false);
    if known {
        return true;
    }
    let valid = check();
    if valid && let Ok(mut set) = VERIFIED.lock() {
        if set.len() >= VERIFIED_MAX {
            set.clear();
        }
        set.insert(memo);
    }
    valid
}

/// `cert`'s signature verifies under `issuer`'s key: SM2-with-SM3 with our own SM2
/// verification, everything else with x509-parser's.
fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let key = issuer.public_key();
    verified_once(cert.as_raw(), key.raw, || {
        let (tbs, signature) = (cert.tbs_certificate.as_ref(), &cert.signature_value.data);
        let algorithm = &cert.signature_algorithm.algorithm;
        sm2_signature_valid(algorithm, tbs, signature, key.raw)
            .unwrap_or_else(|| cert.verify_signature(Some(key)).is_ok())
    })
}

/// What the leaf certificate must be good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Seals: keyUsage digitalSignature or nonRepudiation.
    Seal,
    /// Time-stamping: extKeyUsage timeStamping, and only that (RFC 3161 §2.3).
    TimeStamping,
    /// Token signing: keyUsage digitalSignature.
    TokenSigning,
}

/// A certificate in a validated path, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject distinguished name (RFC 4514 text).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
}

/// A path that validated: leaf first, trust anchor last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPath {
    /// The certificates.
    pub chain: Vec<CertSummary>,
    /// thisUpdate of the CRL that showed the leaf unrevoked.
    pub crl_this_update: Timestamp,
}

/// Why a path did not validate. Each names the certificate at fault by subject.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A certificate or CRL could not be parsed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// No issuer among the intermediates and trust anchors.
    #[error("no trusted issuer for {subject}")]
    UnknownIssuer {
        /// Certificate whose issuer was not found.
        subject: String,
    },
    /// The issuer's key does not verify the signature.
    #[error("signature of {subject} does not verify")]
    BadSignature {
        /// Certificate with the bad signature.
        subject: String,
    },
    /// Validity ended before the instant.
    #[error("{subject} expired at {not_after}")]
    Expired {
        /// The certificate.
        subject: String,
        /// End of validity.
        not_after: Timestamp,
    },
    /// Validity starts after the instant.
    #[error("{subject} is not valid before {not_before}")]
    NotYetValid {
        /// The certificate.
        subject: String,
        /// Start of validity.
        not_before: Timestamp,
    },
    /// An issuer lacks the CA flag or keyCertSign.
    #[error("{subject} is not a CA but issued a certificate")]
    NotACa {
        /// The would-be issuer.
        subject: String,
    },
    /// The path is longer than an issuer's pathLenConstraint allows.
    #[error("path length constraint of {subject} exceeded")]
    PathLength {
        /// The constraining issuer.
        subject: String,
    },
    /// The leaf's key usage does not allow the purpose.
    #[error("{subject} lacks the key usage for {usage:?}")]
    KeyUsage {
        /// The leaf.
        subject: String,
        /// The purpose.
        usage: Usage,
    },
    /// The leaf's extended key usage does not allow the purpose.
    #[error("{subject} lacks the extended key usage for {usage:?}")]
    ExtendedKeyUsage {
        /// The leaf.
        subject: String,
        /// The purpose.
        usage: Usage,
    },
    /// Revoked at or before the instant.
    #[error("{subject} was revoked at {at} ({})", reason.name())]
    Revoked {
        /// The certificate.
        subject: String,
        /// When.
        at: Timestamp,
        /// Why.
        reason: RevocationReason,
    },
    /// A critical extension we do not process (RFC 5280 §6.1.3 (a)(4) would need it).
    #[error("{subject} has a critical extension {oid} that is not processed")]
    UnhandledCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// No valid, current CRL from the issuer: status cannot be decided (indeterminate).
    #[error("no valid CRL for {subject} at the instant")]
    RevocationUnknown {
        /// The certificate whose status is unknown.
        subject: String,
    },
}

/// Validates `leaf` for `usage` at instant `at`, building the path through
/// `intermediates` to one of `anchors`, checking revocation with `crls` (DER).
pub fn validate<C: AsRef<[u8]>>(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    crls: &[C],
    usage: Usage,
    at: Timestamp,
) -> Result<ValidPath, PathError> {
    let leaf = parse(leaf)?;
    let intermediates = intermediates
        .iter()
        .map(|d| parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    let anchors = anchors
        .iter()
        .map(|d| parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    let crls = crls
        .iter()
        .map(|d| {
            CertificateRevocationList::from_der(d.as_ref())
                .map(|(_, crl)| crl)
                .map_err(|_| PathError::Malformed("CRL"))
        })
        .collect::<Result<Vec<_>, _>>()?;

    check_leaf_usage(&leaf, usage)?;
    check_critical_extensions(&leaf)?;
    let mut chain = vec![&leaf];
    let mut crl_this_update = None;
    loop {
        let current = *chain.last().unwrap_or(&&leaf);
        check_validity(current, at)?;
        // Names are spelled out only for an error: formatting them was a fifth of
        // validating a path whose signatures are remembered.
        let subject = || current.subject().to_string();
        // A trust anchor is trusted as configured: its own signature, validity and
        // revocation are not ours to judge beyond the validity window.
        let anchor = anchors
            .iter()
            .find(|a| a.subject().as_raw() == current.issuer().as_raw() && signed_by(current, a));
        let issuer = match anchor {
            Some(anchor) => anchor,
            None => {
                let candidates: Vec<&X509Certificate> = intermediates
                    .iter()
                    .filter(|i| i.subject().as_raw() == current.issuer().as_raw())
                    .filter(|i| !chain.iter().any(|c| c.as_raw() == i.as_raw()))
                    .collect();
                if candidates.is_empty() {
                    return Err(PathError::UnknownIssuer { subject: subject() });
                }
                candidates
                    .into_iter()
                    .find(|i| signed_by(current, i))
                    .ok_or_else(|| PathError::BadSignature { subject: subject() })?
            }
        };
        if anchor.is_none() && current.issuer().as_raw() == current.subject().as_raw() {
            return Err(PathError::UnknownIssuer { subject: subject() });
        }
        check_issuer(issuer, chain.len() - 1)?;
        if anchor.is_none() {
            check_critical_extensions(issuer)?;
        }
        // Revocation: required for the leaf; for intermediates only when the issuer's CRL
        // was supplied (an offline root publishes rarely).
        match revocation(current, issuer, &crls, at) {
            Ok(this_update) => {
                if chain.len() == 1 {
                    crl_this_update = Some(this_update);
                }
            }
            Err(PathError::RevocationUnknown { .. }) if chain.len() > 1 => {}
            Err(e) => return Err(e),
        }
        if anchor.is_some() {
            check_validity(issuer, at)?;
            chain.push(issuer);
            break;
        }
        chain.push(issuer);
        if chain.len() > 8 {
            return Err(PathError::PathLength {
                subject: issuer.subject().to_string(),
            });
        }
    }
    Ok(ValidPath {
        chain: chain.iter().map(|c| summary(c)).collect(),
        crl_this_update: crl_this_update.unwrap_or(at),
    })
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PathError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|_| PathError::Malformed("certificate"))
}

fn ts(time: x509_parser::time::ASN1Time) -> Timestamp {
    Timestamp::from_unix_millis(time.timestamp().saturating_mul(1000))
}

fn summary(cert: &X509Certificate<'_>) -> CertSummary {
    CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: crate::ca::hex(cert.raw_serial()),
        not_before: ts(cert.validity().not_before),
        not_after: ts(cert.validity().not_after),
    }
}

fn check_validity(cert: &X509Certificate<'_>, at: Timestamp) -> Result<(), PathError> {
    let (not_before, not_after) = (
        ts(cert.validity().not_before),
        ts(cert.validity().not_after),
    );
    if at < not_before {
        return Err(PathError::NotYetValid {
            subject: cert.subject().to_string(),
            not_before,
        });
    }
    if at > not_after {
        return Err(PathError::Expired {
            subject: cert.subject().to_string(),
            not_after,
        });
    }
    Ok(())
}

/// `below` is how many CA certificates lie between `issuer` and the leaf.
fn check_issuer(issuer: &X509Certificate<'_>, below: usize) -> Result<(), PathError> {
    let subject = || issuer.subject().to_string();
    let constraints = issuer
        .basic_constraints()
        .map_err(|_| PathError::Malformed("basicConstraints"))?;
    let Some(constraints) = constraints.filter(|c| c.value.ca) else {
        return Err(PathError::NotACa { subject: subject() });
    };
    if let Ok(Some(ku)) = issuer.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(PathError::NotACa { subject: subject() });
    }
    if let Some(max) = constraints.value.path_len_constraint
        && below > max as usize
    {
        return Err(PathError::PathLength { subject: subject() });
    }
    Ok(())
}

/// Extensions this validator processes (or that carry no constraint): basic
/// constraints, key usage, extended key usage, subject alternative name, subject and
/// authority key identifiers.
const HANDLED_EXTENSIONS: [&str; 6] = [
    "2.5.29.19",
    "2.5.29.15",
    "2.5.29.37",
    "2.5.29.17",
    "2.5.29.14",
    "2.5.29.35",
];

fn check_critical_extensions(cert: &X509Certificate<'_>) -> Result<(), PathError> {
    for extension in cert.extensions().iter().filter(|e| e.critical) {
        let oid = extension.oid.to_id_string();
        if !HANDLED_EXTENSIONS.contains(&oid.as_str()) {
            return Err(PathError::UnhandledCriticalExtension {
                subject: cert.subject().to_string(),
                oid,
            });
        }
    }
    Ok(())
}

/// CRL extensions we understand: CRL number and authority key identifier. A CRL with
/// any other critical extension (issuing distribution point, delta indicator) covers a
/// scope we would misjudge, so it is not used.
const HANDLED_CRL_EXTENSIONS: [&str; 2] = ["2.5.29.20", "2.5.29.35"];

/// Whether `crl` is a complete CRL signed by `issuer`, which may sign CRLs.
fn usable_crl(crl: &CertificateRevocationList<'_>, issuer: &X509Certificate<'_>) -> bool {
    let may_sign_crls = match issuer.key_usage() {
        Ok(Some(ku)) => ku.value.crl_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    may_sign_crls
        && crl.issuer().as_raw() == issuer.subject().as_raw()
        && verified_once(crl.as_raw(), issuer.public_key().raw, || {
            let (tbs, signature) = (crl.tbs_cert_list.as_ref(), &crl.signature_value.data);
            let algorithm = &crl.signature_algorithm.algorithm;
            sm2_signature_valid(algorithm, tbs, signature, issuer.public_key().raw)
                .unwrap_or_else(|| crl.verify_signature(issuer.public_key()).is_ok())
        })
        && crl
            .extensions()
            .iter()
            .filter(|e| e.critical)
            .all(|e| HANDLED_CRL_EXTENSIONS.contains(&e.oid.to_id_string().as_str()))
}

fn check_leaf_usage(leaf: &X509Certificate<'_>, usage: Usage) -> Result<(), PathError> {
    let subject = || leaf.subject().to_string();
    let ku = leaf
        .key_usage()
        .map_err(|_| PathError::Malformed("keyUsage"))?;
    let eku = leaf
        .extended_key_usage()
        .map_err(|_| PathError::Malformed("extKeyUsage"))?;
    let ku_ok = match (&ku, usage) {
        (None, _) => true,
        (Some(k), Usage::Seal) => k.value.digital_signature() || k.value.non_repudiation(),
        (Some(k), Usage::TimeStamping | Usage::TokenSigning) => k.value.digital_signature(),
    };
    if !ku_ok {
        return Err(PathError::KeyUsage {
            subject: subject(),
            usage,
        });
    }
    let eku_ok = match usage {
        Usage::TimeStamping => eku.as_ref().is_some_and(|e| {
            e.critical && e.value.time_stamping && !e.value.any && e.value.other.is_empty()
        }),
        // A timestamping-only certificate must not sign anything else.
        Usage::Seal | Usage::TokenSigning => !eku
            .as_ref()
            .is_some_and(|e| e.value.time_stamping && !e.value.any),
    };
    if !eku_ok {
        return Err(PathError::ExtendedKeyUsage {
            subject: subject(),
            usage,
        });
    }
    Ok(())
}

/// Finds a CRL from `issuer` that verifies and covers `at`, and looks `cert` up in it.
fn revocation(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    crls: &[CertificateRevocationList<'_>],
    at: Timestamp,
) -> Result<Timestamp, PathError> {
    let subject = || cert.subject().to_string();
    let usable: Vec<&CertificateRevocationList<'_>> =
        crls.iter().filter(|crl| usable_crl(crl, issuer)).collect();
    // A revocation known from any authentic CRL counts, however old that CRL is.
    for crl in &usable {
        let entry = crl
            .iter_revoked_certificates()
            .find(|r| r.raw_serial() == cert.raw_serial());
        if let Some(entry) = entry {
            let revoked_at = ts(entry.revocation_date);
            if revoked_at <= at {
                let reason = entry
                    .reason_code()
                    .map_or(RevocationReason::Unspecified, |(_, code)| {
                        RevocationReason::from_code(i64::from(code.0))
                    });
                return Err(PathError::Revoked {
                    subject: subject(),
                    at: revoked_at,
                    reason,
                });
            }
        }
    }
    // "Not revoked" needs a CRL still current at `at`. One issued after `at` is fine
    // (and better): it lists revocations with their dates.
    usable
        .iter()
        .filter(|crl| crl.next_update().is_some_and(|n| ts(n) >= at))
        .map(|crl| ts(crl.last_update()))
        .max()
        .ok_or_else(|| PathError::RevocationUnknown { subject: subject() })
}
