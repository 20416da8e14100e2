//! The SM2 hierarchy beside the P-256 one: an optional SM2 root in the key directory,
//! the SM2 issuing CA under it, found in the database or made in development, and under
//! that CA the seal maker (制章者) that signs GB/T 38540 seals and the SM2 time-stamp
//! authority of GB/T 38540 signatures, each found or made.

use std::path::Path;
use std::sync::Arc;

use tongban_core::time::Timestamp;
use tongban_store::Conn as AnyConnection;
use tongban_store::pki;

use crate::ca::{self, Profile, PublicUrls};
use crate::error::CryptoError;
use crate::kek::Kek;
use crate::keystore::KeyStore;
use crate::signer::{Algorithm, Signer};
use crate::tsa::Tsa;

use super::online::OnlineCa;
use super::root::{SM2_ROOT, dev_root_key, load_sm2_root};
use super::rows::{SM2_ISSUING_PURPOSE, certificate_row};

/// The SM2 hierarchy beside the P-256 one: its root, the root's key in development,
/// the online SM2 issuing CA, and the seal maker.
#[derive(Clone)]
pub(super) struct Sm2Cas {
    pub(super) root: Vec<u8>,
    pub(super) dev_root: Option<OnlineCa>,
    pub(super) issuing: OnlineCa,
    pub(super) seal_maker: SealMaker,
    pub(super) tsa: Tsa,
}

/// The seal maker (制章者): the key that signs GB/T 38540 seals, and its certificate
/// from the SM2 issuing CA.
#[derive(Clone)]
pub struct SealMaker {
    /// Its key.
    pub signer: Arc<dyn Signer>,
    /// Its certificate (DER).
    pub certificate: Vec<u8>,
}

/// A leaf of `profile` under the SM2 issuing CA: its key and certificate from the
/// database, or made now.
async fn leaf(
    tx: &mut AnyConnection,
    keys: &KeyStore,
    urls: &PublicUrls,
    issuing: &OnlineCa,
    (profile, now): (&Profile, Timestamp),
) -> Result<(Arc<dyn Signer>, Vec<u8>), CryptoError> {
    let purpose = format!("sm2-{}", profile.name());
    Ok(
        match pki::current_certificate(tx, ca::SM2_ISSUING, profile.name(), now).await? {
            Some(row) => (keys.load_in(tx, &row.key_id).await?, row.der),
            None => {
                let (signer, row) =
                    super::issue_leaf(tx, keys, urls, issuing, profile, &purpose).await?;
                (signer, row.der)
            }
        },
    )
}

/// The SM2 CAs, when `keys_dir` has an SM2 root: its issuing CA from the database, or
/// made under the development root key. A deployment with an SM2 root but neither an
/// SM2 issuing CA nor the root's key runs without SM2 (and says so).
pub(super) async fn open_sm2(
    tx: &mut AnyConnection,
    keys: &KeyStore,
    urls: &PublicUrls,
    keys_dir: &Path,
    kek: &Kek,
    allow_root_key: bool,
    now: Timestamp,
) -> Result<Option<Sm2Cas>, CryptoError> {
    let Some(root) = load_sm2_root(keys_dir)? else {
        return Ok(None);
    };
    let dev_root = match allow_root_key {
        true => dev_root_key(keys_dir, kek, &root, &SM2_ROOT)?,
        false => None,
    }
    .map(|signer| OnlineCa {
        name: ca::SM2_ROOT,
        der: root.clone(),
        signer,
    });
    let issuing = match pki::current_certificate(tx, ca::SM2_ROOT, "issuing-ca", now).await? {
        Some(row) => OnlineCa {
            name: ca::SM2_ISSUING,
            signer: keys.load_in(tx, &row.key_id).await?,
            der: row.der,
        },
        None => {
            let Some(root_key) = dev_root.as_ref() else {
                tracing::warn!("an SM2 root but no SM2 issuing CA: SM2 is off");
                return Ok(None);
            };
            let profile = Profile::IssuingCa {
                name: "Tongban SM2 Issuing CA".into(),
            };
            let signer = keys
                .generate_in(tx, Algorithm::Sm2, SM2_ISSUING_PURPOSE)
                .await?;
            let issuer = crate::sm2_certificates::Sm2Issuer {
                name: ca::SM2_ROOT,
                certificate: &root,
                key: root_key.signer.as_ref(),
            };
            let issued = crate::sm2_certificates::issue(
                &profile,
                signer.public_key(),
                &issuer,
                urls,
                time::OffsetDateTime::now_utc(),
            )?;
            let row = certificate_row(ca::SM2_ROOT, &profile, signer.key_id(), &issued);
            pki::insert_certificate(tx, &row).await?;
            tracing::info!(serial = %issued.serial, "issued a new SM2 issuing CA certificate");
            OnlineCa {
                name: ca::SM2_ISSUING,
                der: issued.der,
                signer,
            }
        }
    };
    let maker = Profile::SealMaker {
        name: "Tongban Seal Maker".into(),
    };
    let (signer, certificate) = leaf(tx, keys, urls, &issuing, (&maker, now)).await?;
    let seal_maker = SealMaker {
        signer,
        certificate,
    };
    let tsa = Profile::Tsa {
        name: "Tongban SM2 Time-Stamping Authority".into(),
    };
    let (signer, certificate) = leaf(tx, keys, urls, &issuing, (&tsa, now)).await?;
    let tsa = Tsa::new(signer, vec![certificate, issuing.der.clone()]);
    Ok(Some(Sm2Cas {
        root,
        dev_root,
        issuing,
        seal_maker,
        tsa,
    }))
}
