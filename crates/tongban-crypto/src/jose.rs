//! JOSE: JWS (RFC 7515) in compact, detached-content (Appendix F) and JSON
//! serializations; JWK and JWK Sets (RFC 7517) with RFC 7638 thumbprints as `kid`.
//!
//! Verification is strict on purpose: `alg: none` is refused, the algorithm must match
//! the key's type, and any `crit` header is refused because we understand no extension
//! (RFC 7515 §4.1.11 requires rejecting unknown critical headers).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::CryptoError;
use crate::signer::{Algorithm, PublicKey, Signer};

mod compact;

pub use compact::Compact;

/// Why a JWS was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// Not a JWS of the expected serialization.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// `alg: none` — an unsigned token.
    #[error("unsigned JWS (alg none) refused")]
    AlgNone,
    /// An algorithm we do not accept.
    #[error("unsupported JWS algorithm {0}")]
    UnsupportedAlg(String),
    /// The algorithm does not fit the key.
    #[error("JWS algorithm {alg} does not match key {kid}")]
    AlgKeyMismatch {
        /// Header algorithm.
        alg: String,
        /// Key id.
        kid: String,
    },
    /// No key with this id (or no id and several keys).
    #[error("no key for kid {0:?}")]
    UnknownKey(Option<String>),
    /// A critical header extension we do not understand.
    #[error("unknown critical header {0}")]
    UnknownCritical(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// A public JSON Web Key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC` or `OKP`.
    pub kty: String,
    /// `P-256` or `Ed25519`.
    pub crv: String,
    /// X coordinate (EC) or the public key (OKP), base64url.
    pub x: String,
    /// Y coordinate (EC only), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key id: the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `ES256` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Certificate chain, leaf first, standard base64 DER (RFC 7517 §4.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

impl Jwk {
    /// The JWK of a public key, with `kid`, `alg`, `use` and optionally `x5c`.
    pub fn from_public_key(key: &PublicKey, chain: Option<&[Vec<u8>]>) -> Self {
        let members: Map<String, Value> = key
            .jwk_required_members()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        let text = |name: &str| members.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            kty: text("kty").unwrap_or_default(),
            crv: text("crv").unwrap_or_default(),
            x: text("x").unwrap_or_default(),
            y: text("y"),
            kid: Some(key.thumbprint()),
            alg: key.algorithm().jose_name().map(str::to_owned),
            use_: Some("sig".to_owned()),
            x5c: chain.map(|c| c.iter().map(|der| B64.encode(der)).collect()),
        }
    }

    /// The public key this JWK describes.
    pub fn public_key(&self) -> Result<PublicKey, CryptoError> {
        let decode = |s: &str| {
            B64URL
                .decode(s)
                .map_err(|_| CryptoError::InvalidKey("JWK member is not base64url".into()))
        };
        match (self.kty.as_str(), self.crv.as_str(), &self.y) {
            ("EC", "P-256", Some(y)) => {
                let (x, y) = (decode(&self.x)?, decode(y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(CryptoError::InvalidKey(
                        "P-256 coordinates must be 32 bytes".into(),
                    ));
                }
                PublicKey::from_raw(Algorithm::Es256, &[&[0x04][..], &x, &y].concat())
            }
            ("OKP", "Ed25519", None) => PublicKey::from_raw(Algorithm::Ed25519, &decode(&self.x)?),
            _ => Err(CryptoError::InvalidKey(format!(
                "unsupported JWK {} {}",
                self.kty, self.crv
            ))),
        }
    }
}

/// A JWK Set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    fn find(&self, kid: Option<&str>) -> Result<&Jwk, JoseError> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or_else(|| JoseError::UnknownKey(kid.map(str::to_owned)))
    }
}

/// A verified JWS: its protected header and payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload (the detached one, if it was detached).
    pub payload: Vec<u8>,
}

/// The protected header we sign: `alg`, `kid`, then the caller's members (which cannot
/// override `alg` or `kid`).
fn protected_header(signer: &dyn Signer, extra: &Map<String, Value>) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), json!(signer.algorithm().jose_name()));
    header.insert("kid".into(), json!(signer.key_id()));
    for (k, v) in extra {
        header.entry(k.clone()).or_insert_with(|| v.clone());
    }
    header
}

fn signing_input(protected_b64: &str, payload_b64: &str) -> Vec<u8> {
    format!("{protected_b64}.{payload_b64}").into_bytes()
}

fn sign_parts(
    signer: &dyn Signer,
    payload: &[u8],
    extra: &Map<String, Value>,
) -> Result<(String, String, String), CryptoError> {
    if signer.algorithm().jose_name().is_none() {
        return Err(CryptoError::InvalidKey(format!(
            "JWS has no registered algorithm for {} keys",
            signer.algorithm().db_name()
        )));
    }
    let header = serde_json::to_vec(&protected_header(signer, extra))
        .map_err(|e| CryptoError::Encoding(e.to_string()))?;
    let protected = B64URL.encode(header);
    let payload = B64URL.encode(payload);
    let signature = B64URL.encode(signer.sign(&signing_input(&protected, &payload))?);
    Ok((protected, payload, signature))
}

/// Compact serialization: `header.payload.signature`.
pub fn sign_compact(
    signer: &dyn Signer,
    payload: &[u8],
    extra_header: &Map<String, Value>,
) -> Result<String, CryptoError> {
    let (h, p, s) = sign_parts(signer, payload, extra_header)?;
    Ok(format!("{h}.{p}.{s}"))
}

/// Compact serialization with detached content (RFC 7515 Appendix F): `header..signature`;
/// the verifier supplies the payload.
pub fn sign_detached(
    signer: &dyn Signer,
    payload: &[u8],
    extra_header: &Map<String, Value>,
) -> Result<String, CryptoError> {
    let (h, _, s) = sign_parts(signer, payload, extra_header)?;
    Ok(format!("{h}..{s}"))
}

/// Flattened JSON serialization (RFC 7515 §7.2.2).
pub fn sign_json(
    signer: &dyn Signer,
    payload: &[u8],
    extra_header: &Map<String, Value>,
) -> Result<Value, CryptoError> {
    let (h, p, s) = sign_parts(signer, payload, extra_header)?;
    Ok(json!({ "payload": p, "protected": h, "signature": s }))
}

/// Verifies a compact JWS; `detached` supplies the payload when the JWS has none.
pub fn verify_compact(
    jws: &str,
    detached: Option<&[u8]>,
    keys: &Jwks,
) -> Result<Verified, JoseError> {
    let (h, p, s) = three_parts(jws)?;
    verify_parts(h, p, s, detached, keys)
}

/// Verifies a JWS in flattened or general JSON serialization. Only the first signature
/// is checked: we issue JWS with one signature.
pub fn verify_json(
    value: &Value,
    detached: Option<&[u8]>,
    keys: &Jwks,
) -> Result<Verified, JoseError> {
    let payload = value.get("payload").and_then(Value::as_str).unwrap_or("");
    let signatures: Vec<&Value> = match value.get("signatures").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => vec![value],
    };
    let first = signatures
        .first()
        .ok_or(JoseError::Malformed("no signatures"))?;
    let protected = first
        .get("protected")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed("missing protected header"))?;
    let signature = first
        .get("signature")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed("missing signature"))?;
    verify_parts(protected, payload, signature, detached, keys)
}

fn verify_parts(
    protected: &str,
    payload: &str,
    signature: &str,
    detached: Option<&[u8]>,
    keys: &Jwks,
) -> Result<Verified, JoseError> {
    let json = read_header(protected)?;
    let header: Map<String, Value> = serde_json::from_slice(&json)
        .map_err(|_| JoseError::Malformed("header is not a JSON object"))?;
    let algorithm = algorithm(&json)?;
    let kid = header.get("kid").and_then(Value::as_str);
    let jwk = keys.find(kid)?;
    let key = jwk
        .public_key()
        .map_err(|_| JoseError::UnknownKey(kid.map(str::to_owned)))?;
    let declared_alg_differs = jwk
        .alg
        .as_deref()
        .is_some_and(|a| Some(a) != algorithm.jose_name());
    if key.algorithm() != algorithm || declared_alg_differs {
        return Err(mismatch(algorithm, &key));
    }
    let (payload, input) = match (payload.is_empty(), detached) {
        (true, Some(content)) => (
            content.to_vec(),
            signing_input(protected, &B64URL.encode(content)),
        ),
        (false, None) => (
            B64URL
                .decode(payload)
                .map_err(|_| JoseError::Malformed("payload is not base64url"))?,
            signing_input(protected, payload),
        ),
        (true, None) => return Err(JoseError::Malformed("detached payload not supplied")),
        (false, Some(_)) => return Err(JoseError::Malformed("payload both attached and detached")),
    };
    check_signature(&key, &input, signature)?;
    Ok(Verified { header, payload })
}

/// The header, payload and signature of a compact JWS.
fn three_parts(jws: &str) -> Result<(&str, &str, &str), JoseError> {
    let mut parts = jws.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(JoseError::Malformed("expected three dot-separated parts")),
    }
}

/// The protected header's JSON, which must be an object: serde reads a struct from an
/// array too, by position, and `["ES256"]` is no JOSE header.
fn read_header(protected: &str) -> Result<Vec<u8>, JoseError> {
    let json = B64URL
        .decode(protected)
        .map_err(|_| JoseError::Malformed("header is not base64url"))?;
    match json.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(json),
        _ => Err(JoseError::Malformed("header is not a JSON object")),
    }
}

/// Why a header's JSON could not be read into the members asked for.
const MALFORMED_MEMBERS: &str = "header is not JSON, or a member is repeated or of another type";

/// The header members that decide whether a JWS can be verified at all, read by name
/// and nothing else built (a VC-JWT's header is kilobytes).
#[derive(Deserialize)]
struct Decisive {
    #[serde(default)]
    alg: Option<String>,
    /// Present, whatever its value (`null` included), is refused.
    #[serde(default, deserialize_with = "present")]
    crit: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(value).map(Some)
}

/// The header's algorithm, if we accept it and every header member is one we
/// understand.
fn algorithm(header: &[u8]) -> Result<Algorithm, JoseError> {
    let header: Decisive =
        serde_json::from_slice(header).map_err(|_| JoseError::Malformed(MALFORMED_MEMBERS))?;
    let algorithm = match header.alg.as_deref() {
        None => return Err(JoseError::Malformed("header lacks alg")),
        Some("none") => return Err(JoseError::AlgNone),
        Some("ES256") => Algorithm::Es256,
        Some("EdDSA") => Algorithm::Ed25519,
        Some(other) => return Err(JoseError::UnsupportedAlg(other.to_owned())),
    };
    if let Some(crit) = header.crit {
        let name = crit
            .as_array()
            .and_then(|names| names.first())
            .and_then(Value::as_str)
            .unwrap_or("(malformed crit)");
        return Err(JoseError::UnknownCritical(name.to_owned()));
    }
    Ok(algorithm)
}

fn mismatch(algorithm: Algorithm, key: &PublicKey) -> JoseError {
    JoseError::AlgKeyMismatch {
        alg: algorithm.jose_name().unwrap_or_default().to_owned(),
        kid: key.thumbprint(),
    }
}

/// Whether `signature` verifies with `key` over the signing input, which is the encoded
/// header and payload as they were sent (RFC 7515 §5.2), not as re-encoded.
fn check_signature(key: &PublicKey, input: &[u8], signature: &str) -> Result<(), JoseError> {
    let signature = B64URL
        .decode(signature)
        .map_err(|_| JoseError::Malformed("signature is not base64url"))?;
    if !key.verify(input, &signature) {
        return Err(JoseError::BadSignature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::SoftwareKey;

    fn key(alg: Algorithm) -> SoftwareKey {
        SoftwareKey::generate(alg).unwrap().0
    }

    fn jwks(keys: &[&SoftwareKey]) -> Jwks {
        Jwks {
            keys: keys
                .iter()
                .map(|k| Jwk::from_public_key(k.public_key(), None))
                .collect(),
        }
    }

    #[test]
    fn sm2_keys_sign_no_jws() {
        let k = key(Algorithm::Sm2);
        assert!(sign_compact(&k, b"payload", &Map::new()).is_err());
        assert!(sign_detached(&k, b"payload", &Map::new()).is_err());
        assert_eq!(Jwk::from_public_key(k.public_key(), None).alg, None);
    }

    #[test]
    fn compact_detached_and_json_round_trip() {
        for alg in [Algorithm::Es256, Algorithm::Ed25519] {
            let k = key(alg);
            let set = jwks(&[&k]);
            let extra = Map::new();
            let compact = sign_compact(&k, b"payload", &extra).unwrap();
            assert_eq!(
                verify_compact(&compact, None, &set).unwrap().payload,
                b"payload"
            );
            let detached = sign_detached(&k, b"payload", &extra).unwrap();
            assert!(detached.contains(".."));
            assert_eq!(
                verify_compact(&detached, Some(b"payload"), &set)
                    .unwrap()
                    .payload,
                b"payload"
            );
            assert_eq!(
                verify_compact(&detached, Some(b"paylOad"), &set),
                Err(JoseError::BadSignature)
            );
            let json = sign_json(&k, b"payload", &extra).unwrap();
            assert_eq!(verify_json(&json, None, &set).unwrap().payload, b"payload");
        }
    }

    #[test]
    fn es256_signatures_are_raw_r_s() {
        let k = key(Algorithm::Es256);
        let compact = sign_compact(&k, b"x", &Map::new()).unwrap();
        let sig = B64URL.decode(compact.rsplit('.').next().unwrap()).unwrap();
        assert_eq!(sig.len(), 64);
    }

    #[test]
    fn refuses_none_mismatch_critical_and_unknown_keys() {
        let k = key(Algorithm::Es256);
        let set = jwks(&[&k]);
        let none = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none"}"#),
            B64URL.encode(b"x")
        );
        assert_eq!(verify_compact(&none, None, &set), Err(JoseError::AlgNone));

        // An Ed25519 header against a P-256 key.
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, k.key_id());
        let forged = format!(
            "{}.{}.{}",
            B64URL.encode(header),
            B64URL.encode(b"x"),
            B64URL.encode([0u8; 64])
        );
        assert!(matches!(
            verify_compact(&forged, None, &set),
            Err(JoseError::AlgKeyMismatch { .. })
        ));

        let mut extra = Map::new();
        extra.insert("crit".into(), json!(["exp"]));
        extra.insert("exp".into(), json!(1));
        let critical = sign_compact(&k, b"x", &extra).unwrap();
        assert_eq!(
            verify_compact(&critical, None, &set),
            Err(JoseError::UnknownCritical("exp".into()))
        );

        let other = key(Algorithm::Es256);
        let compact = sign_compact(&other, b"x", &Map::new()).unwrap();
        assert!(matches!(
            verify_compact(&compact, None, &set),
            Err(JoseError::UnknownKey(_))
        ));

        let mut tampered = sign_compact(&k, b"x", &Map::new()).unwrap();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert_eq!(
            verify_compact(&tampered, None, &set),
            Err(JoseError::BadSignature)
        );
        assert!(matches!(
            verify_compact("a.b", None, &set),
            Err(JoseError::Malformed(_))
        ));
    }

    #[test]
    fn jwk_round_trips_with_thumbprint_kid() {
        let k = key(Algorithm::Es256);
        let jwk = Jwk::from_public_key(k.public_key(), Some(&[vec![1, 2, 3]]));
        assert_eq!(jwk.kid.as_deref(), Some(k.key_id()));
        assert_eq!(jwk.x5c.as_deref(), Some(&["AQID".to_owned()][..]));
        assert_eq!(&jwk.public_key().unwrap(), k.public_key());
    }
}
