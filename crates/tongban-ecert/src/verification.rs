//! Verification for third parties: by a holder's share (token or short code), which
//! shows only what the share allows and is logged for the holder, or by a presented
//! VC-JWT. The report checks the signature, the chain to our root, the status in the
//! register (the same bit as the status list) and the validity period.

use std::sync::Arc;

use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_ledger::Log;
use tongban_store::tallies::Tally;
use tongban_store::{Conn, Store, StoreError};

use crate::credential;
use crate::error::EcertError;
use crate::holder::{self, Share};
use crate::identifier::Identifier;
use crate::register::{self, Certificate};

/// What the verifier presents.
pub enum Presented<'a> {
    /// A share's token (from a link or QR code) or its short code.
    Share(&'a str),
    /// A VC-JWT.
    Credential(&'a str),
}

/// A verification report.
#[derive(Clone, Debug)]
pub struct Report {
    /// Everything checked passed: the certificate is genuine and in force.
    pub valid: bool,
    /// The signature verified with the credential's `x5c` certificate.
    pub signature: bool,
    /// The signing certificate chains to the platform root and is not revoked; or why not.
    pub chain: Result<(), String>,
    /// `active`, `suspended`, `revoked`, `superseded`, `expired`, or `unknown` (not in
    /// this platform's register).
    pub status: String,
    /// The time the status is known as of: when the register was read, or what this
    /// instance's cache was current as of (never more than a second behind). For an
    /// `unknown` status, the time of the report.
    pub status_as_of: Timestamp,
    /// Within its validity period now.
    pub in_validity: bool,
    /// The certificate, when the register knows it (its issuer and holder included).
    pub certificate: Option<Arc<Certificate>>,
    /// The face fields shown.
    pub fields: Value,
    /// The share used, if any.
    pub share: Option<Share>,
    /// Why it is not valid, typed: pages take their words from the message catalogues,
    /// the API its English sentences from `Display`.
    pub findings: Vec<Finding>,
    /// The issuance's entry in the transparency log and its proof, if it is there.
    pub log: Option<tongban_ledger::Proven>,
}

/// One reason in a certificate's verification report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The credential's signature does not verify.
    #[error("the signature does not verify: the credential is not genuine or was changed")]
    BadSignature,
    /// The signing certificate does not chain to our root (the reason).
    #[error("the signing certificate is not trusted: {0}")]
    UntrustedSigner(String),
    /// No valid GB/T 36904 identifier in the credential.
    #[error("the credential carries no valid certificate identifier")]
    NoIdentifier,
    /// The register has no certificate under the identifier.
    #[error("this platform's register has no certificate with this identifier")]
    NotRegistered,
    /// The register issued another credential under the identifier.
    #[error("this platform did not issue this credential under its identifier")]
    NotIssuedHere,
    /// Past its validity.
    #[error("the certificate has expired")]
    Expired,
    /// Replaced by the version with this identifier, if known.
    #[error("the certificate was replaced by {}", .0.as_deref().unwrap_or("a newer version"))]
    Superseded(Option<String>),
    /// Revoked by its department, with the reason it gave.
    #[error("the issuing department revoked the certificate{}", reason_suffix(.0))]
    Revoked(Option<String>),
    /// Suspended by its department, with the reason it gave.
    #[error("the issuing department suspended the certificate{}", reason_suffix(.0))]
    Suspended(Option<String>),
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

impl Finding {
    /// The message catalogue id of the sentence for people; `$by` and `$reason` come
    /// from [`Finding::argument`].
    pub fn message_id(&self) -> &'static str {
        match self {
            Self::BadSignature => "ecert-finding-bad-signature",
            Self::UntrustedSigner(_) => "ecert-finding-untrusted-signer",
            Self::NoIdentifier => "ecert-finding-no-identifier",
            Self::NotRegistered => "ecert-finding-not-registered",
            Self::NotIssuedHere => "ecert-finding-not-issued-here",
            Self::Expired => "ecert-finding-expired",
            Self::Superseded(Some(_)) => "ecert-finding-superseded",
            Self::Superseded(None) => "ecert-finding-superseded-unknown",
            Self::Revoked(Some(_)) => "ecert-finding-revoked-reason",
            Self::Revoked(None) => "ecert-finding-revoked",
            Self::Suspended(Some(_)) => "ecert-finding-suspended-reason",
            Self::Suspended(None) => "ecert-finding-suspended",
        }
    }

    /// The value the sentence names (the newer identifier, the department's reason).
    pub fn argument(&self) -> Option<&str> {
        match self {
            Self::Superseded(value) | Self::Revoked(value) | Self::Suspended(value) => {
                value.as_deref()
            }
            _ => None,
        }
    }
}

/// Verifies what a verifier presents, with where its issuance stands in the
/// transparency log; a share's use is counted and the access logged.
pub async fn verify(
    store: &Store,
    pki: &Pki,
    log: &Log,
    presented: Presented<'_>,
    now: Timestamp,
) -> Result<Report, EcertError> {
    let mut report = verify_presented(store, pki, presented, now).await?;
    // The issuing department sees how often its certificates are verified.
    if let Some(certificate) = &report.certificate {
        let department = certificate.department_id.to_string();
        store.tally(Tally::CertificateVerified, Some(&department), now);
    }
    // The register's copy of a genuine credential: a certificate the register does not
    // know cannot be in the log either.
    if let Some(certificate) = report.certificate.as_ref().filter(|_| report.signature) {
        let hash = certificate.credential_sha256();
        report.log = log.prove(&hash).await?;
    }
    Ok(report)
}

async fn verify_presented(
    store: &Store,
    pki: &Pki,
    presented: Presented<'_>,
    now: Timestamp,
) -> Result<Report, EcertError> {
    match presented {
        Presented::Share(secret) => {
            // Read the share, check the credential, and only then spend a use: a
            // verification that fails on our side leaves a single-use share intact.
            let (share, certificate) = {
                let mut conn = store.conn().await?;
                find_share(&mut conn, secret, now).await?
            };
            // The share's certificate was just read from the database: it is the
            // register's entry, current as of now, and is not read again.
            let certificate = Arc::new(certificate);
            let read = Some((certificate.clone(), now));
            let mut report = report_for(store, pki, &certificate.credential, read, now).await?;
            let mut tx = store.begin().await?;
            spend(&mut tx, &share, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            report.fields = holder::shown(&certificate.face, &share.fields);
            report.share = Some(Share {
                uses: share.uses + 1,
                ..share
            });
            Ok(report)
        }
        Presented::Credential(jwt) => {
            let mut report = report_for(store, pki, jwt.trim(), None, now).await?;
            if let Some(certificate) = &report.certificate {
                report.fields = certificate.face.clone();
            }
            Ok(report)
        }
    }
}

/// The live share named by `secret` (its token or short code), and its certificate.
async fn find_share(
    conn: &mut Conn,
    secret: &str,
    now: Timestamp,
) -> Result<(Share, Certificate), EcertError> {
    let secret = secret.trim();
    let hash = holder::secret_hash(secret);
    let code_hash = holder::secret_hash(&holder::normalise_code(secret));
    let row = sqlx::query(
        "SELECT id, ecert_id, audience, purpose, fields, max_uses, uses, expires_at, revoked_at, created_at \
         FROM ecert_shares WHERE token_sha256 = $1 OR code_sha256 = $2",
    )
    .bind(&hash)
    .bind(&code_hash)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(EcertError::NotFound("share"))?;
    let share = holder::share_from_row(&row)?;
    if share.revoked_at.is_some() {
        return Err(EcertError::Denied("the holder revoked this share".into()));
    }
    if share.expires_at <= now {
        return Err(EcertError::Denied("this share has expired".into()));
    }
    if share.max_uses.is_some_and(|max| share.uses >= max) {
        return Err(EcertError::Denied("this share has been used up".into()));
    }
    let certificate = register::by_id(conn, &share.certificate_id).await?;
    Ok((share, certificate))
}

/// Spends one use of `share` and logs the access for the holder.
async fn spend(conn: &mut Conn, share: &Share, now: Timestamp) -> Result<(), EcertError> {
    // Counted only while the share still stands and uses remain: two verifiers racing
    // for a single-use share cannot both succeed, nor one after the holder revoked it.
    let counted = sqlx::query(
        "UPDATE ecert_shares SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(&share.id)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    if counted.rows_affected() != 1 {
        return Err(EcertError::Denied(
            "this share was used up or revoked meanwhile".into(),
        ));
    }
    holder::record_access(
        conn,
        &share.certificate_id,
        "share",
        Some(&share.id),
        &share.audience,
        &share.purpose,
        now,
    )
    .await?;
    Ok(())
}

/// Checks a credential and what the register says of it: `read` is the register's
/// entry when the caller has just read it (with the time), else it is looked up by the
/// credential's identifier.
async fn report_for(
    store: &Store,
    pki: &Pki,
    jwt: &str,
    read: Option<(Arc<Certificate>, Timestamp)>,
    now: Timestamp,
) -> Result<Report, EcertError> {
    // Path validation reads CRLs on connections of its own: no connection is held
    // meanwhile, or concurrent verifications would starve the pool.
    let checked = credential::check(pki, jwt, now).await?;
    let mut report = Report {
        valid: false,
        signature: checked.signature,
        chain: checked.chain.clone(),
        status: "unknown".into(),
        status_as_of: now,
        in_validity: false,
        certificate: None,
        fields: Value::Object(serde_json::Map::new()),
        share: None,
        findings: Vec::new(),
        log: None,
    };
    if !checked.signature {
        report.findings.push(Finding::BadSignature);
        return Ok(report);
    }
    if let Err(why) = &checked.chain {
        // Nothing of the register for an untrusted signer: anyone can sign a credential
        // that names someone else's identifier.
        report.findings.push(Finding::UntrustedSigner(why.clone()));
        return Ok(report);
    }
    let identifier = checked
        .identifier
        .and_then(|t| t.parse::<Identifier>().ok());
    let Some(identifier) = identifier else {
        report.findings.push(Finding::NoIdentifier);
        return Ok(report);
    };
    let found = match read.filter(|(c, _)| c.identifier == identifier.to_string()) {
        Some(read) => Ok(read),
        None => register::find_current(store, &identifier).await,
    };
    let certificate = match found {
        Ok((found, as_of)) => {
            report.status_as_of = as_of;
            found
        }
        Err(EcertError::NotFound(_)) => {
            report.findings.push(Finding::NotRegistered);
            return Ok(report);
        }
        Err(other) => return Err(other),
    };
    // Only the credential the register issued under this identifier is reported on:
    // another department's seal could sign one naming it, too.
    if certificate.credential != jwt {
        report.findings.push(Finding::NotIssuedHere);
        return Ok(report);
    }
    // The register's status is what the status lists say: both change in the same
    // transaction, so the report reads it once, from the register.
    report.status = certificate.status_at(now).to_owned();
    report.in_validity =
        certificate.valid_from <= now && certificate.valid_until.is_none_or(|u| now < u);
    match report.status.as_str() {
        "active" => {}
        "expired" => report.findings.push(Finding::Expired),
        "superseded" => report
            .findings
            .push(Finding::Superseded(certificate.superseded_by.clone())),
        "revoked" => report
            .findings
            .push(Finding::Revoked(certificate.status_reason.clone())),
        _ => report
            .findings
            .push(Finding::Suspended(certificate.status_reason.clone())),
    }
    // The chain was trusted, or the report ended above.
    report.valid = report.status == "active" && report.in_validity;
    report.certificate = Some(certificate);
    Ok(report)
}

/// What anyone holding a printed rendition may learn from its identifier: whether the
/// certificate is in force, of which type, from which department. Never the holder or
/// the face fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicStatus {
    /// The identifier.
    pub identifier: String,
    /// Type names (zh, en).
    pub type_name: (String, String),
    /// Issuing department: USCC and name.
    pub issuer: (String, String),
    /// `active`, `suspended`, `revoked`, `superseded` or `expired`.
    pub status: String,
    /// Validity.
    pub valid_from: Timestamp,
    /// End of validity; none: until revoked.
    pub valid_until: Option<Timestamp>,
    /// The time the status is known as of (see [`Report::status_as_of`]).
    pub status_as_of: Timestamp,
}

/// The public status of the certificate with `identifier`.
pub async fn public_status(
    store: &Store,
    identifier: &Identifier,
    now: Timestamp,
) -> Result<PublicStatus, EcertError> {
    let (certificate, status_as_of) = register::find_current(store, identifier).await?;
    Ok(PublicStatus {
        identifier: certificate.identifier.clone(),
        type_name: (
            certificate.type_name_zh.clone(),
            certificate.type_name_en.clone(),
        ),
        issuer: certificate.issuer.clone(),
        status: certificate.status_at(now).to_owned(),
        valid_from: certificate.valid_from,
        valid_until: certificate.valid_until,
        status_as_of,
    })
}
