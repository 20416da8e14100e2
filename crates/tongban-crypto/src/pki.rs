//! The PKI service: the root (trust anchor), the online issuing CA, the time-stamping
//! authority, certificate issuance and revocation, and CRLs — everything persisted
//! through `tongban-store`, private keys only through the encrypted [`KeyStore`].
//!
//! Development: `keys-dev/` holds a root certificate and its encrypted key, so the
//! service makes its own issuing CA on first start. Production: the root is offline;
//! the issuing CA's key is made here, its request signed elsewhere and imported
//! (`tongban keys issuing-csr`, `tongban keys import-issuing`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tongban_core::time::Timestamp;
use tongban_store::Conn as AnyConnection;
use tongban_store::{Store, StoreError, pki};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ca::{self, Issued, Profile, PublicUrls};
use crate::certified::{Certified, CertifiedKeys};
use crate::crl::{self, CRL_VALIDITY, RevocationReason, RevokedEntry};
use crate::error::CryptoError;
use crate::kek::Kek;
use crate::keystore::{KeyStore, open_row};
use crate::path::{self, PathError, Usage, ValidPath};
use crate::signer::{Algorithm, PublicKey, Signer};
use crate::token_keys::TokenKeys;
use crate::tsa::Tsa;

/// File names in the key directory.
pub const ROOT_CERT_FILE: &str = "root-ca.pem";
/// The encrypted development root key (base64 of the KEK-sealed PKCS#8).
pub const ROOT_KEY_FILE: &str = "root-ca.key";
/// Purpose of the root key, bound into its ciphertext.
const ROOT_PURPOSE: &str = "root-ca";
const ISSUING_PURPOSE: &str = "issuing-ca";
const TSA_PURPOSE: &str = "tsa";

/// A CA whose key we hold.
#[derive(Clone)]
struct OnlineCa {
    name: &'static str,
    der: Vec<u8>,
    signer: Arc<dyn Signer>,
}

/// The operator-provided CRL of an offline root, published as is.
pub const ROOT_CRL_FILE: &str = "root-ca.crl";

/// The PKI of one deployment.
#[derive(Clone)]
pub struct Pki {
    store: Store,
    keys: KeyStore,
    urls: PublicUrls,
    root: Vec<u8>,
    /// The root's key, in development only: then we sign the root's CRL too.
    dev_root: Option<OnlineCa>,
    keys_dir: PathBuf,
    issuing: OnlineCa,
    tsa: Tsa,
    tokens: TokenKeys,
    certified: CertifiedKeys,
    /// The CRLs path validation used last, by CA name, with when they were read; and
    /// until when none is kept (after a revocation).
    recent_crls: Arc<std::sync::Mutex<RecentCrls>>,
}

/// CRLs (DER) by CA name, with when they were read, and an instant before which none
/// is kept.
#[derive(Default)]
struct RecentCrls {
    read: Vec<(&'static str, std::time::Instant, Option<Vec<u8>>)>,
    keep_none_until: Option<std::time::Instant>,
}

/// After a revocation, how long CRLs are read afresh for every validation: the
/// revoking transaction commits after [`Pki::revoke_in`] returns, and a CRL read before
/// the commit must not be kept for [`RECENT_CRL`] after it.
const NO_RECENT_CRL_AFTER_REVOCATION: std::time::Duration = std::time::Duration::from_secs(30);

/// How long path validation reuses the CRLs it read. Every verification validates a
/// path, and reading the newest CRL is a database round trip; a revocation made on
/// another instance is seen this much later (on this one, at once).
const RECENT_CRL: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads exactly one PEM block labelled `CERTIFICATE` (or, for CRLs, `X509 CRL`) into
/// DER. Anything else in the text — a second block, a private key — is refused, so a
/// file holding a certificate and its key can never be published by mistake.
pub fn pem_to_der(text: &str) -> Result<Vec<u8>, CryptoError> {
    let bad = |why: &str| CryptoError::Encoding(format!("PEM: {why}"));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Err(bad("empty"));
    };
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| bad("no BEGIN line"))?;
    if !matches!(label, "CERTIFICATE" | "X509 CRL") {
        return Err(bad("only a certificate or CRL is accepted"));
    }
    if *last != format!("-----END {label}-----") {
        return Err(bad("exactly one block, with nothing after it, is accepted"));
    }
    let body = &lines[1..lines.len() - 1];
    if body.iter().any(|l| l.starts_with("-----")) {
        return Err(bad("exactly one block is accepted"));
    }
    B64.decode(body.concat())
        .map_err(|_| bad("body is not base64"))
}

/// DER as PEM with the given label.
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Loads the root certificate from the key directory.
pub fn load_root(keys_dir: &Path) -> Result<Vec<u8>, CryptoError> {
    let path = keys_dir.join(ROOT_CERT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| CryptoError::Root {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    parse_root(&text, &path.display().to_string())
}

/// Checks that PEM `text` (from `origin`) is a self-signed CA certificate; returns DER.
pub fn parse_root(text: &str, origin: &str) -> Result<Vec<u8>, CryptoError> {
    let fail = |reason: String| CryptoError::Root {
        path: origin.to_owned(),
        reason,
    };
    let der = pem_to_der(text).map_err(|e| fail(e.to_string()))?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| fail(e.to_string()))?;
    if !cert.is_ca() || cert.subject().as_raw() != cert.issuer().as_raw() {
        return Err(fail("not a self-signed CA certificate".into()));
    }
    cert.verify_signature(None)
        .map_err(|_| fail("self-signature does not verify".into()))?;
    Ok(der)
}

fn public_key_of(der: &[u8]) -> Result<PublicKey, CryptoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| CryptoError::Encoding(format!("certificate: {e}")))?;
    PublicKey::from_spki_der(cert.public_key().raw)
}

/// The development root key, sealed under the KEK in the key directory.
fn dev_root_key(
    keys_dir: &Path,
    kek: &Kek,
    root: &[u8],
) -> Result<Option<Arc<dyn Signer>>, CryptoError> {
    let path: PathBuf = keys_dir.join(ROOT_KEY_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let sealed = B64
        .decode(text.trim())
        .map_err(|_| CryptoError::Encoding(format!("{} is not base64", path.display())))?;
    let public = public_key_of(root)?;
    let row = pki::KeyRow {
        id: public.thumbprint(),
        purpose: ROOT_PURPOSE.to_owned(),
        algorithm: public.algorithm().db_name().to_owned(),
        public_key: public.raw().to_vec(),
        encrypted_private: sealed,
        created_at: Timestamp::now(),
    };
    Ok(Some(Arc::new(open_row(kek, &row)?)))
}

/// Writes a new development root (key sealed under `kek`) into `keys_dir`.
pub fn write_dev_root(keys_dir: &Path, kek: &Kek) -> Result<Vec<u8>, CryptoError> {
    let key = crate::signer::SoftwareKey::generate(Algorithm::Es256)?;
    let (key, pkcs8) = key;
    let root = ca::self_signed_root(
        &key,
        "Tongban Development Root CA",
        time::OffsetDateTime::now_utc(),
    )?;
    let aad = format!("tongban-key-v1|{}|{ROOT_PURPOSE}", key.key_id());
    let sealed = kek.seal(aad.as_bytes(), &pkcs8.0)?;
    let io = |e: std::io::Error| CryptoError::Encoding(e.to_string());
    std::fs::create_dir_all(keys_dir).map_err(io)?;
    std::fs::write(
        keys_dir.join(ROOT_CERT_FILE),
        der_to_pem("CERTIFICATE", &root.der),
    )
    .map_err(io)?;
    std::fs::write(
        keys_dir.join(ROOT_KEY_FILE),
        format!("{}\n", B64.encode(sealed)),
    )
    .map_err(io)?;
    Ok(root.der)
}

impl Pki {
    /// Opens the PKI: loads the root from `keys_dir`, the issuing CA and TSA from the
    /// database (making them when a development root key is at hand), and signs a
    /// first CRL if there is none.
    pub async fn open(
        store: Store,
        kek: Arc<Kek>,
        keys_dir: &Path,
        public_url: &str,
        allow_root_key: bool,
    ) -> Result<Self, CryptoError> {
        let root = load_root(keys_dir)?;
        let keys = KeyStore::new(store.clone(), kek.clone());
        let urls = PublicUrls::new(public_url);

        let dev_root = if allow_root_key {
            dev_root_key(keys_dir, &kek, &root)?
        } else if keys_dir.join(ROOT_KEY_FILE).exists() {
            return Err(CryptoError::Root {
                path: keys_dir.join(ROOT_KEY_FILE).display().to_string(),
                reason: "a root private key has no place beside a production instance".into(),
            });
        } else {
            None
        }
        .map(|signer| OnlineCa {
            name: ca::ROOT,
            der: root.clone(),
            signer,
        });

        // Set-up runs under one lock for all instances (the counter row's lock on
        // PostgreSQL, the write lock on SQLite): two instances starting at once on an
        // empty database must not make two issuing CAs. Each key is stored in the same
        // transaction as its certificate.
        let mut tx = store.begin().await?;
        pki::next_counter(&mut tx, "pki-setup").await?;
        // "Now" is read under the lock: another instance may have just made the CAs.
        let now = Timestamp::now();
        let issuing = match pki::current_certificate(&mut tx, ca::ROOT, "issuing-ca", now).await? {
            Some(row) => OnlineCa {
                name: ca::ISSUING,
                signer: keys.load_in(&mut tx, &row.key_id).await?,
                der: row.der,
            },
            None => {
                let root_key = dev_root.as_ref().ok_or(CryptoError::NoIssuingCa)?;
                let profile = Profile::IssuingCa {
                    name: "Tongban Issuing CA".into(),
                };
                let signer = keys
                    .generate_in(&mut tx, Algorithm::Es256, ISSUING_PURPOSE)
                    .await?;
                let issued = ca::issue(
                    &profile,
                    signer.public_key(),
                    ca::ROOT,
                    &root,
                    root_key.signer.as_ref(),
                    &urls,
                    time::OffsetDateTime::now_utc(),
                )?;
                let row = certificate_row(ca::ROOT, &profile, signer.key_id(), &issued);
                pki::insert_certificate(&mut tx, &row).await?;
                tracing::info!(serial = %issued.serial, "issued a new issuing CA certificate");
                OnlineCa {
                    name: ca::ISSUING,
                    der: issued.der,
                    signer,
                }
            }
        };
        let tsa_profile = Profile::Tsa {
            name: "Tongban Time-Stamping Authority".into(),
        };
        let (tsa_signer, tsa_der) = match pki::current_certificate(&mut tx, ca::ISSUING, "tsa", now)
            .await?
        {
            Some(row) => (keys.load_in(&mut tx, &row.key_id).await?, row.der),
            None => {
                let (signer, row) =
                    issue_leaf(&mut tx, &keys, &urls, &issuing, &tsa_profile, TSA_PURPOSE).await?;
                (signer, row.der)
            }
        };
        let tokens = TokenKeys::new(store.clone(), keys.clone());
        tokens.ensure_in(&mut tx, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let tsa = Tsa::new(tsa_signer, vec![tsa_der, issuing.der.clone()]);
        let pki = Self {
            store,
            keys,
            urls,
            root,
            dev_root,
            keys_dir: keys_dir.to_owned(),
            issuing,
            tsa,
            tokens,
            certified: CertifiedKeys::default(),
            recent_crls: Arc::default(),
        };
        pki.refresh_crl_if_due().await?;
        pki.tokens.reload(Timestamp::now()).await?;
        Ok(pki)
    }

    /// The root certificate (DER), the trust anchor.
    pub fn root(&self) -> &[u8] {
        &self.root
    }

    /// The issuing CA certificate (DER).
    pub fn issuing(&self) -> &[u8] {
        &self.issuing.der
    }

    /// The certificate of CA `name` (`root` or `issuing`).
    pub fn ca_certificate(&self, name: &str) -> Option<&[u8]> {
        match name {
            ca::ROOT => Some(&self.root),
            ca::ISSUING => Some(&self.issuing.der),
            _ => None,
        }
    }

    /// The token signing keys and their rotation.
    pub fn token_keys(&self) -> &TokenKeys {
        &self.tokens
    }

    /// The time-stamping authority.
    pub fn tsa(&self) -> &Tsa {
        &self.tsa
    }

    /// The encrypted key store.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Key `key_id` certified by our issuing CA in certificate `serial`, with the
    /// chain (read once, then kept).
    pub async fn certified_in(
        &self,
        conn: &mut AnyConnection,
        key_id: &str,
        serial: &str,
    ) -> Result<Arc<Certified>, CryptoError> {
        self.certified
            .load_in(conn, &self.keys, key_id, serial, &self.issuing.der)
            .await
    }

    /// Generates a key and issues it a certificate of `profile` from the issuing CA;
    /// key and certificate are stored.
    pub async fn issue(
        &self,
        profile: &Profile,
    ) -> Result<(Arc<dyn Signer>, pki::CertificateRow), CryptoError> {
        let mut tx = self.store.begin().await?;
        let issued = issue_leaf(
            &mut tx,
            &self.keys,
            &self.urls,
            &self.issuing,
            profile,
            profile.name(),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(issued)
    }

    /// Like [`Pki::issue`], inside the caller's transaction, so that the key, the
    /// certificate and the record that owns them commit together.
    pub async fn issue_in(
        &self,
        tx: &mut AnyConnection,
        profile: &Profile,
    ) -> Result<(Arc<dyn Signer>, pki::CertificateRow), CryptoError> {
        issue_leaf(
            tx,
            &self.keys,
            &self.urls,
            &self.issuing,
            profile,
            profile.name(),
        )
        .await
    }

    /// Revokes a certificate of the issuing CA and signs a new CRL at once. Returns
    /// false if there is no such valid certificate.
    pub async fn revoke(
        &self,
        serial: &str,
        reason: RevocationReason,
    ) -> Result<bool, CryptoError> {
        let mut tx = self.store.begin().await?;
        let done = self.revoke_in(&mut tx, serial, reason).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(done)
    }

    /// Like [`Pki::revoke`], inside the caller's transaction: the revocation, the CRL
    /// that publishes it and the caller's own change commit together.
    pub async fn revoke_in(
        &self,
        tx: &mut AnyConnection,
        serial: &str,
        reason: RevocationReason,
    ) -> Result<bool, CryptoError> {
        let known = pki::certificate(tx, serial).await?;
        if known.as_ref().is_none_or(|c| c.issuer != ca::ISSUING) {
            return Ok(false);
        }
        let revocation = pki::Revocation {
            at: Timestamp::now(),
            reason: reason.code(),
        };
        let done = pki::revoke_certificate(tx, serial, revocation).await?;
        if done {
            self.sign_crl_in(tx, &self.issuing).await?;
            if let Ok(mut recent) = self.recent_crls.lock() {
                recent.read.clear();
                recent.keep_none_until =
                    Some(std::time::Instant::now() + NO_RECENT_CRL_AFTER_REVOCATION);
            }
        }
        Ok(done)
    }

    fn online(&self) -> impl Iterator<Item = &OnlineCa> {
        std::iter::once(&self.issuing).chain(self.dev_root.as_ref())
    }

    /// The newest CRL of CA `name` (DER). For a CA whose key we hold, a new one is
    /// signed first if due; an offline root's CRL is the file `keys.dir/root-ca.crl`
    /// the operator puts there.
    pub async fn crl(&self, name: &str) -> Result<Vec<u8>, CryptoError> {
        let missing = || CryptoError::NotFound(format!("CRL of {name}"));
        let Some(online) = self.online().find(|ca| ca.name == name) else {
            if name != ca::ROOT {
                return Err(missing());
            }
            let text = std::fs::read(self.keys_dir.join(ROOT_CRL_FILE)).map_err(|_| missing())?;
            return match std::str::from_utf8(&text) {
                Ok(pem) if pem.starts_with("-----") => pem_to_der(pem),
                _ => Ok(text),
            };
        };
        Ok(self.refresh_one(online).await?.der)
    }

    /// The CRL of CA `name` as read at most [`RECENT_CRL`] ago; none when it has none
    /// (an offline root without `root-ca.crl`, which is remembered too: no file read
    /// per validation).
    async fn recent_crl(&self, name: &'static str) -> Result<Option<Vec<u8>>, CryptoError> {
        let now = std::time::Instant::now();
        let cached = self.recent_crls.lock().ok().and_then(|recent| {
            recent
                .read
                .iter()
                .find(|(ca, read, _)| *ca == name && now.duration_since(*read) < RECENT_CRL)
                .map(|(_, _, der)| der.clone())
        });
        if let Some(der) = cached {
            return Ok(der);
        }
        let der = match self.crl(name).await {
            Ok(der) => Some(der),
            Err(CryptoError::NotFound(_)) if name == ca::ROOT => None,
            Err(other) => return Err(other),
        };
        if let Ok(mut recent) = self.recent_crls.lock()
            && recent.keep_none_until.is_none_or(|until| now >= until)
        {
            recent.read.retain(|(ca, _, _)| *ca != name);
            recent.read.push((name, now, der.clone()));
        }
        Ok(der)
    }

    /// Signs a new CRL for each CA whose key we hold when it has none or the newest is
    /// past half its validity, so relying parties never hold an expired one.
    pub async fn refresh_crl_if_due(&self) -> Result<(), CryptoError> {
        for ca in self.online() {
            self.refresh_one(ca).await?;
        }
        Ok(())
    }

    /// The newest CRL of `ca`, signing a new one first if it is due.
    async fn refresh_one(&self, ca: &OnlineCa) -> Result<pki::CrlRow, CryptoError> {
        let mut conn = self.store.conn().await?;
        let latest = pki::latest_crl(&mut conn, ca.name).await?;
        drop(conn);
        let half = CRL_VALIDITY.whole_milliseconds() as i64 / 2;
        match latest {
            Some(crl) if Timestamp::now().unix_millis() + half < crl.next_update.unix_millis() => {
                Ok(crl)
            }
            _ => {
                let mut tx = self.store.begin().await?;
                let crl = self.sign_crl_in(&mut tx, ca).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(crl)
            }
        }
    }

    async fn sign_crl_in(
        &self,
        tx: &mut AnyConnection,
        ca: &OnlineCa,
    ) -> Result<pki::CrlRow, CryptoError> {
        let number = pki::next_counter(tx, &format!("crl:{}", ca.name)).await?;
        let revoked = pki::revoked_by_issuer(tx, ca.name)
            .await?
            .into_iter()
            .map(|(serial_hex, r)| RevokedEntry {
                serial_hex,
                at: r.at,
                reason: RevocationReason::from_code(r.reason),
            })
            .collect::<Vec<_>>();
        let this_update = Timestamp::now();
        let next_update = Timestamp::from(this_update.to_offset_date_time() + CRL_VALIDITY);
        let der = crl::sign_crl(
            &ca.der,
            ca.signer.as_ref(),
            number,
            &revoked,
            this_update,
            next_update,
        )?;
        let crl = pki::CrlRow {
            ca: ca.name.to_owned(),
            number,
            this_update,
            next_update,
            der,
        };
        pki::insert_crl(tx, &crl).await?;
        Ok(crl)
    }

    /// Validates a certificate issued under our root for `usage` at `at`, with our
    /// issuing CA as intermediate and our newest CRL.
    pub async fn validate(
        &self,
        leaf: &[u8],
        usage: Usage,
        at: Timestamp,
    ) -> Result<Result<ValidPath, PathError>, CryptoError> {
        let issuing = self
            .recent_crl(ca::ISSUING)
            .await?
            .ok_or_else(|| CryptoError::NotFound("CRL of issuing".into()))?;
        let mut crls = vec![issuing];
        if let Ok(Some(root_crl)) = self.recent_crl(ca::ROOT).await {
            crls.push(root_crl);
        }
        Ok(path::validate(
            leaf,
            std::slice::from_ref(&self.issuing.der),
            std::slice::from_ref(&self.root),
            &crls,
            usage,
            at,
        ))
    }
}

/// Generates a key for `purpose` and issues it a certificate of `profile` from
/// `issuing`, both stored in the caller's transaction.
async fn issue_leaf(
    tx: &mut AnyConnection,
    keys: &KeyStore,
    urls: &PublicUrls,
    issuing: &OnlineCa,
    profile: &Profile,
    purpose: &str,
) -> Result<(Arc<dyn Signer>, pki::CertificateRow), CryptoError> {
    let signer = keys.generate_in(tx, Algorithm::Es256, purpose).await?;
    let issued = ca::issue(
        profile,
        signer.public_key(),
        ca::ISSUING,
        &issuing.der,
        issuing.signer.as_ref(),
        urls,
        time::OffsetDateTime::now_utc(),
    )?;
    let row = certificate_row(ca::ISSUING, profile, signer.key_id(), &issued);
    pki::insert_certificate(tx, &row).await?;
    Ok((signer, row))
}

fn certificate_row(
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

fn certificate_row_named(
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

/// Production set-up, step 1: generates the issuing CA key (stored encrypted) and
/// returns its PKCS#10 request (PEM) for the offline root to sign.
pub async fn issuing_request(store: &Store, kek: Arc<Kek>) -> Result<String, CryptoError> {
    let keys = KeyStore::new(store.clone(), kek);
    let signer = keys.generate(Algorithm::Es256, ISSUING_PURPOSE).await?;
    ca::issuing_ca_csr(signer.as_ref(), "Tongban Issuing CA")
}

/// Production set-up, step 2: stores the issuing CA certificate the offline root
/// signed, after checking that the root in `keys_dir` signed it, that it is a CA, and
/// that its key is one `issuing_request` made here. Returns its serial.
pub async fn import_issuing(
    store: &Store,
    keys_dir: &Path,
    pem: &str,
) -> Result<String, CryptoError> {
    let root_der = load_root(keys_dir)?;
    let der = pem_to_der(pem)?;
    let bad = |reason: &str| CryptoError::Encoding(format!("issuing CA certificate: {reason}"));
    let (_, root) = X509Certificate::from_der(&root_der).map_err(|_| bad("root unreadable"))?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|_| bad("not a certificate"))?;
    if cert.issuer().as_raw() != root.subject().as_raw()
        || cert.verify_signature(Some(root.public_key())).is_err()
    {
        return Err(bad("not signed by the root in keys.dir"));
    }
    if !cert.is_ca() {
        return Err(bad("not a CA certificate"));
    }
    let public = PublicKey::from_spki_der(cert.public_key().raw)?;
    let mut conn = store.conn().await?;
    let key = pki::key(&mut conn, &public.thumbprint()).await?;
    drop(conn);
    if key.is_none_or(|k| k.purpose != ISSUING_PURPOSE) {
        return Err(bad(
            "its key was not made by `tongban keys issuing-csr` on this database",
        ));
    }
    let serial = ca::hex(cert.raw_serial());
    let issued = Issued {
        der: der.clone(),
        serial: serial.clone(),
        not_before: Timestamp::from_unix_millis(cert.validity().not_before.timestamp() * 1000),
        not_after: Timestamp::from_unix_millis(cert.validity().not_after.timestamp() * 1000),
    };
    let row = certificate_row_named(
        ca::ROOT,
        "issuing-ca",
        &cert.subject().to_string(),
        &public.thumbprint(),
        &issued,
    );
    let mut tx = store.begin().await?;
    pki::insert_certificate(&mut tx, &row).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(serial)
}
