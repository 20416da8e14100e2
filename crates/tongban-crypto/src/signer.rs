//! Keys and the [`Signer`] trait.
//!
//! Callers sign through `Signer` only, so a PKCS#11 HSM backend can replace
//! [`SoftwareKey`] without touching them. Signatures come in JOSE form (ES256 and SM2:
//! raw r‖s; Ed25519: 64 bytes); [`Signer::sign_x509`] gives the DER form X.509, CMS and
//! GB/T 38540 need. P-256 and Ed25519 sign with ring; SM2 (with SM3 and the default
//! distinguishing identifier, [`crate::shangmi`]) with RustCrypto `sm2`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};

use crate::der_util::{ecdsa_der_to_fixed, ecdsa_fixed_to_der};
use crate::error::CryptoError;
use crate::shangmi::DEFAULT_DISTID;

/// A signature algorithm we sign and verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256; the default.
    Es256,
    /// Ed25519 (JOSE name `EdDSA`).
    Ed25519,
    /// SM2 with SM3 (GM/T 0003, GB/T 32918) and the default distinguishing identifier.
    /// JOSE registers no name for it; JWS and JWT signing refuse it.
    Sm2,
}

impl Algorithm {
    /// The JOSE `alg` name; none for SM2.
    pub fn jose_name(self) -> Option<&'static str> {
        match self {
            Self::Es256 => Some("ES256"),
            Self::Ed25519 => Some("EdDSA"),
            Self::Sm2 => None,
        }
    }

    /// The name stored in the database.
    pub fn db_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ed25519 => "Ed25519",
            Self::Sm2 => "SM2",
        }
    }

    /// Parses [`Algorithm::db_name`].
    pub fn from_db_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "Ed25519" => Some(Self::Ed25519),
            "SM2" => Some(Self::Sm2),
            _ => None,
        }
    }
}

/// A public key: its algorithm and raw bytes (uncompressed EC point, or the 32-byte
/// Ed25519 key).
#[derive(Clone)]
pub struct PublicKey {
    algorithm: Algorithm,
    raw: Vec<u8>,
    /// An SM2 key's verifying form: the point checked and `Z_A` (the SM3 of the
    /// distinguishing identifier, the curve and the key) computed once, not per
    /// signature (that cost verification a sixth of its rate).
    sm2: Option<Box<sm2::dsa::VerifyingKey>>,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.raw == other.raw
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({}, {})",
            self.algorithm.db_name(),
            self.thumbprint()
        )
    }
}

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1), before the
/// 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER prefix of an SM2 SubjectPublicKeyInfo (id-ecPublicKey, the SM2 curve
/// 1.2.156.10197.1.301), before the 65-byte uncompressed point.
const SM2_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// A public key from raw bytes, checked for length and form.
    pub fn from_raw(algorithm: Algorithm, raw: &[u8]) -> Result<Self, CryptoError> {
        let invalid = || CryptoError::InvalidKey("wrong public key length or form".into());
        // A point off the curve is refused here rather than at the first verify.
        let sm2 = match algorithm {
            Algorithm::Sm2 if raw.len() == 65 => {
                let key = sm2::dsa::VerifyingKey::from_sec1_bytes(DEFAULT_DISTID, raw);
                Some(Box::new(key.map_err(|_| invalid())?))
            }
            Algorithm::Sm2 => return Err(invalid()),
            Algorithm::Es256 | Algorithm::Ed25519 => None,
        };
        let ok = match algorithm {
            Algorithm::Es256 => raw.len() == 65 && raw[0] == 0x04,
            Algorithm::Sm2 => raw[0] == 0x04,
            Algorithm::Ed25519 => raw.len() == 32,
        };
        if !ok {
            return Err(invalid());
        }
        Ok(Self {
            algorithm,
            raw: raw.to_vec(),
            sm2,
        })
    }

    /// A public key from a DER SubjectPublicKeyInfo of a supported algorithm.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, CryptoError> {
        if let Some(raw) = spki.strip_prefix(&P256_SPKI_PREFIX[..]) {
            return Self::from_raw(Algorithm::Es256, raw);
        }
        if let Some(raw) = spki.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            return Self::from_raw(Algorithm::Ed25519, raw);
        }
        if let Some(raw) = spki.strip_prefix(&SM2_SPKI_PREFIX[..]) {
            return Self::from_raw(Algorithm::Sm2, raw);
        }
        Err(CryptoError::InvalidKey(
            "unsupported public key algorithm".into(),
        ))
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw key bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let prefix: &[u8] = match self.algorithm {
            Algorithm::Es256 => &P256_SPKI_PREFIX,
            Algorithm::Ed25519 => &ED25519_SPKI_PREFIX,
            Algorithm::Sm2 => &SM2_SPKI_PREFIX,
        };
        [prefix, &self.raw].concat()
    }

    /// The JWK members that define the key (RFC 7638 §3.2), in lexicographic order.
    pub(crate) fn jwk_required_members(&self) -> Vec<(&'static str, String)> {
        match self.algorithm {
            Algorithm::Es256 => vec![
                ("crv", "P-256".to_owned()),
                ("kty", "EC".to_owned()),
                ("x", B64URL.encode(&self.raw[1..33])),
                ("y", B64URL.encode(&self.raw[33..65])),
            ],
            Algorithm::Ed25519 => vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                ("x", B64URL.encode(&self.raw)),
            ],
            // No registered JWK curve name: "SM2", as most SM2 JOSE libraries write it.
            // Only the thumbprint (the key id) uses it; no SM2 key is published as a JWK.
            Algorithm::Sm2 => vec![
                ("crv", "SM2".to_owned()),
                ("kty", "EC".to_owned()),
                ("x", B64URL.encode(&self.raw[1..33])),
                ("y", B64URL.encode(&self.raw[33..65])),
            ],
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url): the `kid` of this key everywhere.
    pub fn thumbprint(&self) -> String {
        let members: Vec<String> = self
            .jwk_required_members()
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":\"{v}\""))
            .collect();
        let canonical = format!("{{{}}}", members.join(","));
        B64URL.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// Verifies a JOSE-form signature (ES256 or SM2 r‖s, or Ed25519) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let alg: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::Ed25519 => &signature::ED25519,
            Algorithm::Sm2 => return self.verify_sm2(message, signature),
        };
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(message, signature)
            .is_ok()
    }

    /// Verifies a signature in the form X.509, CMS and GB/T 38540 carry it (ES256 and
    /// SM2: DER `SEQUENCE { r, s }`; Ed25519: 64 bytes) over `message`.
    pub fn verify_x509(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.algorithm {
            Algorithm::Es256 | Algorithm::Sm2 => {
                ecdsa_der_to_fixed(signature).is_some_and(|fixed| self.verify(message, &fixed))
            }
            Algorithm::Ed25519 => self.verify(message, signature),
        }
    }

    fn verify_sm2(&self, message: &[u8], signature: &[u8]) -> bool {
        let Some(key) = &self.sm2 else {
            return false;
        };
        sm2::dsa::Signature::from_slice(signature)
            .is_ok_and(|signature| key.verify(message, &signature).is_ok())
    }
}

/// Something that signs with a private key it does not reveal.
pub trait Signer: Send + Sync {
    /// The signature algorithm.
    fn algorithm(&self) -> Algorithm {
        self.public_key().algorithm()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    fn key_id(&self) -> &str;

    /// The public key.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message`; the signature is in JOSE form (ES256: r‖s; Ed25519: 64 bytes).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Signs `message` with the signature in the form X.509, CMS and GB/T 38540 use
    /// (ES256 and SM2: DER `SEQUENCE { r, s }`; Ed25519: unchanged).
    fn sign_x509(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature = self.sign(message)?;
        Ok(match self.algorithm() {
            Algorithm::Es256 | Algorithm::Sm2 => ecdsa_fixed_to_der(&signature),
            Algorithm::Ed25519 => signature,
        })
    }

    /// Signs a SHA-256 digest computed by someone else (the CSC API's `signHash`, whose
    /// caller hashed what it signs), as DER `SEQUENCE { r, s }`. Only P-256 keys can;
    /// SM2 signs over SM3 with the signer's identity mixed in, Ed25519 over the message.
    fn sign_digest_x509(&self, digest: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        let _ = digest;
        Err(CryptoError::InvalidKey(format!(
            "{:?} keys cannot sign a digest computed elsewhere",
            self.algorithm()
        )))
    }
}

enum PrivateKey {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Sm2(Box<sm2::dsa::SigningKey>),
}

/// A key held in process memory (decrypted from the key store).
pub struct SoftwareKey {
    key: PrivateKey,
    /// The same P-256 key for signing digests (ring signs messages only).
    prehash: Option<p256::ecdsa::SigningKey>,
    public: PublicKey,
    kid: String,
    rng: SystemRandom,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftwareKey({})", self.kid)
    }
}

/// PKCS#8 bytes of a private key. Only the key store sees them, to encrypt them.
pub(crate) struct Pkcs8(pub(crate) Vec<u8>);

impl SoftwareKey {
    /// Generates a new key; returns it with its PKCS#8 document for the key store.
    pub(crate) fn generate(algorithm: Algorithm) -> Result<(Self, Pkcs8), CryptoError> {
        let rng = SystemRandom::new();
        let document = match algorithm {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map(|d| d.as_ref().to_vec())
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng).map(|d| d.as_ref().to_vec()),
            Algorithm::Sm2 => {
                let secret = sm2::SecretKey::random(&mut rand_core::OsRng);
                let document = secret
                    .to_pkcs8_der()
                    .map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
                Ok(document.as_bytes().to_vec())
            }
        }
        .map_err(|_| CryptoError::Rng)?;
        let pkcs8 = Pkcs8(document);
        let key = Self::from_pkcs8(algorithm, &pkcs8.0)?;
        Ok((key, pkcs8))
    }

    /// A key that lives only in this process (never stored): for tests, benchmarks and
    /// one-off ceremonies such as `tongban keys dev-init`.
    pub fn ephemeral(algorithm: Algorithm) -> Result<Self, CryptoError> {
        Self::generate(algorithm).map(|(key, _)| key)
    }

    /// Loads a key from its PKCS#8 document.
    pub(crate) fn from_pkcs8(algorithm: Algorithm, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let invalid = |e: ring::error::KeyRejected| CryptoError::InvalidKey(e.to_string());
        let key = match algorithm {
            Algorithm::Es256 => PrivateKey::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(invalid)?,
            ),
            Algorithm::Ed25519 => PrivateKey::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(invalid)?,
            ),
            Algorithm::Sm2 => {
                let invalid = |e: &dyn fmt::Display| CryptoError::InvalidKey(e.to_string());
                let secret = sm2::SecretKey::from_pkcs8_der(pkcs8).map_err(|e| invalid(&e))?;
                let key =
                    sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).map_err(|e| invalid(&e))?;
                PrivateKey::Sm2(Box::new(key))
            }
        };
        let raw = match &key {
            PrivateKey::Es256(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Sm2(k) => k.verifying_key().to_sec1_bytes().to_vec(),
        };
        let public = PublicKey::from_raw(algorithm, &raw)?;
        let prehash = match algorithm {
            Algorithm::Es256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
                    .map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
                Some(key)
            }
            Algorithm::Ed25519 | Algorithm::Sm2 => None,
        };
        Ok(Self {
            kid: public.thumbprint(),
            prehash,
            key,
            public,
            rng,
        })
    }
}

impl Signer for SoftwareKey {
    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.key {
            PrivateKey::Es256(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Sign),
            PrivateKey::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            // Deterministic k (RFC 6979 with SM3), as `sm2` signs: no RNG to fail.
            PrivateKey::Sm2(k) => k
                .try_sign(message)
                .map(|s: sm2::dsa::Signature| s.to_bytes().to_vec())
                .map_err(|_| CryptoError::Sign),
        }
    }

    fn sign_digest_x509(&self, digest: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        use p256::ecdsa::signature::hazmat::PrehashSigner as _;
        let Some(key) = &self.prehash else {
            return Err(CryptoError::InvalidKey(format!(
                "{:?} keys cannot sign a digest computed elsewhere",
                self.algorithm()
            )));
        };
        let signature: p256::ecdsa::Signature =
            key.sign_prehash(digest).map_err(|_| CryptoError::Sign)?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_every_algorithm() {
        for alg in [Algorithm::Es256, Algorithm::Ed25519, Algorithm::Sm2] {
            let (key, pkcs8) = SoftwareKey::generate(alg).expect("generate");
            let sig = key.sign(b"hello").expect("sign");
            assert!(key.public_key().verify(b"hello", &sig));
            assert!(!key.public_key().verify(b"hellO", &sig));
            let again = SoftwareKey::from_pkcs8(alg, &pkcs8.0).expect("reload");
            assert_eq!(again.key_id(), key.key_id());
            let spki = key.public_key().spki_der();
            assert_eq!(
                &PublicKey::from_spki_der(&spki).expect("spki"),
                key.public_key()
            );
            let der = key.sign_x509(b"hello").expect("sign");
            assert!(key.public_key().verify_x509(b"hello", &der), "{alg:?}");
            assert!(!key.public_key().verify_x509(b"hellO", &der), "{alg:?}");
        }
    }

    #[test]
    fn a_digest_signed_by_p256_verifies_as_a_signature_of_its_message() {
        let key = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let message = b"signed attributes";
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, message)
            .as_ref()
            .try_into()
            .unwrap();
        let der = key.sign_digest_x509(&digest).unwrap();
        assert!(key.public_key().verify_x509(message, &der));
        assert!(!key.public_key().verify_x509(b"other", &der));
        let sm2 = SoftwareKey::ephemeral(Algorithm::Sm2).unwrap();
        assert!(sm2.sign_digest_x509(&digest).is_err());
    }

    #[test]
    fn an_sm2_signature_is_not_a_p256_one() {
        let sm2 = SoftwareKey::ephemeral(Algorithm::Sm2).expect("sm2");
        let signature = sm2.sign(b"hello").expect("sign");
        // The same point bytes read as a P-256 key (they are not on that curve) and the
        // same signature under another key both fail.
        let as_p256 = PublicKey::from_raw(Algorithm::Es256, sm2.public_key().raw());
        assert!(as_p256.is_err() || !as_p256.expect("key").verify(b"hello", &signature));
        let other = SoftwareKey::ephemeral(Algorithm::Sm2).expect("sm2");
        assert!(!other.public_key().verify(b"hello", &signature));
        // Truncated, empty and trailing-byte signatures are refused, not panicked on.
        let der = sm2.sign_x509(b"hello").expect("sign");
        let trailing = [der.as_slice(), &[0]].concat();
        for bad in [&der[..der.len() - 1], &[][..], trailing.as_slice()] {
            assert!(!sm2.public_key().verify_x509(b"hello", bad));
        }
        // A point not on the SM2 curve is refused as a key.
        let mut off_curve = sm2.public_key().raw().to_vec();
        off_curve[64] ^= 1;
        assert!(PublicKey::from_raw(Algorithm::Sm2, &off_curve).is_err());
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1 uses an RSA key; RFC 8037 §A.3 gives an Ed25519 one.
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .expect("b64");
        let key = PublicKey::from_raw(Algorithm::Ed25519, &x).expect("key");
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
