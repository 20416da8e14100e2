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

use tongban_core::time::Timestamp;
use tongban_store::Conn as AnyConnection;
use tongban_store::{Store, StoreError, pki};

mod ceremony;
mod foreign;
mod online;
mod root;
mod rows;
mod sm2;
mod validation;
mod x5c;

pub use ceremony::{import_issuing, issuing_request};
pub use root::{
    ROOT_CERT_FILE, ROOT_KEY_FILE, SM2_ROOT_CERT_FILE, der_to_pem, load_root, load_sm2_root,
    parse_root, pem_to_der, rewrap_dev_roots, spki_of, write_dev_root, write_dev_sm2_root,
};

pub use foreign::ForeignTrust;
use online::OnlineCa;
use root::{P256_ROOT, dev_root_key};
use rows::{ISSUING_PURPOSE, TSA_PURPOSE, certificate_row};
pub use sm2::SealMaker;
use sm2::{Sm2Cas, open_sm2};
use validation::Anchors;
pub use x5c::{X5cError, X5cLeaf};

use crate::ca::{self, Profile, PublicUrls};
use crate::certified::{Certified, CertifiedKeys};
use crate::crl::{self, CRL_VALIDITY, RevocationReason, RevokedEntry};
use crate::error::CryptoError;
use crate::kek::Kek;
use crate::keystore::KeyStore;
use crate::signer::{Algorithm, Signer};
use crate::token_keys::TokenKeys;
use crate::tsa::Tsa;

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
    /// The SM2 CAs, when the key directory has an SM2 root.
    sm2: Option<Sm2Cas>,
    certified: CertifiedKeys,
    /// What path validation starts from: our CAs alone, and with the foreign trust
    /// store (read once, not per validation).
    anchors: Arc<Anchors>,
    /// The CRLs path validation used last, by CA name, with when they were read; and
    /// until when none is kept (after a revocation).
    recent_crls: Arc<std::sync::Mutex<RecentCrls>>,
    /// Paths validated at the present moment lately ([`validation`]).
    validated: Arc<validation::Validated>,
    /// Signing certificates of JWS `x5c` headers, read ([`x5c`]).
    x5c: crate::kept::Kept<Arc<X5cLeaf>>,
}

/// CRLs (DER) by CA name, with when they were read, and an instant before which none
/// is kept.
#[derive(Default)]
struct RecentCrls {
    read: Vec<(&'static str, std::time::Instant, Option<validation::Crl>)>,
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
        let keys = KeyStore::new(store.clone(), kek.clone());
        Self::open_with(keys, store, kek, keys_dir, public_url, allow_root_key).await
    }

    /// Like [`Pki::open`], with `keys` as the key store (one with a PKCS#11 token, say).
    pub async fn open_with(
        keys: KeyStore,
        store: Store,
        kek: Arc<Kek>,
        keys_dir: &Path,
        public_url: &str,
        allow_root_key: bool,
    ) -> Result<Self, CryptoError> {
        let root = load_root(keys_dir)?;
        keys.open_derivation_root().await?;
        let urls = PublicUrls::new(public_url);

        let dev_root = if allow_root_key {
            dev_root_key(keys_dir, &kek, &root, &P256_ROOT)?
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
        let sm2 = open_sm2(&mut tx, &keys, &urls, keys_dir, &kek, allow_root_key, now).await?;
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
            sm2,
            certified: CertifiedKeys::default(),
            anchors: Arc::default(),
            recent_crls: Arc::default(),
            validated: Arc::default(),
            x5c: crate::kept::Kept::default(),
        };
        let pki = Self {
            anchors: Arc::new(Anchors::new(&pki, &ForeignTrust::default())),
            ..pki
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

    /// The certificate of CA `name` (`root`, `issuing`, `sm2-root`, `sm2-issuing`).
    pub fn ca_certificate(&self, name: &str) -> Option<&[u8]> {
        match name {
            ca::ROOT => Some(&self.root),
            ca::ISSUING => Some(&self.issuing.der),
            ca::SM2_ROOT => self.sm2.as_ref().map(|sm2| sm2.root.as_slice()),
            ca::SM2_ISSUING => self.sm2.as_ref().map(|sm2| sm2.issuing.der.as_slice()),
            _ => None,
        }
    }

    /// The seal maker (制章者) of GB/T 38540 seals, when there is an SM2 hierarchy.
    pub fn seal_maker(&self) -> Option<&SealMaker> {
        self.sm2.as_ref().map(|sm2| &sm2.seal_maker)
    }

    /// The SM2 time-stamping authority (GM/T 0010 tokens over SM3 imprints), when there
    /// is an SM2 hierarchy.
    pub fn sm2_tsa(&self) -> Option<&Tsa> {
        self.sm2.as_ref().map(|sm2| &sm2.tsa)
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

    /// Key `key_id` certified by one of our issuing CAs in certificate `serial`, with
    /// the chain (read once, then kept).
    pub async fn certified_in(
        &self,
        conn: &mut AnyConnection,
        key_id: &str,
        serial: &str,
    ) -> Result<Arc<Certified>, CryptoError> {
        let issuing = |name: &str| self.ca_certificate(name).map(<[u8]>::to_vec);
        self.certified
            .load_in(conn, &self.keys, key_id, serial, issuing)
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

    /// Like [`Pki::issue_in`], with a key of `algorithm` from the hierarchy of that
    /// algorithm: P-256 from the issuing CA, SM2 from the SM2 issuing CA.
    pub async fn issue_in_hierarchy(
        &self,
        tx: &mut AnyConnection,
        profile: &Profile,
        algorithm: Algorithm,
    ) -> Result<(Arc<dyn Signer>, pki::CertificateRow), CryptoError> {
        let issuing = match algorithm {
            Algorithm::Sm2 => match &self.sm2 {
                Some(sm2) => &sm2.issuing,
                None => return Err(CryptoError::NotFound("an SM2 issuing CA".into())),
            },
            Algorithm::Es256 | Algorithm::Ed25519 => &self.issuing,
        };
        issue_leaf(tx, &self.keys, &self.urls, issuing, profile, profile.name()).await
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
        let issuer = known.as_ref().map(|c| c.issuer.as_str());
        let Some(ca) = self
            .online()
            .find(|ca| Some(ca.name) == issuer && ca.is_issuing())
        else {
            return Ok(false);
        };
        let revocation = pki::Revocation {
            at: Timestamp::now(),
            reason: reason.code(),
        };
        let done = pki::revoke_certificate(tx, serial, revocation).await?;
        if done {
            let number = pki::next_counter(tx, &format!("crl:{}", ca.name)).await?;
            self.sign_crl_in(tx, ca, number).await?;
            if let Ok(mut recent) = self.recent_crls.lock() {
                recent.read.clear();
                recent.keep_none_until =
                    Some(std::time::Instant::now() + NO_RECENT_CRL_AFTER_REVOCATION);
            }
        }
        Ok(done)
    }

    fn online(&self) -> impl Iterator<Item = &OnlineCa> {
        let sm2 = self.sm2.iter();
        std::iter::once(&self.issuing)
            .chain(self.dev_root.as_ref())
            .chain(sm2.clone().map(|sm2| &sm2.issuing))
            .chain(sm2.filter_map(|sm2| sm2.dev_root.as_ref()))
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
    async fn recent_crl(&self, name: &'static str) -> Result<Option<validation::Crl>, CryptoError> {
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
            Ok(der) => Some(Arc::new(der)),
            Err(CryptoError::NotFound(_)) if name == ca::ROOT || name == ca::SM2_ROOT => None,
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
        if let Some(crl) = latest.filter(fresh) {
            return Ok(crl);
        }
        // Every instance's refresher, and any request for the CRL, may find it due at
        // the same moment. Taking the CRL number locks the CA's counter row until
        // commit, so they queue here; each looks again once it holds the lock, and
        // only the first signs. The others roll back, and the number they took with
        // them.
        let mut tx = self.store.begin().await?;
        let number = pki::next_counter(&mut tx, &format!("crl:{}", ca.name)).await?;
        if let Some(crl) = pki::latest_crl(&mut tx, ca.name).await?.filter(fresh) {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(crl);
        }
        let crl = self.sign_crl_in(&mut tx, ca, number).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(crl)
    }

    async fn sign_crl_in(
        &self,
        tx: &mut AnyConnection,
        ca: &OnlineCa,
        number: i64,
    ) -> Result<pki::CrlRow, CryptoError> {
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
        let der = match ca.signer.algorithm() {
            Algorithm::Sm2 => {
                let issuer = crate::sm2_certificates::Sm2Issuer {
                    name: ca.name,
                    certificate: &ca.der,
                    key: ca.signer.as_ref(),
                };
                crate::sm2_certificates::sign_crl(
                    &issuer,
                    number,
                    &revoked,
                    this_update,
                    next_update,
                )?
            }
            Algorithm::Es256 | Algorithm::Ed25519 => crl::sign_crl(
                &ca.der,
                ca.signer.as_ref(),
                number,
                &revoked,
                this_update,
                next_update,
            )?,
        };
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
}

/// Whether `crl` is within the first half of its validity: not yet due for a new one,
/// so relying parties never hold an expired one.
fn fresh(crl: &pki::CrlRow) -> bool {
    let half = CRL_VALIDITY.whole_milliseconds() as i64 / 2;
    Timestamp::now().unix_millis() + half < crl.next_update.unix_millis()
}

/// Generates a key for `purpose` (of `issuing`'s algorithm) and issues it a
/// certificate of `profile` from `issuing`, both stored in the caller's transaction.
async fn issue_leaf(
    tx: &mut AnyConnection,
    keys: &KeyStore,
    urls: &PublicUrls,
    issuing: &OnlineCa,
    profile: &Profile,
    purpose: &str,
) -> Result<(Arc<dyn Signer>, pki::CertificateRow), CryptoError> {
    let algorithm = issuing.signer.algorithm();
    let signer = keys.generate_in(tx, algorithm, purpose).await?;
    let now = time::OffsetDateTime::now_utc();
    let issued = match algorithm {
        Algorithm::Sm2 => {
            let issuer = crate::sm2_certificates::Sm2Issuer {
                name: issuing.name,
                certificate: &issuing.der,
                key: issuing.signer.as_ref(),
            };
            crate::sm2_certificates::issue(profile, signer.public_key(), &issuer, urls, now)?
        }
        Algorithm::Es256 | Algorithm::Ed25519 => ca::issue(
            profile,
            signer.public_key(),
            issuing.name,
            &issuing.der,
            issuing.signer.as_ref(),
            urls,
            now,
        )?,
    };
    let row = certificate_row(issuing.name, profile, signer.key_id(), &issued);
    pki::insert_certificate(tx, &row).await?;
    Ok((signer, row))
}
