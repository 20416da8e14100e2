//! A compact JWS whose key comes from its own header (an `x5c` chain the caller then
//! validates): read once, its header into the caller's own type, and verified with the
//! key the caller found there.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Deserialize;

use super::{
    JoseError, MALFORMED_MEMBERS, algorithm, check_signature, mismatch, read_header, three_parts,
};
use crate::signer::PublicKey;

/// A compact JWS read but not yet verified, its protected header decoded once: for a
/// verifier that takes the key from the header itself (an `x5c` chain it then
/// validates), where a key set cannot be given beforehand. The header is read into the
/// caller's own type, borrowing its strings: a verifier checks thousands a second, and
/// an `x5c` header is kilobytes.
#[derive(Debug)]
pub struct Compact<'a> {
    /// The protected header's JSON.
    header: Vec<u8>,
    /// `header.payload` as received: the signing input.
    signed: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Compact<'a> {
    /// Reads `header.payload.signature` (an attached payload).
    pub fn parse(jws: &'a str) -> Result<Self, JoseError> {
        let (protected, payload, signature) = three_parts(jws)?;
        if payload.is_empty() {
            return Err(JoseError::Malformed("detached payload not supplied"));
        }
        Ok(Self {
            header: read_header(protected)?,
            signed: &jws[..protected.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }

    /// The protected header's members that `T` names.
    pub fn header<'h, T: Deserialize<'h>>(&'h self) -> Result<T, JoseError> {
        serde_json::from_slice(&self.header).map_err(|_| JoseError::Malformed(MALFORMED_MEMBERS))
    }

    /// The payload, if the header's algorithm fits `key` and the signature verifies
    /// with it.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, JoseError> {
        let algorithm = algorithm(&self.header)?;
        if key.algorithm() != algorithm {
            return Err(mismatch(algorithm, key));
        }
        let payload = B64URL
            .decode(self.payload)
            .map_err(|_| JoseError::Malformed("payload is not base64url"))?;
        check_signature(key, self.signed.as_bytes(), self.signature)?;
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{sign_compact, sign_detached};
    use crate::signer::{Algorithm, Signer, SoftwareKey};
    use serde_json::{Map, Value, json};

    fn key(alg: Algorithm) -> SoftwareKey {
        SoftwareKey::generate(alg).unwrap().0
    }

    #[test]
    fn a_compact_jws_verifies_only_with_its_key_over_the_parts_as_sent() {
        let k = key(Algorithm::Es256);
        let mut extra = Map::new();
        extra.insert("typ".into(), json!("vc+jwt"));
        let jws = sign_compact(&k, b"{\"a\":1}", &extra).unwrap();
        let compact = Compact::parse(&jws).unwrap();
        let header: Map<String, Value> = compact.header().unwrap();
        assert_eq!(header["typ"], "vc+jwt");
        assert_eq!(compact.verify(k.public_key()).unwrap(), b"{\"a\":1}");

        let other = key(Algorithm::Es256);
        assert_eq!(
            compact.verify(other.public_key()),
            Err(JoseError::BadSignature)
        );
        let ed = key(Algorithm::Ed25519);
        assert!(matches!(
            compact.verify(ed.public_key()),
            Err(JoseError::AlgKeyMismatch { .. })
        ));
        // Another payload under the same header and signature.
        let (head, rest) = jws.split_once('.').unwrap();
        let signature = rest.rsplit_once('.').unwrap().1;
        let forged = format!("{head}.{}.{signature}", B64URL.encode(b"{\"a\":2}"));
        assert_eq!(
            Compact::parse(&forged).unwrap().verify(k.public_key()),
            Err(JoseError::BadSignature)
        );
        let unsigned = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none"}"#),
            B64URL.encode(b"{}")
        );
        assert_eq!(
            Compact::parse(&unsigned).unwrap().verify(k.public_key()),
            Err(JoseError::AlgNone)
        );
        // A critical extension, even a null one, no algorithm, broken JSON, a repeated
        // algorithm or one that is not a string: nothing is verified.
        for (header, refused) in [
            (
                r#"{"alg":"ES256","crit":null}"#,
                JoseError::UnknownCritical("(malformed crit)".into()),
            ),
            (
                r#"{"alg":"ES256","crit":["exp"]}"#,
                JoseError::UnknownCritical("exp".into()),
            ),
            (
                r#"{"typ":"vc+jwt"}"#,
                JoseError::Malformed("header lacks alg"),
            ),
            (r#"{"alg":"ES256""#, JoseError::Malformed(MALFORMED_MEMBERS)),
            (
                r#"{"alg":"ES256","alg":"none"}"#,
                JoseError::Malformed(MALFORMED_MEMBERS),
            ),
            (r#"{"alg":5}"#, JoseError::Malformed(MALFORMED_MEMBERS)),
        ] {
            let (_, rest) = jws.split_once('.').unwrap();
            let other = format!("{}.{rest}", B64URL.encode(header));
            let compact = Compact::parse(&other).unwrap();
            assert_eq!(compact.verify(k.public_key()), Err(refused), "{header}");
        }
        // serde would read `["ES256"]` as a struct with `alg` first.
        let (_, rest) = jws.split_once('.').unwrap();
        let array = format!("{}.{rest}", B64URL.encode(r#" ["ES256"]"#));
        assert_eq!(
            Compact::parse(&array).unwrap_err(),
            JoseError::Malformed("header is not a JSON object")
        );
        let detached = sign_detached(&k, b"x", &Map::new()).unwrap();
        for malformed in ["", "a.b", "a.b.c.d", "!.e30.AA", detached.as_str()] {
            assert!(
                matches!(Compact::parse(malformed), Err(JoseError::Malformed(_))),
                "{malformed}"
            );
        }
    }
}
