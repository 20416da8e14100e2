//! Sealing OFD documents with SM2 seals: the seal checked while the package arrives,
//! the signature laid out (as [`crate::ofd::signing`] does) before the write
//! transaction opens, and only the `SES_Signature` — time-stamped by the SM2 TSA — made
//! in the transaction that records the use, so that other writers never wait for a
//! package to be parsed, hashed or compressed.

use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_crypto::ses::{self as ses_data, ToSign};
use tongban_crypto::shangmi::sm3;
use tongban_store::{Store, StoreError};

use crate::error::SealError;
use crate::format::Format;
use crate::ofd::Package;
use crate::ofd::signing::{self, Placement, Signing};
use crate::once::{self, Once};
use crate::permissions::Actor;
use crate::registry::{self, SealId};
use crate::ses;
use crate::sign::{Applied, Authority, Opened, audit_refusal, authorise, prepare_as, record_usage};

/// A seal checked for an actor to apply to an OFD document now, with its SESeal.
pub struct OfdCheck {
    actor: Actor,
    seal: SealId,
    authority: Authority,
    purpose: Option<String>,
    eseal: Vec<u8>,
    /// The SESeal picture's width and height, mm.
    picture: (f64, f64),
}

/// May `actor` apply SM2 seal `seal` to an OFD document now, on `authority`, for
/// `purpose`? A refusal is audited. Sealing checks again when it signs; this first
/// check lets the caller look the seal up while the document arrives.
pub async fn check_ofd(
    store: &Store,
    actor: &Actor,
    (seal, authority): (SealId, Authority),
    purpose: Option<&str>,
) -> Result<OfdCheck, SealError> {
    let how = (authority, Format::Ses);
    let mut conn = store.conn().await?;
    let found = registry::find(&mut conn, seal).await?;
    if let Err(refusal) = authorise(&mut conn, actor, &found, purpose, how, Timestamp::now()).await
    {
        drop(conn);
        audit_refusal(store, actor, seal, &refusal).await?;
        return Err(refusal);
    }
    let eseal = ses::stored(&mut conn, seal).await?;
    let picture = ses_data::Seal::decode(&eseal)
        .map_err(|_| SealError::Conflict("the seal's electronic seal cannot be read"))?
        .picture;
    Ok(OfdCheck {
        actor: actor.clone(),
        seal,
        authority,
        purpose: purpose.map(str::to_owned),
        eseal,
        picture: (f64::from(picture.width_mm), f64::from(picture.height_mm)),
    })
}

/// Seals the OFD document `document` as `checked` allows, the seal shown as
/// `placement` says; returns the sealed package. Earlier signatures stay valid.
///
/// With `once`, a retry of the same request (the same document included) signs
/// nothing: what is remembered is the signature, its time and the hash it signs, not
/// the package, and the package is laid out again from the retried document at the
/// remembered time, which gives the same bytes.
pub async fn seal_ofd(
    store: &Store,
    pki: &Pki,
    checked: OfdCheck,
    document: Vec<u8>,
    placement: Placement,
    once: Option<&Once>,
) -> Result<Vec<u8>, SealError> {
    let OfdCheck {
        actor,
        seal,
        authority,
        purpose,
        eseal,
        picture,
    } = checked;
    let now = Timestamp::now();
    // Reading, laying out and hashing the package: CPU work, off the async workers
    // and outside the transaction.
    // The document is kept only for a retry's answer, which lays it out again.
    let keep = once.is_some();
    let (original, prepared, eseal, document, placement) = tokio::task::spawn_blocking(move || {
        let original = sm3(&document);
        let package = Package::read(&document)?;
        let signing = Signing {
            eseal: &eseal,
            picture,
            time: now,
        };
        let prepared = signing::prepare(package, &placement, &signing)?;
        let document = keep.then_some(document);
        Ok::<_, SealError>((original, prepared, eseal, document, placement))
    })
    .await??;
    let (purpose, how) = (purpose.as_deref(), (authority, Format::Ses));
    let once = once.map(|once| once.with_document(&original));
    let (mut tx, found, key) =
        match prepare_as(store, pki, &actor, seal, purpose, how, once.as_ref(), now).await? {
            Opened::Fresh(tx, found, key) => (tx, found, key),
            Opened::Answered(answer) => {
                let again = Again::decode(&answer)?;
                let document =
                    document.ok_or_else(|| SealError::Internal("an answer with no key".into()))?;
                return tokio::task::spawn_blocking(move || {
                    again.rebuild(&document, &placement, &eseal, picture)
                })
                .await?;
            }
        };
    let to_sign = ToSign {
        eseal: &eseal,
        time: now,
        data_hash: prepared.data_hash,
        property_info: &prepared.property_info,
    };
    let stamp = |value: &[u8]| ses::time_stamp(pki.sm2_tsa(), value);
    let value = ses_data::sign(&to_sign, key.certificate(), key.signer.as_ref(), stamp)?;
    let usage = Applied {
        seal: &found,
        certificate: key.certificate(),
        actor: &actor,
        format: Format::Ses,
        purpose,
        now,
    };
    record_usage(&mut tx, &usage, &original, &value).await?;
    if let Some(once) = &once {
        let again = Again {
            time: now,
            data_hash: prepared.data_hash.to_vec(),
            value: value.clone(),
        };
        once.remember(&mut tx, &actor, &again.encode(), now).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    let sealed = tokio::task::spawn_blocking(move || prepared.finish(value).write()).await??;
    Ok(sealed)
}

/// What a sealing remembers for its `Idempotency-Key`: the signature's time (the
/// layout depends on it), the hash it signs, and the `SES_Signature`.
struct Again {
    time: Timestamp,
    data_hash: Vec<u8>,
    value: Vec<u8>,
}

impl Again {
    fn encode(&self) -> String {
        let time = self.time.unix_millis().to_be_bytes();
        once::encode_list(&[&time[..], &self.data_hash, &self.value])
    }

    fn decode(answer: &str) -> Result<Self, SealError> {
        let unreadable = || SealError::Internal("a remembered OFD answer is unreadable".into());
        let [time, data_hash, value]: [Vec<u8>; 3] = once::decode_list(answer)?
            .try_into()
            .map_err(|_| unreadable())?;
        let time: [u8; 8] = time.try_into().map_err(|_| unreadable())?;
        Ok(Self {
            time: Timestamp::from_unix_millis(i64::from_be_bytes(time)),
            data_hash,
            value,
        })
    }

    /// The sealed package again: `document` laid out as the first time, at its time,
    /// with its signature. A layout that would not give the hash signed is refused
    /// rather than answered with a signature that does not verify.
    fn rebuild(
        self,
        document: &[u8],
        placement: &Placement,
        eseal: &[u8],
        picture: (f64, f64),
    ) -> Result<Vec<u8>, SealError> {
        let signing = Signing {
            eseal,
            picture,
            time: self.time,
        };
        let prepared = signing::prepare(Package::read(document)?, placement, &signing)?;
        if prepared.data_hash[..] != self.data_hash[..] {
            return Err(SealError::Internal(
                "the retried document does not lay out as the first time".into(),
            ));
        }
        Ok(prepared.finish(self.value).write()?)
    }
}
