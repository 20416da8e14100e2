//! P-256 keys in a PKCS#11 token (an HSM; SoftHSM2 in the tests). A key is generated
//! in the token as sensitive and not extractable, so it never leaves it; the service
//! keeps only its public key and the token object's `CKA_ID`. Signing hashes the
//! message here (SHA-256) and asks the token for raw `CKM_ECDSA` over the digest,
//! which every token offers (SoftHSM 2.6 has no `CKM_ECDSA_SHA256`); the token answers
//! r‖s, the JOSE form [`Signer::sign`] returns.
//!
//! SM2 and Ed25519 keys are not made in a token: SoftHSM and most HSMs sold abroad have
//! no SM2, so SM2 seals stay under the KEK.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::der_util::ecdsa_fixed_to_der;
use crate::error::CryptoError;
use crate::signer::{Algorithm, PublicKey, Signer};

/// DER of the named curve prime256v1 (1.2.840.10045.3.1.7), as `CKA_EC_PARAMS`.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Sessions kept open for signing at most; more signers at once open more and close
/// them after.
const SESSIONS_KEPT: usize = 8;

fn failed(what: &str, error: impl std::fmt::Display) -> CryptoError {
    CryptoError::Token(format!("{what}: {error}"))
}

/// The library at `module`, loaded and initialised once per process and never
/// unloaded: a token library unloaded before the process exits leaves its exit handlers
/// pointing at nothing (SoftHSM then crashes the process at exit).
fn context(module: &Path) -> Result<Pkcs11, CryptoError> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Mutex::default)
        .lock()
        .map_err(|_| CryptoError::Token("library registry poisoned".into()))?;
    if let Some(context) = loaded.get(module) {
        return Ok(context.clone());
    }
    let context =
        Pkcs11::new(module).map_err(|e| failed(&format!("cannot load {}", module.display()), e))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(error) => return Err(failed("C_Initialize", error)),
    }
    loaded.insert(module.to_owned(), context.clone());
    Ok(context)
}

/// A logged-in PKCS#11 token.
pub struct Token {
    context: Pkcs11,
    slot: Slot,
    label: String,
    /// Idle sessions. One stays open for the token's life: closing an application's
    /// last session logs it out.
    sessions: Mutex<Vec<Session>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("label", &self.label).finish()
    }
}

impl Token {
    /// Loads `module`, finds the initialised token labelled `label` and logs in as the
    /// user with `pin`.
    pub fn open(module: &Path, label: &str, pin: &str) -> Result<Self, CryptoError> {
        let context = context(module)?;
        // Slots with a token, their labels read one by one: a slot whose token went
        // away meanwhile (deleted by another process) is passed over, not an error.
        let slots = context
            .get_slots_with_token()
            .map_err(|e| failed("C_GetSlotList", e))?;
        let slot = slots
            .into_iter()
            .find(|slot| {
                context
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim_end() == label)
            })
            .ok_or_else(|| CryptoError::Token(format!("no initialised token labelled {label}")))?;
        let session = context
            .open_rw_session(slot)
            .map_err(|e| failed("C_OpenSession", e))?;
        // Logging in is the process's, for every session of the token.
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(error) => return Err(failed("C_Login", error)),
        }
        Ok(Self {
            context,
            slot,
            label: label.to_owned(),
            sessions: Mutex::new(vec![session]),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `work` on an idle session (or a new one), and keeps the session for the next.
    fn with_session<T>(
        &self,
        work: impl FnOnce(&Session) -> Result<T, CryptoError>,
    ) -> Result<T, CryptoError> {
        let idle = self
            .sessions
            .lock()
            .map_err(|_| CryptoError::Token("session pool poisoned".into()))?
            .pop();
        let session = match idle {
            Some(session) => session,
            None => self
                .context
                .open_rw_session(self.slot)
                .map_err(|e| failed("C_OpenSession", e))?,
        };
        let result = work(&session);
        if let Ok(mut sessions) = self.sessions.lock()
            && sessions.len() < SESSIONS_KEPT
        {
            sessions.push(session);
        }
        result
    }

    /// Generates a P-256 key pair in the token, labelled `label`, whose private half
    /// is sensitive and not extractable.
    pub fn generate(self: &Arc<Self>, label: &str) -> Result<TokenKey, CryptoError> {
        let mut object_id = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut object_id)
            .map_err(|_| CryptoError::Rng)?;
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(object_id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(object_id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let (public_handle, private_handle) = self.with_session(|session| {
            session
                .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
                .map_err(|e| failed("C_GenerateKeyPair", e))
        })?;
        let point = self.with_session(|session| ec_point(session, public_handle))?;
        TokenKey::new(self.clone(), &object_id, private_handle, &point)
    }

    /// The key pair whose objects carry `CKA_ID` `object_id`.
    pub fn find(self: &Arc<Self>, object_id: &[u8]) -> Result<TokenKey, CryptoError> {
        let (private, point) = self.with_session(|session| {
            let find = |class: ObjectClass| {
                session
                    .find_objects(&[
                        Attribute::Class(class),
                        Attribute::KeyType(KeyType::EC),
                        Attribute::Id(object_id.to_vec()),
                    ])
                    .map_err(|e| failed("C_FindObjects", e))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        CryptoError::NotFound(format!(
                            "key object {} in token {}",
                            crate::ca::hex(object_id),
                            self.label
                        ))
                    })
            };
            let private = find(ObjectClass::PRIVATE_KEY)?;
            let public = find(ObjectClass::PUBLIC_KEY)?;
            Ok((private, ec_point(session, public)?))
        })?;
        TokenKey::new(self.clone(), object_id, private, &point)
    }

    /// Whether the private key object `object_id` is sensitive and was never
    /// extractable, as the token says.
    pub fn never_leaves(&self, key: &TokenKey) -> Result<bool, CryptoError> {
        self.with_session(|session| {
            let attributes = session
                .get_attributes(
                    key.private,
                    &[
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::NeverExtractable,
                    ],
                )
                .map_err(|e| failed("C_GetAttributeValue", e))?;
            let flag = |wanted: AttributeType| {
                attributes.iter().find_map(|a| match (a, wanted) {
                    (Attribute::Sensitive(v), AttributeType::Sensitive)
                    | (Attribute::Extractable(v), AttributeType::Extractable)
                    | (Attribute::NeverExtractable(v), AttributeType::NeverExtractable) => Some(*v),
                    _ => None,
                })
            };
            Ok(flag(AttributeType::Sensitive) == Some(true)
                && flag(AttributeType::Extractable) == Some(false)
                && flag(AttributeType::NeverExtractable) == Some(true))
        })
    }
}

/// The uncompressed point of EC public key `handle`: `CKA_EC_POINT` is a DER OCTET
/// STRING around it (some tokens give the bare point).
fn ec_point(session: &Session, handle: ObjectHandle) -> Result<Vec<u8>, CryptoError> {
    let attributes = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(|e| failed("C_GetAttributeValue", e))?;
    let point = attributes
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(point) => Some(point),
            _ => None,
        })
        .ok_or_else(|| CryptoError::Token("the public key has no CKA_EC_POINT".into()))?;
    match point.as_slice() {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => Ok(rest.to_vec()),
        [0x04, ..] if point.len() == 65 => Ok(point),
        _ => Err(CryptoError::Token(
            "CKA_EC_POINT is not an uncompressed P-256 point".into(),
        )),
    }
}

/// A P-256 private key in a token.
pub struct TokenKey {
    token: Arc<Token>,
    object_id: Vec<u8>,
    private: ObjectHandle,
    public: PublicKey,
    kid: String,
}

impl TokenKey {
    fn new(
        token: Arc<Token>,
        object_id: &[u8],
        private: ObjectHandle,
        point: &[u8],
    ) -> Result<Self, CryptoError> {
        let public = PublicKey::from_raw(Algorithm::Es256, point)?;
        Ok(Self {
            token,
            object_id: object_id.to_vec(),
            private,
            kid: public.thumbprint(),
            public,
        })
    }

    /// The token objects' `CKA_ID`.
    pub fn object_id(&self) -> &[u8] {
        &self.object_id
    }

    /// The token it is in.
    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature = self.token.with_session(|session| {
            session
                .sign(&Mechanism::Ecdsa, self.private, digest)
                .map_err(|e| failed("C_Sign", e))
        })?;
        if signature.len() != 64 {
            return Err(CryptoError::Token(format!(
                "the token answered a {}-byte signature, not r‖s",
                signature.len()
            )));
        }
        Ok(signature)
    }
}

impl Signer for TokenKey {
    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        self.sign_digest(digest.as_ref())
    }

    fn sign_digest_x509(&self, digest: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        Ok(ecdsa_fixed_to_der(&self.sign_digest(digest)?))
    }
}
