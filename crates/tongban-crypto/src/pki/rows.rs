//! What the PKI keeps in the store: the purposes its keys are made for (bound into
//! their ciphertexts) and the rows of the certificates it issues.

use tongban_core::time::Timestamp;
use tongban_store::pki;

use crate::ca::{Issued, Profile};

/// Purpose of the root key, bound into its ciphertext.
pub(super) const ROOT_PURPOSE: &str = "root-ca";
pub(super) const ISSUING_PURPOSE: &str = "issuing-ca";
pub(super) const TSA_PURPOSE: &str = "tsa";
pub(super) const SM2_ROOT_PURPOSE: &str = "sm2-root-ca";
pub(super) const SM2_ISSUING_PURPOSE: &str = "sm2-issuing-ca";

pub(super) fn certificate_row(
    issuer: &str,
    profile: &Profile,
    key_id: &str,
    issued: &Issued,
) -> pki::CertificateRow {
    certificate_row_named(
        issuer,
        profile.name(),
        &profile.subject_text(),
        key_id,
        issued,
    )
}

pub(super) fn certificate_row_named(
    issuer: &str,
    profile: &str,
    subject: &str,
    key_id: &str,
    issued: &Issued,
) -> pki::CertificateRow {
    pki::CertificateRow {
        serial: issued.serial.clone(),
        issuer: issuer.to_owned(),
        profile: profile.to_owned(),
        subject: subject.to_owned(),
        key_id: key_id.to_owned(),
        not_before: issued.not_before,
        not_after: issued.not_after,
        der: issued.der.clone(),
        revocation: None,
        created_at: Timestamp::now(),
    }
}
