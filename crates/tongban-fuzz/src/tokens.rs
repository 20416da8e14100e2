//! JOSE from outside: JWS in both serializations, JWKs, and DPoP proofs (JWTs whose
//! claims the fuzzer writes and this target signs, so that the checks after the
//! signature are reached).

use std::sync::LazyLock;

use serde_json::{Map, Value};
use tongban_core::time::Timestamp;
use tongban_crypto::jose::{self, Jwk, Jwks};
use tongban_crypto::kek::Kek;
use tongban_crypto::{Algorithm, PublicKey, Signer, SoftwareKey};
use tongban_identity::dpop::{self, DpopNonces, ProofTarget};

use crate::parts;

/// By the first byte: a compact JWS (also read as a VC-JWT's check reads it) or a JSON
/// one verified under a fixed key, a JWK read as a key, a DPoP proof as given, or DPoP
/// claims (then header members) signed here.
pub fn jose(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match kind % 5 {
        0 => {
            let _ = jose::verify_compact(&text, None, &KEYS);
            let _ = jose::verify_compact(&text, Some(b"payload"), &KEYS);
            // As a VC-JWT's check reads it: the header into a type, the key given.
            if let Ok(jws) = jose::Compact::parse(&text) {
                let _ = jws.header::<Map<String, Value>>();
                if let Some(key) = KEYS.keys.first().and_then(|k| k.public_key().ok()) {
                    let _ = jws.verify(&key);
                }
            }
        }
        1 => {
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                let _ = jose::verify_json(&value, None, &KEYS);
            }
        }
        2 => {
            if let Ok(jwk) = serde_json::from_slice::<Jwk>(rest)
                && let Ok(key) = jwk.public_key()
            {
                let _ = key.thumbprint();
            }
        }
        3 => read_proof(&text),
        _ => signed_proof(rest),
    }
}

fn read_proof(proof: &str) {
    let Some((nonces, _)) = DPOP.as_ref() else {
        return;
    };
    for access_token in [None, Some("access-token")] {
        let target = ProofTarget {
            method: "POST",
            url: "https://id.example.gov.cn/token",
            access_token,
        };
        let _ = dpop::read(nonces, proof, target, now());
    }
}

/// Claims (JSON) and extra header members (a JSON object), separated as [`parts`]
/// does; `"$nonce"` in the claims becomes a nonce the service issued.
fn signed_proof(data: &[u8]) {
    let Some((nonces, key)) = DPOP.as_ref() else {
        return;
    };
    let pieces = parts(data, 2);
    let claims = String::from_utf8_lossy(pieces[0]).replace("$nonce", &nonces.issue(now()));
    let mut header: Map<String, Value> = pieces
        .get(1)
        .and_then(|h| serde_json::from_slice(h).ok())
        .unwrap_or_default();
    header
        .entry("typ")
        .or_insert_with(|| Value::from("dpop+jwt"));
    header.entry("jwk").or_insert_with(|| {
        serde_json::to_value(Jwk::from_public_key(key.public_key(), None)).unwrap_or_default()
    });
    if let Ok(proof) = jose::sign_compact(key, claims.as_bytes(), &header) {
        read_proof(&proof);
    }
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000)
}

/// A fixed P-256 key's JWKS: the development root's key, so that a seed's signature
/// is judged the same way in every run.
static KEYS: LazyLock<Jwks> = LazyLock::new(|| {
    let pem = include_str!("../../../keys-dev/root-ca.pem");
    let key = tongban_crypto::pki::pem_to_der(pem)
        .ok()
        .and_then(|der| tongban_crypto::pki::spki_of(&der).ok())
        .and_then(|spki| PublicKey::from_spki_der(&spki).ok());
    Jwks {
        keys: key
            .map(|k| Jwk::from_public_key(&k, None))
            .into_iter()
            .collect(),
    }
});

/// Nonces under a fixed key, and the key that signs the proofs this target makes.
static DPOP: LazyLock<Option<(DpopNonces, SoftwareKey)>> = LazyLock::new(|| {
    let kek = Kek::from_base64("dG9uZ2JhbiBmdXp6IHRhcmdldHMgZml4ZWQga2V5ISE=").ok()?;
    let key = SoftwareKey::ephemeral(Algorithm::Es256).ok()?;
    Some((DpopNonces::derive(&kek), key))
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The signed-proof path reaches the claim checks: a well-formed proof passes.
    #[test]
    fn a_proof_built_from_fuzz_claims_can_pass() {
        let (nonces, key) = DPOP.as_ref().expect("dpop");
        let claims = json!({
            "htm": "POST", "htu": "https://id.example.gov.cn/token",
            "iat": now().unix_millis() / 1000, "jti": "j1", "nonce": "$nonce",
        })
        .to_string()
        .replace("$nonce", &nonces.issue(now()));
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert(
            "jwk".into(),
            serde_json::to_value(Jwk::from_public_key(key.public_key(), None)).expect("jwk"),
        );
        let proof = jose::sign_compact(key, claims.as_bytes(), &header).expect("sign");
        let target = ProofTarget {
            method: "POST",
            url: "https://id.example.gov.cn/token",
            access_token: None,
        };
        assert!(dpop::read(nonces, &proof, target, now()).is_ok());
        assert!(KEYS.keys.len() == 1, "the fixed key loads");
    }
}
