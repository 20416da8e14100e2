//! The signing certificate: whose seal it is (ours, or another platform's through the
//! foreign trust store), its chain to a trusted root, its validity and its revocation
//! at the signature's proof of time.

use crate::error::SealError;
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::path::PathError;
use tongban_crypto::pki::Pki;
use tongban_store::Store;

use super::findings::Finding;
use super::{Indication, Revocation, SealInfo, SignatureReport};

/// The seal whose certificate has this serial.
pub(super) async fn seal_of(
    conn: &mut tongban_store::Conn,
    serial: &str,
) -> Result<Option<SealInfo>, SealError> {
    let row = sqlx::query(
        "SELECT s.code, s.name, s.kind, s.department_id, d.name AS department, d.uscc FROM seals s \
         JOIN departments d ON d.id = s.department_id WHERE s.certificate_serial = $1",
    )
    .bind(serial)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(SealInfo {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            department: r.try_get("department")?,
            department_uscc: r.try_get("uscc")?,
            department_id: r.try_get("department_id")?,
        })
    })
    .transpose()
}

/// Subject text and serial (hex) of a certificate.
pub(super) fn describe(cert_der: &[u8]) -> Option<(String, String)> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    Some((
        cert.subject().to_string(),
        tongban_crypto::ca::hex(cert.raw_serial()),
    ))
}

/// Chain, validity and revocation of the signing certificate at `at` (the time-stamp's
/// time, or now without one), into `report`.
pub(super) async fn check_certificate(
    store: &Store,
    pki: &Pki,
    report: &mut SignatureReport,
    leaf: &[u8],
    proof_of_time: Option<Timestamp>,
) -> Result<(), SealError> {
    let Some((subject, serial)) = describe(leaf) else {
        report.fail(
            Indication::Indeterminate,
            "NO_SIGNING_CERTIFICATE_FOUND",
            Finding::CertificateUnreadable,
        );
        return Ok(());
    };
    report.signer = Some(subject);
    // One connection for both lookups, released before path validation reads CRLs. A
    // certificate is one of ours only as the very bytes we issued: a serial is public,
    // and a foreign CA could issue another certificate with it.
    let (ours, personal, revoked_at) = {
        let mut conn = store.conn().await?;
        let issued = tongban_store::pki::certificate(&mut conn, &serial).await?;
        match issued.filter(|row| row.der == leaf) {
            Some(row) => (
                seal_of(&mut conn, &serial).await?,
                row.profile == "personal",
                row.revocation.map(|r| r.at),
            ),
            None => (None, false, None),
        }
    };
    let at = proof_of_time.unwrap_or_else(Timestamp::now);
    let validated = pki.validate_seal(leaf, at).await?;
    // Our own bytes through a foreign root (a cross-certificate) are not our word.
    let abroad = validated.as_ref().is_ok_and(|path| pki.ends_abroad(path));
    report.seal = ours.filter(|_| !abroad);
    // A person's signing certificate we issued is as much ours to vouch for as a seal's.
    let personal = personal && !abroad;
    if report.seal.is_none() && !personal {
        // Another platform's seal, through a root the operator trusts for that, is
        // that platform's to vouch for; anything else must be one of our seals.
        match validated.as_ref().ok().filter(|path| pki.ends_abroad(path)) {
            Some(path) => {
                let anchor = path.chain.last().map(|c| c.subject.clone());
                report
                    .findings
                    .push(Finding::ForeignSeal(anchor.unwrap_or_default()));
            }
            None => report.fail(
                Indication::Indeterminate,
                "SIG_CONSTRAINTS_FAILURE",
                Finding::NotOurSeal,
            ),
        }
    }
    match validated {
        Ok(_) => {
            report.trusted = true;
            report.revocation = Revocation::Good;
            if let Some(revoked) = revoked_at.filter(|revoked| *revoked > at) {
                report.revocation = Revocation::RevokedAfter(revoked);
                report
                    .findings
                    .push(Finding::RevokedAfterTimestamp(revoked));
            }
        }
        Err(PathError::Revoked { at: revoked, .. }) => {
            report.revocation = Revocation::Revoked(revoked);
            if proof_of_time.is_some() {
                report.fail(
                    Indication::TotalFailed,
                    "REVOKED",
                    Finding::RevokedBeforeTimestamp(revoked),
                );
            } else {
                report.fail(
                    Indication::Indeterminate,
                    "REVOKED_NO_POE",
                    Finding::RevokedNoProof,
                );
            }
        }
        Err(PathError::Expired { .. } | PathError::NotYetValid { .. }) => report.fail(
            Indication::Indeterminate,
            "OUT_OF_BOUNDS_NO_POE",
            Finding::CertificateNotValidThen,
        ),
        Err(PathError::UnknownIssuer { .. }) => report.fail(
            Indication::Indeterminate,
            "NO_CERTIFICATE_CHAIN_FOUND",
            Finding::UnknownIssuer,
        ),
        Err(PathError::RevocationUnknown { .. }) => report.fail(
            Indication::Indeterminate,
            "TRY_LATER",
            Finding::NoRevocationInfo,
        ),
        Err(other) => report.fail(
            Indication::Indeterminate,
            "CHAIN_CONSTRAINTS_FAILURE",
            Finding::ChainInvalid(other.to_string()),
        ),
    }
    Ok(())
}
