//! Sealing PDFs: a document read and hashed as it arrives, the seal checked while it
//! does, then one incremental update with the seal visible and a signature over every
//! byte but its own value — PAdES baseline B-T for a P-256 seal, a GB/T 38540
//! SES_Signature for an SM2 seal — made in the transaction that records the use.

use tongban_core::time::Timestamp;
use tongban_crypto::cms;
use tongban_crypto::pki::Pki;
use tongban_crypto::ses::{self as ses_data, ToSign};
use tongban_crypto::shangmi::Sm3Hasher;
use tongban_store::{Store, StoreError};

use crate::error::SealError;
use crate::format::Format;
use crate::once::{self, Once};
use crate::permissions::Actor;
use crate::registry::{self, Seal, SealId};
use crate::sign::{Applied, Authority, Opened, audit_refusal, authorise, prepare_as, record_usage};
use crate::{image, pdf, ses};

/// What an SES_Signature in a PDF says it signed (`propertyInfo`): the bytes of the
/// file its /ByteRange names.
pub const PDF_PROPERTY_INFO: &str = "PDF /ByteRange";

/// A document as it arrives, hashed as it is read: its digest names it in the usage
/// record and begins what a PAdES signature covers. The hash runs on a thread of its
/// own beside the reading (SHA-256 here is slower than loopback), so that a document
/// is hashed by about when it has arrived, and is parsed while the hash finishes.
pub struct Incoming {
    bytes: Vec<u8>,
    hashing: Hashing,
}

enum Hashing {
    /// Chunks go to the hashing thread, a few at a time: the reader waits rather than
    /// let unhashed chunks pile up beside the document.
    Streamed {
        chunks: tokio::sync::mpsc::Sender<bytes::Bytes>,
        hashed: tokio::task::JoinHandle<cms::Sha256>,
    },
    /// Hashed on the reading task, chunk by chunk, or at once.
    Done(Box<cms::Sha256>),
}

/// Chunks handed to the hashing thread and not yet hashed, at most.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Uploads hashed on threads of their own at once, at most: a thread waits through
/// its whole upload, so slow uploads must not take the blocking pool. Beyond these,
/// documents are hashed on the reading task.
static HASHING_THREADS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(HASHING_THREAD_COUNT);
const HASHING_THREAD_COUNT: usize = 8;

impl Incoming {
    /// Room for `capacity` bytes (a declared length), none read yet.
    pub fn with_capacity(capacity: usize) -> Self {
        let bytes = Vec::with_capacity(capacity);
        let Ok(permit) = HASHING_THREADS.try_acquire() else {
            return Self {
                bytes,
                hashing: Hashing::Done(Box::new(cms::Sha256::new())),
            };
        };
        let (chunks, mut received) = tokio::sync::mpsc::channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
        let hashed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut hasher = cms::Sha256::new();
            while let Some(chunk) = received.blocking_recv() {
                hasher.update(&chunk);
            }
            hasher
        });
        Self {
            bytes,
            hashing: Hashing::Streamed { chunks, hashed },
        }
    }

    /// The next bytes.
    pub async fn push(&mut self, chunk: bytes::Bytes) {
        self.bytes.extend_from_slice(&chunk);
        match &mut self.hashing {
            Hashing::Streamed { chunks, .. } => {
                // The thread ends only when the sender is dropped: it is still there.
                let _ = chunks.send(chunk).await;
            }
            Hashing::Done(hasher) => hasher.update(&chunk),
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing came.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl From<Vec<u8>> for Incoming {
    fn from(bytes: Vec<u8>) -> Self {
        let mut hasher = cms::Sha256::new();
        hasher.update(&bytes);
        Self {
            bytes,
            hashing: Hashing::Done(Box::new(hasher)),
        }
    }
}

impl Hashing {
    /// The hash of every chunk, once the last is hashed.
    async fn finish(self) -> Result<cms::Sha256, tokio::task::JoinError> {
        match self {
            Self::Streamed { chunks, hashed } => {
                drop(chunks);
                hashed.await
            }
            Self::Done(hasher) => Ok(*hasher),
        }
    }
}

/// A seal checked for `actor` to apply to a PDF now, with what it shows. Sealing
/// checks again when it signs; this first check lets the caller look the seal up
/// while the document is still arriving, and refuses before it is parsed.
pub struct PdfCheck {
    actor: Actor,
    seal: Seal,
    purpose: Option<String>,
    how: (Authority, Format),
    face: image::Face,
    /// An SM2 seal's SESeal (DER): the signature carries it, so its size decides the
    /// room the signature needs.
    eseal: Option<Vec<u8>>,
}

/// May `actor` apply `seal` to a PDF now in `format` (PAdES, or SES with an SM2 seal),
/// for `purpose`, on `authority`? A refusal is audited.
pub async fn check_pdf(
    store: &Store,
    actor: &Actor,
    (seal, format): (SealId, Format),
    purpose: Option<&str>,
    authority: Authority,
) -> Result<PdfCheck, SealError> {
    let now = Timestamp::now();
    let mut conn = store.conn().await?;
    let found = registry::find(&mut conn, seal).await?;
    let how = (authority, format);
    if let Err(refusal) = authorise(&mut conn, actor, &found, purpose, how, now).await {
        drop(conn);
        audit_refusal(store, actor, seal, &refusal).await?;
        return Err(refusal);
    }
    let face = image::face(&mut conn, &found).await?;
    let eseal = match format {
        Format::Ses => Some(ses::stored(&mut conn, seal).await?),
        Format::Pades | Format::Cades | Format::Jws => None,
    };
    Ok(PdfCheck {
        actor: actor.clone(),
        seal: found,
        purpose: purpose.map(str::to_owned),
        how,
        face,
        eseal,
    })
}

/// Room for an SES_Signature carrying `eseal`: the seal, the signer's certificate,
/// the TBS_Sign's other fields and the signature value, with a margin.
fn ses_reserve(eseal: &[u8]) -> usize {
    eseal.len() + 4 * 1024
}

/// Seals a PDF as `checked` allows, in an incremental update, the seal visible at
/// `position`, with the signature's /Reason and /Location: PAdES baseline B-T, or a
/// GB/T 38540 SES_Signature over the SM3 of the ByteRange.
pub async fn seal_pdf(
    store: &Store,
    pki: &Pki,
    checked: PdfCheck,
    document: Incoming,
    position: pdf::Position,
    (reason, location): (Option<String>, Option<String>),
    once: Option<&Once>,
) -> Result<pdf::Sealed, SealError> {
    let PdfCheck {
        actor,
        seal: found,
        purpose,
        how,
        face,
        eseal,
    } = checked;
    // The document has arrived: the signature, its record and the checks made as it
    // signs are of now, not of when the upload began.
    let now = Timestamp::now();
    let (actor, purpose, seal, format) = (&actor, purpose.as_deref(), found.id, how.1);
    let Incoming { bytes, hashing } = document;
    let handler = match &eseal {
        Some(eseal) => pdf::Handler::Ses {
            reserve: ses_reserve(eseal),
        },
        None => pdf::Handler::Pades,
    };
    let statement = pdf::Statement {
        handler,
        name: found.name,
        reason,
        location,
    };
    let pdf_error = |e: pdf::PdfError| SealError::Invalid {
        field: "pdf",
        reason: e.to_string(),
    };
    let unprocessable = |e: tokio::task::JoinError| SealError::Invalid {
        field: "pdf",
        reason: format!("cannot be processed: {e}"),
    };
    // Parsing (and decoding the uploaded image, checked when it was uploaded) is CPU
    // work: off the async workers, while the hash finishes. An SES signature needs the
    // document's SM3 too, computed here.
    let parsing = tokio::task::spawn_blocking(move || {
        let planes = face.png.map(|png| image::decode_png(&png)).transpose()?;
        let appearance = match &planes {
            Some(planes) => pdf::Appearance::Image(planes),
            None => pdf::Appearance::Stamp {
                department: &face.department,
                seal: &statement.name,
            },
        };
        let prepared =
            pdf::prepare(&bytes, &position, &statement, appearance, now).map_err(pdf_error)?;
        let sm3 = (format == Format::Ses).then(|| {
            let mut hasher = Sm3Hasher::new();
            hasher.update(&bytes);
            hasher
        });
        Ok::<_, SealError>((bytes, prepared, sm3))
    });
    let (parsed, hashed) = tokio::join!(parsing, hashing.finish());
    let (document, prepared, sm3) = parsed.map_err(unprocessable)??;
    let sha256 = hashed.map_err(unprocessable)?;
    let [first, second] = prepared.signed_update();
    // The write transaction (on SQLite the database's one writer) opens only now, so
    // that other writers never wait for a parse.
    // A retry is known by the document too: its key names this document at this place.
    let document_sha256 = sha256.clone().finish();
    let once = once.map(|once| once.with_document(&document_sha256));
    let opened = prepare_as(store, pki, actor, seal, purpose, how, once.as_ref(), now).await?;
    let (mut tx, found, key) = match opened {
        Opened::Fresh(tx, found, key) => (tx, found, key),
        // The update signed the first time, after the same document.
        Opened::Answered(update) => {
            return Ok(pdf::Sealed {
                original: document,
                update: once::decode_bytes(&update)?,
            });
        }
    };
    let (signature, recorded) = match (sm3, eseal) {
        (Some(mut hasher), Some(eseal)) => {
            let original = hasher.clone().finish();
            hasher.update(first);
            hasher.update(second);
            let to_sign = ToSign {
                eseal: &eseal,
                time: now,
                data_hash: hasher.finish(),
                property_info: PDF_PROPERTY_INFO,
            };
            let (signer, tsa) = (key.signer.as_ref(), pki.sm2_tsa());
            let stamp = |value: &[u8]| ses::time_stamp(tsa, value);
            let signed = ses_data::sign(&to_sign, key.certificate(), signer, stamp)?;
            (signed, original)
        }
        _ => {
            let original = document_sha256;
            let mut hasher = sha256;
            hasher.update(first);
            hasher.update(second);
            let signed =
                cms::sign_detached_with(key.signer.as_ref(), key.cms()?, hasher.finish(), None)?;
            (pki.tsa().stamp(signed)?, original)
        }
    };
    let sealed = prepared.finish(document, &signature).map_err(pdf_error)?;
    let usage = Applied {
        seal: &found,
        certificate: key.certificate(),
        actor,
        format,
        purpose,
        now,
    };
    record_usage(&mut tx, &usage, &recorded, &signature).await?;
    if let Some(once) = &once {
        once.remember(&mut tx, actor, &once::encode_bytes(&sealed.update), now)
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_document_hashed_as_it_arrives_has_the_digest_of_its_bytes() {
        // More chunks than may wait for the hashing thread: the reader waits, and
        // nothing is lost or reordered.
        let document: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut incoming = Incoming::with_capacity(0);
        for chunk in document.chunks(997) {
            incoming.push(bytes::Bytes::copy_from_slice(chunk)).await;
        }
        assert_eq!(incoming.len(), document.len());
        let Incoming { bytes, hashing } = incoming;
        assert_eq!(bytes, document);
        let streamed = hashing.finish().await.unwrap().finish();
        assert_eq!(streamed, cms::sha256(&document));
        // With every hashing thread taken, the reading task hashes.
        let taken = HASHING_THREADS
            .acquire_many(HASHING_THREAD_COUNT as u32)
            .await
            .unwrap();
        let mut incoming = Incoming::with_capacity(0);
        assert!(matches!(incoming.hashing, Hashing::Done(_)));
        for chunk in document.chunks(997) {
            incoming.push(bytes::Bytes::copy_from_slice(chunk)).await;
        }
        drop(taken);
        assert_eq!(
            incoming.hashing.finish().await.unwrap().finish(),
            cms::sha256(&document)
        );
        let Incoming { hashing, .. } = Incoming::from(document.clone());
        assert_eq!(
            hashing.finish().await.unwrap().finish(),
            cms::sha256(&document)
        );
    }
}
