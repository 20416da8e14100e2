//! GB/T 38540 for SM2 seals. An SM2 seal's electronic seal (电子印章, `SESeal`) is made
//! by the platform's seal maker when the seal gets its image (the image is part of it),
//! listing the seal's certificate as the one signer certificate it may be used with,
//! valid as long as that certificate. Electronic signatures (电子签章, `SES_Signature`)
//! over SM3 digests are made, like CAdES ones, inside the transaction that writes their
//! usage records, each with a time-stamp of the SM2 TSA over its signature value. A suspended or revoked seal signs nothing; revocation also revokes the
//! certificate the SESeal lists, so verifiers refuse what it would allow later.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::CryptoError;
use tongban_crypto::pki::Pki;
use tongban_crypto::ses::{self, Picture, SealContent, SealType, ToSign};
use tongban_crypto::shangmi;
use tongban_crypto::tsa::Tsa;
use tongban_store::{Conn, Store, StoreError};

use crate::error::SealError;
use crate::format::Format;
use crate::image::Planes;
use crate::once::{self, Once};
use crate::permissions::{self, Actor};
use crate::registry::{self, Seal, SealId, SealKind};
use crate::sign::{self, MAX_BATCH};

/// The vendor id our SESeal headers carry.
pub const VENDOR: &str = "Tongban";

/// Longest `propertyInfo` accepted (a file name or package path).
pub const MAX_PROPERTY_INFO: usize = 256;

/// The width of a seal of `kind`, millimetres: the usual sizes of Chinese official
/// seals (a 42 mm round 公章, a 20 mm name seal); the height follows the image.
fn width_mm(kind: SealKind) -> u32 {
    match kind {
        SealKind::Official => 42,
        SealKind::Contract | SealKind::Invoice => 40,
        SealKind::Finance => 38,
        SealKind::LegalRepresentative => 20,
    }
}

/// Makes `seal`'s SESeal with image `png` (already checked into `planes`) and keeps it
/// beside the image, in the caller's transaction. Nothing for a P-256 seal.
pub(crate) async fn make_in(
    tx: &mut Conn,
    pki: &Pki,
    seal: &Seal,
    png: &[u8],
    planes: &Planes,
) -> Result<(), SealError> {
    // A P-256 seal has none; a suspended, revoked or expired one gets no new one.
    if seal.makes(Format::Ses).is_err() || seal.usable(Timestamp::now()).is_err() {
        return Ok(());
    }
    let maker = pki
        .seal_maker()
        .ok_or(SealError::Conflict("this platform has no SM2 seal maker"))?;
    let certificate = tongban_store::pki::certificate(tx, &seal.certificate_serial)
        .await?
        .ok_or(SealError::NotFound("seal certificate"))?;
    let width = width_mm(seal.kind);
    let height = (u64::from(width) * u64::from(planes.height) + u64::from(planes.width) / 2)
        / u64::from(planes.width);
    let picture = Picture {
        format: "PNG".into(),
        data: png.to_vec(),
        width_mm: width,
        height_mm: u32::try_from(height.max(1)).unwrap_or(width),
    };
    let now = Timestamp::now();
    let kind = match seal.kind {
        // The legal representative's name seal is a person's seal (个人印章).
        SealKind::LegalRepresentative => SealType::Person,
        _ => SealType::Organisation,
    };
    let eseal = ses::make_seal(
        &SealContent {
            vendor: VENDOR,
            es_id: &seal.code,
            kind,
            name: &seal.name,
            signer_certificates: std::slice::from_ref(&certificate.der),
            created: now,
            valid_start: now,
            valid_end: seal.valid_until,
            picture: &picture,
        },
        &maker.certificate,
        maker.signer.as_ref(),
    )?;
    sqlx::query("UPDATE seal_images SET eseal = $2 WHERE seal_id = $1")
        .bind(seal.id.to_string())
        .bind(eseal)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `seal`'s SESeal (DER), for someone who may see the seal.
pub async fn eseal(conn: &mut Conn, actor: &Actor, seal: SealId) -> Result<Vec<u8>, SealError> {
    let found = registry::find(conn, seal).await?;
    permissions::may_view(conn, actor, found.department_id).await?;
    found.makes(Format::Ses)?;
    stored(conn, seal).await
}

pub(crate) async fn stored(conn: &mut Conn, seal: SealId) -> Result<Vec<u8>, SealError> {
    let row = sqlx::query("SELECT eseal FROM seal_images WHERE seal_id = $1")
        .bind(seal.to_string())
        .fetch_optional(conn)
        .await?;
    let eseal: Option<Vec<u8>> = row.map(|r| r.try_get("eseal")).transpose()?.flatten();
    eseal.ok_or(SealError::Conflict(
        "the SM2 seal has no electronic seal yet: upload its image first",
    ))
}

/// The `timeStamp` of an SES_Signature: the SM2 TSA's token over the SM3 of the
/// signature value, when the platform has an SM2 TSA.
pub(crate) fn time_stamp(
    tsa: Option<&Tsa>,
    signature_value: &[u8],
) -> Result<Option<Vec<u8>>, CryptoError> {
    tsa.map(|tsa| tsa.timestamp_sm3(shangmi::sm3(signature_value)))
        .transpose()
}

/// One thing to sign: the SM3 digest of a file and what the signature says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// SM3 of the file.
    pub digest: [u8; 32],
    /// `propertyInfo`: the file's name (IA5, at most [`MAX_PROPERTY_INFO`] bytes).
    pub property_info: String,
}

/// Electronic signatures (DER `SES_Signature`) of SM2 seal `seal`, one per item.
pub async fn sign_digests(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    seal: SealId,
    items: &[Item],
    purpose: Option<&str>,
    once: Option<&Once>,
) -> Result<Vec<Vec<u8>>, SealError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(SealError::Invalid {
            field: "digests",
            reason: format!("1 to {MAX_BATCH} digests per call"),
        });
    }
    for item in items {
        let text = &item.property_info;
        if text.is_empty() || text.len() > MAX_PROPERTY_INFO || !text.is_ascii() {
            return Err(SealError::Invalid {
                field: "property_info",
                reason: format!("1 to {MAX_PROPERTY_INFO} ASCII characters"),
            });
        }
    }
    let now = Timestamp::now();
    let how = (seal, Format::Ses);
    let (mut tx, found, key) =
        match sign::prepare(store, pki, actor, how, purpose, once, now).await? {
            sign::Opened::Fresh(tx, found, key) => (tx, found, key),
            sign::Opened::Answered(answer) => return once::decode_list(&answer),
        };
    let eseal = stored(&mut tx, seal).await?;
    let tsa = pki.sm2_tsa().cloned();
    // Two SM2 signatures per digest (ours and the time-stamp's): CPU work, off the
    // async workers, a share of the batch for each core.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let share = items.len().div_ceil(cores);
    let eseal = std::sync::Arc::new(eseal);
    let mut running = Vec::new();
    for part in items.chunks(share) {
        let (part, eseal, key, tsa) = (part.to_vec(), eseal.clone(), key.clone(), tsa.clone());
        running.push(tokio::task::spawn_blocking(move || {
            part.iter()
                .map(|item| {
                    let to_sign = ToSign {
                        eseal: &eseal,
                        time: now,
                        data_hash: item.digest,
                        property_info: &item.property_info,
                    };
                    let stamp = |value: &[u8]| time_stamp(tsa.as_ref(), value);
                    ses::sign(&to_sign, key.certificate(), key.signer.as_ref(), stamp)
                })
                .collect::<Result<Vec<_>, _>>()
        }));
    }
    let mut signatures = Vec::with_capacity(items.len());
    for part in running {
        let signed = part
            .await
            .map_err(|_| SealError::Crypto(tongban_crypto::CryptoError::Sign))??;
        signatures.extend(signed);
    }
    let digests: Vec<[u8; 32]> = items.iter().map(|item| item.digest).collect();
    let usage = sign::Applied {
        seal: &found,
        certificate: key.certificate(),
        actor,
        format: Format::Ses,
        purpose,
        now,
    };
    sign::record_usages(&mut tx, &usage, &digests, &signatures).await?;
    if let Some(once) = once {
        once.remember(&mut tx, actor, &once::encode_list(&signatures), now)
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(signatures)
}
