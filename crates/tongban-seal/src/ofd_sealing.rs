//! Sealing OFD documents with SM2 seals: the seal checked before the package is read,
//! then, in the transaction that records the use, a GB/T 38540 signature added as
//! [`crate::ofd::signing`] lays it out, its `SES_Signature` time-stamped by the SM2 TSA.

use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_crypto::ses::{self as ses_data, ToSign};
use tongban_crypto::shangmi::sm3;
use tongban_store::{Store, StoreError};

use crate::error::SealError;
use crate::format::Format;
use crate::ofd::Package;
use crate::ofd::signing::{self, Placement, Signing};
use crate::permissions::Actor;
use crate::registry::{self, SealId};
use crate::ses;
use crate::sign::{Authority, audit_refusal, authorise, prepare_as, record_usage};

fn unprocessable(error: tokio::task::JoinError) -> SealError {
    SealError::Invalid {
        field: "ofd",
        reason: format!("cannot be processed: {error}"),
    }
}

/// Seals the OFD document `document` with SM2 seal `seal` on `authority`, the seal
/// shown as `placement` says, for `purpose`; returns the sealed package. Earlier
/// signatures stay valid.
pub async fn seal_ofd(
    store: &Store,
    pki: &Pki,
    actor: &Actor,
    (seal, authority): (SealId, Authority),
    document: Vec<u8>,
    placement: Placement,
    purpose: Option<&str>,
) -> Result<Vec<u8>, SealError> {
    let how = (authority, Format::Ses);
    // Refused before the package is read: an upload nobody may seal costs no parse.
    let eseal = {
        let mut conn = store.conn().await?;
        let found = registry::find(&mut conn, seal).await?;
        if let Err(refusal) =
            authorise(&mut conn, actor, &found, purpose, how, Timestamp::now()).await
        {
            drop(conn);
            audit_refusal(store, actor, seal, &refusal).await?;
            return Err(refusal);
        }
        ses::stored(&mut conn, seal).await?
    };
    let picture = ses_data::Seal::decode(&eseal)
        .map_err(|_| SealError::Conflict("the seal's electronic seal cannot be read"))?
        .picture;
    let picture = (f64::from(picture.width_mm), f64::from(picture.height_mm));
    let original = sm3(&document);
    let package = tokio::task::spawn_blocking(move || Package::read(&document))
        .await
        .map_err(unprocessable)??;
    let now = Timestamp::now();
    let (mut tx, found, key) = prepare_as(store, pki, actor, seal, purpose, how, now).await?;
    let tsa = pki.sm2_tsa().cloned();
    // SM3 over every file and two SM2 signatures: CPU work, off the async workers.
    let sealed = tokio::task::spawn_blocking(move || {
        let mut package = package;
        let signing = Signing {
            eseal: &eseal,
            picture,
            time: now,
        };
        signing::sign(&mut package, &placement, &signing, |data_hash, path| {
            let to_sign = ToSign {
                eseal: &eseal,
                time: now,
                data_hash,
                property_info: path,
            };
            let stamp = |value: &[u8]| ses::time_stamp(tsa.as_ref(), value);
            Ok::<_, SealError>(ses_data::sign(
                &to_sign,
                key.certificate(),
                key.signer.as_ref(),
                stamp,
            )?)
        })?;
        Ok::<_, SealError>(package.write()?)
    })
    .await
    .map_err(unprocessable)??;
    record_usage(&mut tx, &found, actor, &original, Format::Ses, purpose, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(sealed)
}
