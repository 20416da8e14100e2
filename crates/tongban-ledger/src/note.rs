//! C2SP signed notes and checkpoints: the text a log signs, its Ed25519 signature
//! lines, key ids and verifier keys (`name+hash+base64`), and C2SP tlog-cosignature
//! lines from witnesses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::digest::{Context, SHA256};
use ring::signature::{ED25519, UnparsedPublicKey};

use crate::merkle::Hash;

/// Signature type byte of an Ed25519 note key.
const ED25519_TYPE: u8 = 0x01;
/// Signature type byte of a C2SP cosignature/v1 key.
const COSIGNATURE_TYPE: u8 = 0x04;
/// The em dash that starts every signature line.
const DASH: &str = "\u{2014} ";

/// A checkpoint's body: origin, size and root hash (C2SP tlog-checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed text: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            crate::merkle::to_base64(&self.root)
        )
    }

    /// Reads a body (the part of a note before the blank line).
    pub fn parse(body: &str) -> Option<Self> {
        let mut lines = body.strip_suffix('\n')?.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty())?.to_owned();
        let size_text = lines.next()?;
        if size_text.len() > 1 && size_text.starts_with('0') {
            return None;
        }
        let size = size_text.parse().ok()?;
        let root = crate::merkle::from_base64(lines.next()?)?;
        Some(Self { origin, size, root })
    }
}

/// An Ed25519 note key's public half, named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub public: [u8; 32],
    /// 0x01 for a log's note key, 0x04 for a witness's cosignature key.
    kind: u8,
}

impl VerifierKey {
    /// A log's note key.
    pub fn log(name: &str, public: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            public,
            kind: ED25519_TYPE,
        }
    }

    /// A witness's cosignature/v1 key.
    pub fn witness(name: &str, public: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            public,
            kind: COSIGNATURE_TYPE,
        }
    }

    /// Whether this is a witness's cosignature/v1 key (not a log's note key).
    pub fn is_witness(&self) -> bool {
        self.kind == COSIGNATURE_TYPE
    }

    /// The first four bytes of SHA-256(name || "\n" || type || key).
    pub fn id(&self) -> [u8; 4] {
        let mut context = Context::new(&SHA256);
        context.update(self.name.as_bytes());
        context.update(b"\n");
        context.update(&[self.kind]);
        context.update(&self.public);
        let digest = context.finish();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest.as_ref()[..4]);
        id
    }

    /// `name+hash+base64(type || key)`.
    pub fn encode(&self) -> String {
        let mut key = vec![self.kind];
        key.extend_from_slice(&self.public);
        let id = self.id();
        format!(
            "{}+{:02x}{:02x}{:02x}{:02x}+{}",
            self.name,
            id[0],
            id[1],
            id[2],
            id[3],
            B64.encode(key)
        )
    }

    /// Reads `name+hash+base64`, checking the hash.
    pub fn parse(text: &str) -> Option<Self> {
        // Names hold no '+'; base64 may.
        let (name, rest) = text.trim().split_once('+')?;
        let (hash, key) = rest.split_once('+')?;
        let key = B64.decode(key).ok()?;
        if name.is_empty() {
            return None;
        }
        let (&kind, public) = key.split_first()?;
        if kind != ED25519_TYPE && kind != COSIGNATURE_TYPE {
            return None;
        }
        let key = Self {
            name: name.to_owned(),
            public: public.try_into().ok()?,
            kind,
        };
        let id = key.id();
        let expected: String = id.iter().map(|b| format!("{b:02x}")).collect();
        (hash == expected).then_some(key)
    }

    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.public)
            .verify(message, signature)
            .is_ok()
    }
}

/// One signature line of a note, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// `— name base64(id || signature)` with its newline.
    pub fn encode(&self) -> String {
        let mut blob = self.key_id.to_vec();
        blob.extend_from_slice(&self.signature);
        format!("{DASH}{} {}\n", self.name, B64.encode(blob))
    }
}

/// A signed note split into its body and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub body: String,
    pub signatures: Vec<SignatureLine>,
}

impl Note {
    /// Reads a note: a body ending in a newline, a blank line, signature lines (the
    /// last blank line ends the body).
    pub fn parse(text: &str) -> Option<Self> {
        let split = text.rfind("\n\n")?;
        let (body, rest) = (&text[..=split], &text[split + 2..]);
        let mut signatures = Vec::new();
        for line in rest.strip_suffix('\n')?.split('\n') {
            let line = line.strip_prefix(DASH)?;
            let (name, blob) = line.split_once(' ')?;
            let blob = B64.decode(blob).ok()?;
            if blob.len() < 5 {
                return None;
            }
            signatures.push(SignatureLine {
                name: name.to_owned(),
                key_id: blob[..4].try_into().ok()?,
                signature: blob[4..].to_vec(),
            });
        }
        (!signatures.is_empty()).then(|| Self {
            body: body.to_owned(),
            signatures,
        })
    }

    /// The note's text.
    pub fn encode(&self) -> String {
        let mut text = format!("{}\n", self.body);
        for line in &self.signatures {
            text.push_str(&line.encode());
        }
        text
    }

    /// Whether the note carries exactly one signature line of the log key `key`, and
    /// it is valid.
    pub fn signed_by(&self, key: &VerifierKey) -> bool {
        let id = key.id();
        let mut lines = self
            .signatures
            .iter()
            .filter(|line| line.name == key.name && line.key_id == id);
        match (lines.next(), lines.next()) {
            (Some(line), None) => {
                line.signature.len() == 64 && key.verifies(self.body.as_bytes(), &line.signature)
            }
            _ => false,
        }
    }

    /// The time a witness with `key` cosigned the note at, if it did (C2SP
    /// tlog-cosignature: the signed message is `cosignature/v1\ntime T\n` + body).
    pub fn cosigned_by(&self, key: &VerifierKey) -> Option<u64> {
        let id = key.id();
        self.signatures.iter().find_map(|line| {
            if line.name != key.name || line.key_id != id || line.signature.len() != 72 {
                return None;
            }
            let time = u64::from_be_bytes(line.signature[..8].try_into().ok()?);
            let message = cosignature_message(&self.body, time);
            key.verifies(message.as_bytes(), &line.signature[8..])
                .then_some(time)
        })
    }
}

/// What a witness signs for a checkpoint body at `time` (seconds since the epoch).
pub fn cosignature_message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ring::signature::{Ed25519KeyPair, KeyPair};

    use super::*;

    #[test]
    fn a_signed_checkpoint_reads_back_and_verifies_only_with_its_key() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public: [u8; 32] = pair.public_key().as_ref().try_into().unwrap();
        let key = VerifierKey::log("example.org/log", public);
        let checkpoint = Checkpoint {
            origin: "example.org/log".into(),
            size: 12,
            root: [7; 32],
        };
        let body = checkpoint.body();
        let note = Note {
            body: body.clone(),
            signatures: vec![SignatureLine {
                name: key.name.clone(),
                key_id: key.id(),
                signature: pair.sign(body.as_bytes()).as_ref().to_vec(),
            }],
        };
        let text = note.encode();
        assert!(text.starts_with("example.org/log\n12\nBwcH"));
        assert!(text.contains("\n\n\u{2014} example.org/log "));
        let read = Note::parse(&text).unwrap();
        assert!(read.signed_by(&key));
        assert_eq!(Checkpoint::parse(&read.body).unwrap(), checkpoint);
        assert_eq!(VerifierKey::parse(&key.encode()).unwrap(), key);
        // Base64 holds '+' too: the name ends at the first one.
        let plus = VerifierKey::log("example.org/log", [0xfb; 32]);
        assert!(plus.encode().matches('+').count() > 2);
        assert_eq!(VerifierKey::parse(&plus.encode()), Some(plus));
        let other = VerifierKey::log("example.org/log", [9; 32]);
        assert!(!read.signed_by(&other));
        let tampered = text.replace("\n12\n", "\n13\n");
        assert!(!Note::parse(&tampered).unwrap().signed_by(&key));
        assert!(Checkpoint::parse("o\n012\nBwcH\n").is_none());
    }
}
