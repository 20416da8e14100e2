//! Keys and the [`Signer`] trait.
//!
//! Callers sign through `Signer` only, so a PKCS#11 HSM backend can replace
//! [`SoftwareKey`] without touching them. Signatures come in JOSE form (ES256: raw r‖s;
//! Ed25519: 64 bytes); [`Signer::sign_x509`] gives the DER form X.509 and CMS need.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::der_util::ecdsa_fixed_to_der;
use crate::error::CryptoError;

/// A signature algorithm we sign and verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256; the default.
    Es256,
    /// Ed25519 (JOSE name `EdDSA`).
    Ed25519,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ed25519 => "EdDSA",
        }
    }

    /// The name stored in the database.
    pub fn db_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// Parses [`Algorithm::db_name`].
    pub fn from_db_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "Ed25519" => Some(Self::Ed25519),
            _ => None,
        }
    }
}

/// A public key: its algorithm and raw bytes (uncompressed EC point, or the 32-byte
/// Ed25519 key).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: Algorithm,
    raw: Vec<u8>,
}

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
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// A public key from raw bytes, checked for length and form.
    pub fn from_raw(algorithm: Algorithm, raw: &[u8]) -> Result<Self, CryptoError> {
        let ok = match algorithm {
            Algorithm::Es256 => raw.len() == 65 && raw[0] == 0x04,
            Algorithm::Ed25519 => raw.len() == 32,
        };
        if !ok {
            return Err(CryptoError::InvalidKey(
                "wrong public key length or form".into(),
            ));
        }
        Ok(Self {
            algorithm,
            raw: raw.to_vec(),
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

    /// Verifies a JOSE-form signature (ES256 r‖s, or Ed25519) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let alg: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::Ed25519 => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(message, signature)
            .is_ok()
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

    /// Signs `message` with the signature in the form X.509 and CMS use (ES256: DER
    /// `Ecdsa-Sig-Value`; Ed25519: unchanged).
    fn sign_x509(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature = self.sign(message)?;
        Ok(match self.algorithm() {
            Algorithm::Es256 => ecdsa_fixed_to_der(&signature),
            Algorithm::Ed25519 => signature,
        })
    }
}

enum RingKey {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key held in process memory (decrypted from the key store), signing with ring.
pub struct SoftwareKey {
    key: RingKey,
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
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| CryptoError::Rng)?;
        let pkcs8 = Pkcs8(document.as_ref().to_vec());
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
            Algorithm::Es256 => RingKey::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(invalid)?,
            ),
            Algorithm::Ed25519 => RingKey::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(invalid)?,
            ),
        };
        let raw = match &key {
            RingKey::Es256(k) => k.public_key().as_ref().to_vec(),
            RingKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
        };
        let public = PublicKey::from_raw(algorithm, &raw)?;
        Ok(Self {
            kid: public.thumbprint(),
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
            RingKey::Es256(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Sign),
            RingKey::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_both_algorithms() {
        for alg in [Algorithm::Es256, Algorithm::Ed25519] {
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
        }
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
