//! The encrypted key store: private keys are generated here, sealed under the KEK with
//! associated data naming their id and purpose, stored through `tongban-store`, and
//! come back only as [`Signer`]s. With a PKCS#11 token configured, the P-256 keys of
//! the purposes it names are generated in the token instead, and their rows keep only
//! where they are ([`crate::pkcs11`]).

use std::sync::{Arc, OnceLock};

use tongban_core::time::Timestamp;
use tongban_store::Conn as AnyConnection;
use tongban_store::{Store, pki};

use crate::error::CryptoError;
use crate::kek::Kek;
use crate::kept::Kept;
use crate::pkcs11::{Token, TokenKey};
use crate::signer::{Algorithm, Signer, SoftwareKey};

/// Associated data of a key's ciphertext: a row moved to another id or purpose, or a
/// ciphertext swapped between rows, fails to decrypt.
fn aad(key_id: &str, purpose: &str) -> Vec<u8> {
    format!("tongban-key-v1|{key_id}|{purpose}").into_bytes()
}

/// Private keys at rest, encrypted under the KEK.
#[derive(Clone)]
pub struct KeyStore {
    store: Store,
    kek: Arc<Kek>,
    /// Keys already decrypted, by id. A stored key never changes, and whether it may
    /// sign is decided by the row that uses it (a seal's status, a key's schedule), so
    /// the decrypted key is kept instead of read and decrypted for every signature.
    opened: Kept<Arc<dyn Signer>>,
    /// The token new keys of some purposes are made in, and where existing token keys
    /// are found.
    token: Option<InToken>,
    /// The secret derived keys come from ([`KeyStore::open_derivation_root`]).
    root: Arc<OnceLock<Kek>>,
}

/// Name of the derivation root among the secrets sealed under the KEK.
const DERIVATION_ROOT: &str = "derivation-root";

/// Associated data of a secret's ciphertext: a ciphertext moved to another name fails.
fn secret_aad(name: &str) -> Vec<u8> {
    format!("tongban-secret-v1|{name}").into_bytes()
}

/// What re-wrapping under a new KEK did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrapped {
    /// Private keys and secrets now sealed under the new KEK.
    pub rewrapped: usize,
    /// Those that were already (a rotation run again after it was interrupted).
    pub already: usize,
}

/// Re-wraps every private key and secret sealed under `old` under `new`, in one
/// transaction: all or none. What already opens with `new` is left as it is, so a
/// rotation run again (after instances still on the old KEK made a key) finishes the
/// job. Something that opens with neither stops it, and nothing changes.
pub async fn rotate_kek(store: &Store, old: &Kek, new: &Kek) -> Result<Rewrapped, CryptoError> {
    let mut tx = store.begin().await?;
    let mut done = Rewrapped {
        rewrapped: 0,
        already: 0,
    };
    let rewrap = |aad: &[u8], sealed: &[u8], what: &str| -> Result<Option<Vec<u8>>, CryptoError> {
        match old.open(aad, sealed) {
            Some(plain) => Ok(Some(new.seal(aad, &plain)?)),
            None if new.open(aad, sealed).is_some() => Ok(None),
            None => Err(CryptoError::Decrypt {
                key_id: what.to_owned(),
            }),
        }
    };
    for (id, purpose, sealed) in pki::kek_keys(&mut tx).await? {
        match rewrap(&aad(&id, &purpose), &sealed, &id)? {
            Some(again) => {
                pki::set_key_ciphertext(&mut tx, &id, &again).await?;
                done.rewrapped += 1;
            }
            None => done.already += 1,
        }
    }
    for (name, sealed) in pki::secrets(&mut tx).await? {
        match rewrap(&secret_aad(&name), &sealed, &name)? {
            Some(again) => {
                pki::set_secret(&mut tx, &name, &again).await?;
                done.rewrapped += 1;
            }
            None => done.already += 1,
        }
    }
    tx.commit().await.map_err(tongban_store::StoreError::from)?;
    Ok(done)
}

#[derive(Clone)]
struct InToken {
    token: Arc<Token>,
    purposes: Vec<String>,
}

/// The purposes whose keys a token may hold: the P-256 CA, seal and TSA keys.
pub const TOKEN_PURPOSES: [&str; 3] = ["issuing-ca", "seal", "tsa"];

impl KeyStore {
    /// A key store over `store`, sealing under `kek`.
    pub fn new(store: Store, kek: Arc<Kek>) -> Self {
        Self {
            store,
            kek,
            opened: Kept::default(),
            token: None,
            root: Arc::default(),
        }
    }

    /// Opens the root derived keys come from, storing it on first use. The first root
    /// is the KEK's own bytes, so every value derived before roots were kept
    /// (pseudonymous subjects, TOTP wrapping) stays as it was; from then on the root
    /// is a secret sealed under the KEK, and rotating the KEK leaves it unchanged.
    pub async fn open_derivation_root(&self) -> Result<(), CryptoError> {
        if self.root.get().is_some() {
            return Ok(());
        }
        let aad = secret_aad(DERIVATION_ROOT);
        let mut conn = self.store.conn().await?;
        if pki::secret(&mut conn, DERIVATION_ROOT).await?.is_none() {
            let sealed = self.kek.seal(&aad, self.kek.secret())?;
            pki::insert_secret(&mut conn, DERIVATION_ROOT, &sealed, Timestamp::now()).await?;
        }
        let sealed = pki::secret(&mut conn, DERIVATION_ROOT)
            .await?
            .ok_or_else(|| CryptoError::NotFound("the derivation root".into()))?;
        let root = self
            .kek
            .open(&aad, &sealed)
            .and_then(|plain| Kek::from_secret(&plain))
            .ok_or_else(|| CryptoError::Decrypt {
                key_id: DERIVATION_ROOT.into(),
            })?;
        let _ = self.root.set(root);
        Ok(())
    }

    /// The root keys are derived from: the stored one once opened, else the KEK (the
    /// same bytes until the KEK is rotated; the service opens the root at start).
    pub fn derivation_root(&self) -> &Kek {
        self.root.get().unwrap_or(&self.kek)
    }

    /// This store with `token` holding the new P-256 keys of `purposes` (of
    /// [`TOKEN_PURPOSES`]), and the keys already made there.
    pub fn with_token(
        mut self,
        token: Arc<Token>,
        purposes: &[String],
    ) -> Result<Self, CryptoError> {
        if let Some(unknown) = purposes
            .iter()
            .find(|p| !TOKEN_PURPOSES.contains(&p.as_str()))
        {
            return Err(CryptoError::Token(format!(
                "keys.pkcs11.purposes: {unknown} is not one of {}",
                TOKEN_PURPOSES.join(", ")
            )));
        }
        self.token = Some(InToken {
            token,
            purposes: purposes.to_vec(),
        });
        Ok(self)
    }

    /// Generates a key for `purpose`, stores it encrypted, and returns it.
    pub async fn generate(
        &self,
        algorithm: Algorithm,
        purpose: &str,
    ) -> Result<Arc<dyn Signer>, CryptoError> {
        let mut tx = self.store.begin().await?;
        let key = self.generate_in(&mut tx, algorithm, purpose).await?;
        tx.commit().await.map_err(tongban_store::StoreError::from)?;
        Ok(key)
    }

    /// Like [`KeyStore::generate`], inside the caller's transaction, so a key and the
    /// certificate made for it are stored together or not at all.
    pub async fn generate_in(
        &self,
        conn: &mut AnyConnection,
        algorithm: Algorithm,
        purpose: &str,
    ) -> Result<Arc<dyn Signer>, CryptoError> {
        let token = self
            .token
            .as_ref()
            .filter(|t| algorithm == Algorithm::Es256 && t.purposes.iter().any(|p| p == purpose));
        if let Some(InToken { token, .. }) = token {
            let key = token.generate(purpose)?;
            let row = pki::KeyRow {
                id: key.key_id().to_owned(),
                purpose: purpose.to_owned(),
                algorithm: algorithm.db_name().to_owned(),
                public_key: key.public_key().raw().to_vec(),
                encrypted_private: Vec::new(),
                in_token: Some((token.label().to_owned(), key.object_id().to_vec())),
                created_at: Timestamp::now(),
            };
            pki::insert_key(conn, &row).await?;
            return Ok(Arc::new(key));
        }
        let (key, pkcs8) = SoftwareKey::generate(algorithm)?;
        let row = pki::KeyRow {
            id: key.key_id().to_owned(),
            purpose: purpose.to_owned(),
            algorithm: algorithm.db_name().to_owned(),
            public_key: key.public_key().raw().to_vec(),
            encrypted_private: self.kek.seal(&aad(key.key_id(), purpose), &pkcs8.0)?,
            in_token: None,
            created_at: Timestamp::now(),
        };
        pki::insert_key(conn, &row).await?;
        Ok(Arc::new(key))
    }

    /// Loads and decrypts the key with this id.
    pub async fn load(&self, key_id: &str) -> Result<Arc<dyn Signer>, CryptoError> {
        // A key already open needs no connection (a busy pool could keep a signature
        // waiting).
        if let Some(key) = self.opened(key_id) {
            return Ok(key);
        }
        let mut conn = self.store.conn().await?;
        self.load_in(&mut conn, key_id).await
    }

    /// A key for `label`, derived from the derivation root: for keyed hashes every
    /// instance computes alike (pseudonyms), never for encryption.
    pub fn derive(&self, label: &str) -> Kek {
        self.derivation_root().derive(label)
    }

    /// The key `key_id` if it is already open, without the database.
    pub fn opened(&self, key_id: &str) -> Option<Arc<dyn Signer>> {
        self.opened.get(key_id)
    }

    /// Like [`KeyStore::load`], on the caller's connection or transaction.
    pub async fn load_in(
        &self,
        conn: &mut AnyConnection,
        key_id: &str,
    ) -> Result<Arc<dyn Signer>, CryptoError> {
        if let Some(key) = self.opened.get(key_id) {
            return Ok(key);
        }
        let row = pki::key(conn, key_id)
            .await?
            .ok_or_else(|| CryptoError::NotFound(format!("key {key_id}")))?;
        let key: Arc<dyn Signer> = match &row.in_token {
            None => Arc::new(open_row(&self.kek, &row)?),
            Some((label, object_id)) => Arc::new(self.in_token(&row, label, object_id)?),
        };
        self.opened.keep(key_id, key.clone());
        Ok(key)
    }

    /// The token key of `row`, checked to be the key the row names.
    fn in_token(
        &self,
        row: &pki::KeyRow,
        label: &str,
        object_id: &[u8],
    ) -> Result<TokenKey, CryptoError> {
        let token = self
            .token
            .as_ref()
            .filter(|t| t.token.label() == label)
            .ok_or_else(|| {
                CryptoError::Token(format!(
                    "key {} is in the PKCS#11 token {label}, which is not configured (keys.pkcs11)",
                    row.id
                ))
            })?;
        let key = token.token.find(object_id)?;
        if key.key_id() != row.id {
            return Err(CryptoError::InvalidKey(format!(
                "the token object of key {} holds another key",
                row.id
            )));
        }
        Ok(key)
    }
}

/// Decrypts a stored key and checks it is the key its row says.
pub(crate) fn open_row(kek: &Kek, row: &pki::KeyRow) -> Result<SoftwareKey, CryptoError> {
    let algorithm = Algorithm::from_db_name(&row.algorithm)
        .ok_or_else(|| CryptoError::InvalidKey(format!("unknown algorithm {}", row.algorithm)))?;
    let pkcs8 = kek
        .open(&aad(&row.id, &row.purpose), &row.encrypted_private)
        .ok_or_else(|| CryptoError::Decrypt {
            key_id: row.id.clone(),
        })?;
    let key = SoftwareKey::from_pkcs8(algorithm, &pkcs8)?;
    if key.key_id() != row.id || key.public_key().raw() != row.public_key.as_slice() {
        return Err(CryptoError::InvalidKey(format!(
            "key {} does not match its stored public key",
            row.id
        )));
    }
    Ok(key)
}
