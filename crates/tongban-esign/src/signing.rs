//! Signing a request's documents under the person's approval: each PDF gets an
//! incremental update with the person's signature visible where the requester placed
//! it, PAdES baseline B-T (the person's certificate, a signature time-stamp from our
//! TSA), so that the department can seal the same document afterwards and both stay
//! valid. Everything is checked again inside the signing transaction: the request is
//! still open, the certificate live, the approval unused and committed to exactly the
//! documents as stored.

use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_crypto::{ca::hex, cms};
use tongban_identity::subjects::{self, SubjectId};
use tongban_seal::{image, pdf, stamp};
use tongban_store::{Store, StoreError};

use crate::certificates;
use crate::error::SignError;
use crate::records::{self, Act};
use crate::requests::{self, SigningRequest, Version};

/// How the signature looks.
#[derive(Clone, Debug)]
pub enum Mark {
    /// The person's name typed, with 签名 and the date.
    Typed,
    /// A signature the person drew (PNG).
    Drawn(Vec<u8>),
}

/// Beijing time's offset: the date under a signature is the signer's.
const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;

fn date_in_china(now: Timestamp) -> String {
    let local = Timestamp::from_unix_millis(now.unix_millis() + CHINA_OFFSET_MS).to_rfc3339();
    local.chars().take(10).collect()
}

/// Signs the documents of request `request_id` for `subject`, under their approval
/// `approval_id`; returns the request as signed.
pub async fn sign_request(
    store: &Store,
    pki: &Pki,
    subject: SubjectId,
    (request_id, approval_id): (&str, &str),
    mark: Mark,
    now: Timestamp,
) -> Result<SigningRequest, SignError> {
    let mut conn = store.conn().await?;
    let request = requests::for_signer(&mut conn, subject, request_id).await?;
    if !request.open(now) {
        let status = requests::shown_status(&request, now).to_owned();
        return Err(SignError::Conflict(format!("the request is {status}")));
    }
    let certificate = certificates::current(&mut conn, subject, now)
        .await?
        .ok_or_else(|| SignError::Conflict("you hold no valid signing certificate".into()))?;
    let name = subjects::profile_of(&mut conn, &subject.to_string())
        .await?
        .ok_or(SignError::NotFound("person"))?
        .name;
    let mut originals = Vec::with_capacity(request.documents.len());
    for document in &request.documents {
        let bytes =
            requests::bytes_of(&mut conn, request_id, document.position, Version::Original).await?;
        // What is signed must be what the person was shown and approved.
        if hex(&cms::sha256(&bytes)) != document.sha256 {
            return Err(SignError::Conflict(format!(
                "{} changed after the request was made",
                document.name
            )));
        }
        originals.push(bytes);
    }
    drop(conn);
    let digests: Vec<[u8; 32]> = originals.iter().map(|d| cms::sha256(d)).collect();
    let statement = pdf::Statement {
        handler: pdf::Handler::Pades,
        name: name.clone(),
        reason: Some(request.purpose.clone()),
        location: None,
    };
    let placements: Vec<pdf::Placement> = request
        .documents
        .iter()
        .map(|d| pdf::Placement {
            page: u32::try_from(d.placement.0).unwrap_or(0),
            x: d.placement.1 as f32,
            y: d.placement.2 as f32,
            size: d.placement.3 as f32,
        })
        .collect();
    let caption = format!("签名 {}", date_in_china(now));
    // Drawing the mark and preparing each update is CPU work: off the async workers,
    // and before the write transaction opens.
    let prepared = tokio::task::spawn_blocking(move || {
        let planes = match mark {
            Mark::Typed => {
                let (rgb, alpha) =
                    stamp::signature_mark(stamp::SIZE, &name, &caption, stamp::font());
                image::Planes {
                    width: stamp::SIZE,
                    height: stamp::SIZE,
                    rgb,
                    alpha,
                }
            }
            Mark::Drawn(png) => image::decode_png(&png)?,
        };
        originals
            .into_iter()
            .zip(placements)
            .map(|(original, placement)| {
                let position = pdf::Position::One(placement);
                let appearance = pdf::Appearance::Image(&planes);
                let prepared = pdf::prepare(&original, &position, &statement, appearance, now)
                    .map_err(|e| SignError::Invalid {
                        field: "pdf",
                        reason: e.to_string(),
                    })?;
                Ok((original, prepared))
            })
            .collect::<Result<Vec<_>, SignError>>()
    })
    .await??;
    let mut tx = store.begin().await?;
    let approval = crate::approval::take(
        &mut tx,
        subject,
        approval_id,
        &certificate.id,
        &digests,
        now,
    )
    .await?;
    if approval.request_id.as_deref() != Some(request_id)
        || approval.commitment.documents.len() != digests.len()
    {
        return Err(SignError::Approval(
            "it was given for another request".into(),
        ));
    }
    requests::finish(&mut tx, &request, ("signed", None), now).await?;
    let key = certificates::key_of(&mut tx, pki, &certificate).await?;
    let mut signed = Vec::with_capacity(prepared.len());
    for ((original, prepared), (document, digest)) in prepared
        .into_iter()
        .zip(request.documents.iter().zip(&digests))
    {
        let mut hasher = cms::Sha256::new();
        hasher.update(&original);
        let [first, second] = prepared.signed_update();
        hasher.update(first);
        hasher.update(second);
        let detached =
            cms::sign_detached_with(key.signer.as_ref(), key.cms()?, hasher.finish(), None)?;
        let value = detached.signature_value().to_vec();
        let signature = pki.tsa().stamp(detached)?;
        let cms = Some(signature.clone());
        let sealed = prepared
            .finish(original, &signature)
            .map_err(|e| SignError::Internal(e.to_string()))?
            .to_vec();
        sqlx::query(
            "UPDATE signing_documents SET signed = $3, signed_sha256 = $4 WHERE request_id = $1 AND position = $2",
        )
        .bind(request_id)
        .bind(document.position)
        .bind(&sealed)
        .bind(hex(&cms::sha256(&sealed)))
        .execute(&mut *tx)
        .await?;
        signed.push(records::Made {
            digest: *digest,
            value,
            cms,
        });
    }
    let act = Act {
        subject,
        certificate: &certificate,
        approval: &approval,
        format: "pades",
    };
    records::record(&mut tx, &act, &signed, now).await?;
    let done = requests::load(&mut tx, request_id)
        .await?
        .ok_or(SignError::NotFound("signing request"))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(done)
}
