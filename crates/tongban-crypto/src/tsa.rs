//! RFC 3161 time-stamp authority: parses `TimeStampReq`, answers `TimeStampResp` with a
//! token signed by the TSA key (a CMS SignedData over a `TSTInfo`), with the caller's
//! nonce echoed, our policy, an accuracy, and serial numbers that are UUIDv7s read as
//! 128-bit integers: unique across instances (RFC 3161 §2.4.2 asks only that) and
//! increasing with time, with no shared counter that every signing transaction of
//! every instance would wait on.
//!
//! The SM2 hierarchy has its own TSA, whose tokens are GM/T 0010 SignedData (SM3 digests,
//! SM2 signatures) over SM3 imprints: the time-stamps of GB/T 38540 signatures. It
//! answers in-process only; the HTTP endpoint is the P-256 TSA's.
//!
//! Every query gets an RFC 3161 answer: malformed or unsupported queries get status
//! `rejection` with a failure reason instead of an HTTP error, as §2.4.2 intends.

use std::sync::Arc;

use der::asn1::{Any, BitString, GeneralizedTime, Int, OctetString, Uint, Utf8StringRef};
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag};
use spki::AlgorithmIdentifierOwned;
use tongban_core::time::Timestamp;

use crate::cms::{self, Content, ID_CT_TST_INFO, ID_SHA256, ID_SM3, content_digest, sha256};
use crate::error::CryptoError;
use crate::signer::Signer;

/// Our TSA policy: `2.25.147690955894539417563959498371787299393.1`, an OID under the
/// UUID arc (ITU-T X.667) that needs no registration. Its arcs exceed 32 bits, which
/// the `der` OID type cannot hold, so it lives here as encoded bytes.
pub const POLICY_OID_BYTES: [u8; 21] = [
    0x69, 0x81, 0xde, 0x9c, 0x9f, 0x94, 0xd1, 0xf0, 0xda, 0xbc, 0x9d, 0x9a, 0xab, 0xcf, 0x83, 0xd2,
    0xdb, 0xfa, 0xb4, 0x41, 0x01,
];
/// The policy in dotted form, for documentation and `openssl ts -tspolicy`.
pub const POLICY_OID: &str = "2.25.147690955894539417563959498371787299393.1";

/// Largest query we parse; a SHA-512 imprint with a nonce and policy is under 200 bytes.
pub const MAX_QUERY_BYTES: usize = 4096;

/// MessageImprint (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MessageImprint {
    pub(crate) hash_algorithm: AlgorithmIdentifierOwned,
    pub(crate) hashed_message: OctetString,
}

/// Accuracy (RFC 3161 §2.4.2), whole seconds.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Accuracy {
    seconds: u32,
}

/// TSTInfo (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub(crate) version: u8,
    pub(crate) policy: Any,
    pub(crate) message_imprint: MessageImprint,
    pub(crate) serial_number: Uint,
    pub(crate) gen_time: GeneralizedTime,
    pub(crate) accuracy: Accuracy,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
}

/// PKIStatusInfo (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo<'a> {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// A query as we understood it.
#[derive(Debug)]
struct Query {
    imprint: MessageImprint,
    nonce: Option<Int>,
    cert_req: bool,
}

/// Why a query is refused: a PKIFailureInfo bit and a text.
impl Query {
    /// The query of an in-process signature time-stamp: a digest of `algorithm` (SHA-256
    /// or SM3), no nonce, with the TSA's certificate.
    fn for_digest(
        algorithm: der::asn1::ObjectIdentifier,
        digest: [u8; 32],
    ) -> Result<Self, der::Error> {
        Ok(Self {
            imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: algorithm,
                    parameters: None,
                },
                hashed_message: OctetString::new(digest.to_vec())?,
            },
            nonce: None,
            cert_req: true,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// badAlg (0): not SHA-256, or an imprint of the wrong length.
    BadAlgorithm,
    /// badDataFormat (5): not a DER TimeStampReq.
    BadDataFormat,
    /// unacceptedPolicy (15): a policy other than ours.
    UnacceptedPolicy,
    /// unacceptedExtension (16): extensions are not supported.
    UnacceptedExtension,
    /// systemFailure (25): our fault (database, signing).
    SystemFailure,
}

impl Failure {
    fn bit(self) -> u8 {
        match self {
            Self::BadAlgorithm => 0,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
            Self::SystemFailure => 25,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::BadAlgorithm => "only SHA-256 message imprints are accepted",
            Self::BadDataFormat => "the query is not a DER TimeStampReq",
            Self::UnacceptedPolicy => "the requested policy is not offered",
            Self::UnacceptedExtension => "request extensions are not supported",
            Self::SystemFailure => "the time-stamp authority failed; retry later",
        }
    }
}

fn parse_query(bytes: &[u8]) -> Result<Query, Failure> {
    if bytes.len() > MAX_QUERY_BYTES {
        return Err(Failure::BadDataFormat);
    }
    let bad = |_| Failure::BadDataFormat;
    let mut reader = SliceReader::new(bytes).map_err(bad)?;
    let query = reader
        .sequence(|r| {
            let version = u8::decode(r)?;
            let imprint = MessageImprint::decode(r)?;
            let mut query = Query {
                imprint,
                nonce: None,
                cert_req: false,
            };
            let mut policy = None;
            let mut extensions = false;
            // The optional fields come in this order, each at most once (§2.4.1).
            let mut last_field = 0;
            while !r.is_finished() {
                let tag = Tag::peek(r)?;
                let field = match tag {
                    Tag::ObjectIdentifier => 1,
                    Tag::Integer => 2,
                    Tag::Boolean => 3,
                    _ => 4,
                };
                if field <= last_field {
                    return Err(der::Error::from(der::ErrorKind::TagUnexpected {
                        expected: None,
                        actual: tag,
                    }));
                }
                last_field = field;
                match field {
                    1 => policy = Some(r.tlv_bytes()?.to_vec()),
                    2 => query.nonce = Some(Int::decode(r)?),
                    3 => query.cert_req = bool::decode(r)?,
                    _ => {
                        r.tlv_bytes()?;
                        extensions = true;
                    }
                }
            }
            Ok::<_, der::Error>((version, query, policy, extensions))
        })
        .map_err(bad)?;
    reader.finish().map_err(bad)?;
    let (version, query, policy, extensions) = query;
    if version != 1 {
        return Err(Failure::BadDataFormat);
    }
    if query.imprint.hash_algorithm.oid != ID_SHA256
        || query.imprint.hashed_message.as_bytes().len() != 32
    {
        return Err(Failure::BadAlgorithm);
    }
    if let Some(policy) = policy
        && policy.get(2..) != Some(&POLICY_OID_BYTES[..])
    {
        return Err(Failure::UnacceptedPolicy);
    }
    if extensions {
        return Err(Failure::UnacceptedExtension);
    }
    Ok(query)
}

/// The time-stamp authority: its key and its certificate chain.
#[derive(Clone)]
pub struct Tsa {
    signer: Arc<dyn Signer>,
    chain: Vec<Vec<u8>>,
    /// The chain read once for every token; none if it is not the signer's.
    prepared: Option<Arc<cms::SignerChain>>,
    /// End of the TSA certificate's validity: no token is signed after it.
    not_after: Timestamp,
}

impl Tsa {
    /// A TSA signing with `signer`, whose chain (TSA certificate first) is `chain`.
    pub fn new(signer: Arc<dyn Signer>, chain: Vec<Vec<u8>>) -> Self {
        use x509_parser::prelude::{FromDer, X509Certificate};
        // An unreadable certificate counts as expired: the TSA then refuses to sign.
        let not_after = chain
            .first()
            .and_then(|der| X509Certificate::from_der(der).ok())
            .map_or(Timestamp::from_unix_millis(0), |(_, cert)| {
                Timestamp::from_unix_millis(cert.validity().not_after.timestamp() * 1000)
            });
        let prepared = cms::SignerChain::new(signer.as_ref(), &chain)
            .map(Arc::new)
            .ok();
        Self {
            signer,
            chain,
            prepared,
            not_after,
        }
    }

    /// The TSA certificate chain, TSA certificate first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`: granted with a token, or
    /// rejected with a reason. Never fails: a failure is itself an RFC 3161 answer.
    pub fn respond(&self, query: &[u8]) -> Vec<u8> {
        let result = match parse_query(query) {
            Ok(query) => self.token(&query).map_err(|error| {
                tracing::error!(%error, "time-stamp token failed");
                Failure::SystemFailure
            }),
            Err(failure) => Err(failure),
        };
        let encoded = match result {
            Ok(token) => granted(&token),
            Err(failure) => rejected(failure),
        };
        // Encoding our own fixed structures cannot fail; if it did, answer the
        // shortest valid rejection.
        encoded.unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
    }

    /// A time-stamp token (ContentInfo DER) over a SHA-256 digest, for signature
    /// time-stamps made in-process (CAdES/PAdES B-T).
    pub fn timestamp(&self, digest: [u8; 32]) -> Result<Vec<u8>, CryptoError> {
        self.token(&Query::for_digest(ID_SHA256, digest)?)
    }

    /// A time-stamp token over an SM3 digest, for GB/T 38540 signatures: from an SM2
    /// TSA, a GM/T 0010 SignedData (SM3, SM2).
    pub fn timestamp_sm3(&self, digest: [u8; 32]) -> Result<Vec<u8>, CryptoError> {
        self.token(&Query::for_digest(ID_SM3, digest)?)
    }

    fn check_validity(&self) -> Result<(), CryptoError> {
        if Timestamp::now() >= self.not_after {
            return Err(CryptoError::InvalidKey(
                "the TSA certificate has expired; a new one is issued at the next start".into(),
            ));
        }
        Ok(())
    }

    /// `signed` made B-T: with a time-stamp token over its signature value.
    pub fn stamp(&self, signed: cms::Detached) -> Result<Vec<u8>, CryptoError> {
        let token = self.timestamp(sha256(signed.signature_value()))?;
        signed.with_timestamp(&token)
    }

    fn token(&self, query: &Query) -> Result<Vec<u8>, CryptoError> {
        self.check_validity()?;
        let serial = tongban_core::id::Uuid::now_v7();
        let now = Timestamp::now();
        let seconds = u64::try_from(now.unix_millis() / 1000).unwrap_or(0);
        let tst_info = TstInfo {
            version: 1,
            policy: Any::new(Tag::ObjectIdentifier, POLICY_OID_BYTES.to_vec())?,
            message_imprint: query.imprint.clone(),
            serial_number: Uint::new(serial.as_bytes())?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))?,
            accuracy: Accuracy { seconds: 1 },
            nonce: query.nonce.clone(),
        }
        .to_der()?;
        let chain = self
            .prepared
            .as_ref()
            .ok_or_else(|| CryptoError::InvalidKey("the TSA chain is not its key's".into()))?;
        cms::signed_data(
            self.signer.as_ref(),
            chain,
            &Content {
                content_type: ID_CT_TST_INFO,
                encapsulated: Some(&tst_info),
                digest: content_digest(self.signer.algorithm(), &tst_info),
                signing_time: Some(now),
                include_certificates: query.cert_req,
            },
        )
    }
}

fn granted(token: &[u8]) -> Result<Vec<u8>, der::Error> {
    let status = PkiStatusInfo {
        status: 0,
        status_string: None,
        fail_info: None,
    }
    .to_der()?;
    sequence(&[&status, token])
}

fn rejected(failure: Failure) -> Result<Vec<u8>, der::Error> {
    let bit = failure.bit();
    let mut bytes = vec![0u8; usize::from(bit / 8) + 1];
    bytes[usize::from(bit / 8)] = 0x80 >> (bit % 8);
    let status = PkiStatusInfo {
        status: 2,
        status_string: Some(vec![Utf8StringRef::new(failure.text())?]),
        fail_info: Some(BitString::new(7 - bit % 8, bytes)?),
    }
    .to_der()?;
    sequence(&[&status])
}

/// DER SEQUENCE of already encoded elements.
fn sequence(elements: &[&[u8]]) -> Result<Vec<u8>, der::Error> {
    let body: Vec<u8> = elements.concat();
    let mut out = der::Header::new(Tag::Sequence, der::Length::try_from(body.len())?).to_der()?;
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_oversized_queries_are_bad_data_format() {
        assert_eq!(parse_query(b"").unwrap_err(), Failure::BadDataFormat);
        assert_eq!(
            parse_query(b"\x30\x80garbage").unwrap_err(),
            Failure::BadDataFormat
        );
        assert_eq!(
            parse_query(&[0x30; 5000]).unwrap_err(),
            Failure::BadDataFormat
        );
    }

    #[test]
    fn fields_out_of_order_or_repeated_are_bad_data_format() {
        // version 1, SHA-256 imprint, then nonce, nonce.
        let mut q = vec![
            0x30, 0x3a, 0x02, 0x01, 0x01, 0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09,
        ];
        q.extend_from_slice(&[
            0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20,
        ]);
        q.extend_from_slice(&[7; 32]);
        q.extend_from_slice(&[0x02, 0x01, 0x05, 0x02, 0x01, 0x06]);
        assert_eq!(usize::from(q[1]) + 2, q.len());
        assert_eq!(parse_query(&q).unwrap_err(), Failure::BadDataFormat);
        // The same with one nonce parses.
        q[1] -= 3;
        q.truncate(q.len() - 3);
        assert!(parse_query(&q).is_ok());
    }

    #[test]
    fn an_sm2_tsa_signs_gm_t_0010_tokens_over_sm3_imprints() {
        use crate::ca::{Profile, PublicUrls};
        use crate::signer::{Algorithm, SoftwareKey};
        use crate::sm2_certificates::{Sm2Issuer, issue, self_signed_root};
        let now = time::OffsetDateTime::now_utc();
        let root_key = SoftwareKey::ephemeral(Algorithm::Sm2).expect("key");
        let root = self_signed_root(&root_key, "Root", now).expect("root");
        let issuer = Sm2Issuer {
            name: "sm2-root",
            certificate: &root.der,
            key: &root_key,
        };
        let key = Arc::new(SoftwareKey::ephemeral(Algorithm::Sm2).expect("key"));
        let urls = PublicUrls::new("http://127.0.0.1");
        let profile = Profile::Tsa { name: "TSA".into() };
        let cert = issue(&profile, key.public_key(), &issuer, &urls, now).expect("cert");
        let tsa = Tsa::new(key, vec![cert.der.clone(), root.der]);
        let imprint = crate::shangmi::sm3(b"signature value");
        let token = tsa.timestamp_sm3(imprint).expect("token");
        // A GM/T 0010 SignedData: its content type is 1.2.156.10197.6.1.4.2.2.
        let gm_signed_data = cms::GM_SIGNED_DATA.to_der().expect("oid");
        assert!(
            token
                .windows(gm_signed_data.len())
                .any(|w| w == gm_signed_data)
        );
        use crate::cms_verify::ImprintAlgorithm::{Sha256, Sm3};
        let stamp =
            crate::cms_verify::verify_timestamp_token(&token, &imprint, Sm3).expect("valid");
        assert_eq!(stamp.tsa_certificate, cert.der);
        assert!(crate::cms_verify::verify_timestamp_token(&token, &[0; 32], Sm3).is_err());
        // The same 32 bytes under another algorithm's name prove nothing.
        assert!(crate::cms_verify::verify_timestamp_token(&token, &imprint, Sha256).is_err());
        // One byte of the token's signed TSTInfo changed: it no longer verifies.
        let at = token
            .windows(32)
            .position(|w| w == imprint)
            .expect("imprint");
        let mut changed = token.clone();
        changed[at] ^= 1;
        assert!(crate::cms_verify::verify_timestamp_token(&changed, &imprint, Sm3).is_err());
    }

    #[test]
    fn rejections_are_valid_der() {
        for failure in [
            Failure::BadAlgorithm,
            Failure::BadDataFormat,
            Failure::UnacceptedPolicy,
        ] {
            let der = rejected(failure).unwrap();
            assert_eq!(der[0], 0x30);
            assert_eq!(usize::from(der[1]) + 2, der.len());
        }
    }
}
