//! Credentials as W3C VC 2.0 secured with JOSE (`application/vc+jwt`): the payload is
//! the credential itself, signed ES256 by the issuing department's seal key, with the
//! certificate chain from the seal's certificate to the platform root in `x5c`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tongban_core::time::Timestamp;
use tongban_crypto::path::{PathError, Usage};
use tongban_crypto::pki::{Pki, X5cError};
use tongban_crypto::{Signer, jose};
use tongban_identity::subjects::DepartmentId;
use tongban_seal::registry::{self, Seal, SealId};
use tongban_store::Conn;

use crate::catalogue;
use crate::error::{EcertError, corrupt};

/// The media type of a VC-JWT, also its `typ` header.
pub const MEDIA_TYPE: &str = "application/vc+jwt";

/// A department signing with one of its seals.
pub struct Issuer {
    /// The department.
    pub department_id: DepartmentId,
    /// Its USCC.
    pub uscc: String,
    /// Its name.
    pub name: String,
    /// The seal.
    pub seal: Seal,
    signer: Arc<dyn Signer>,
    /// The JOSE header of its credentials, `x5c` included (encoded once: a batch signs
    /// thousands).
    header: Map<String, Value>,
}

impl Issuer {
    /// The department of `seal`, with the seal's key and chain.
    pub async fn of_seal(conn: &mut Conn, pki: &Pki, seal: SealId) -> Result<Self, EcertError> {
        let seal = registry::find(conn, seal).await?;
        let (uscc, name) = catalogue::department(conn, seal.department_id).await?;
        let certified = pki
            .certified_in(conn, &seal.key_id, &seal.certificate_serial)
            .await?;
        let signer = certified.signer.clone();
        let chain = certified
            .chain
            .iter()
            .map(Vec::as_slice)
            .chain([pki.root()]);
        let mut header = Map::new();
        header.insert("typ".into(), json!("vc+jwt"));
        header.insert("cty".into(), json!("vc"));
        header.insert(
            "x5c".into(),
            json!(chain.map(|c| B64.encode(c)).collect::<Vec<_>>()),
        );
        Ok(Self {
            department_id: seal.department_id,
            uscc,
            name,
            seal,
            signer,
            header,
        })
    }

    /// The `issuer` member of a credential.
    pub fn json(&self, base: &str) -> Value {
        json!({ "id": issuer_url(base, &self.uscc), "name": self.name })
    }
}

/// The URL naming a department as issuer.
pub fn issuer_url(base: &str, uscc: &str) -> String {
    format!("{base}/api/v1/issuers/{uscc}")
}

/// Signs `credential` as a VC-JWT.
pub fn sign(issuer: &Issuer, credential: &Value) -> Result<String, EcertError> {
    let payload = serde_json::to_vec(credential).map_err(|e| corrupt(&e.to_string()))?;
    Ok(jose::sign_compact(
        issuer.signer.as_ref(),
        &payload,
        &issuer.header,
    )?)
}

/// What checking a VC-JWT found.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The certificate identifier the credential names
    /// (`credentialSubject.certificate.identifier`), when the signature verified.
    pub identifier: Option<String>,
    /// The signature verified with the `x5c` certificate.
    pub signature: bool,
    /// The certificate chains to our root, unrevoked now.
    pub chain: Result<(), String>,
    /// Serial (hex) of the signing certificate.
    pub certificate_serial: Option<String>,
}

/// The one member of a credential a verification needs; the rest is read past, not
/// built (a verifier checks thousands a second).
#[derive(Deserialize)]
struct Named {
    #[serde(rename = "credentialSubject")]
    subject: NamedSubject,
}

#[derive(Deserialize)]
struct NamedSubject {
    certificate: NamedCertificate,
}

#[derive(Deserialize)]
struct NamedCertificate {
    identifier: String,
}

/// The header members a check reads; the rest is read past. The `x5c` chain is
/// kilobytes, borrowed from the decoded header rather than copied.
#[derive(Deserialize)]
struct Header<'h> {
    #[serde(default)]
    typ: Option<String>,
    #[serde(borrow, default)]
    x5c: Vec<Text<'h>>,
}

/// A string as it is in the JSON text, copied only if it holds escapes.
#[derive(Deserialize)]
struct Text<'h>(#[serde(borrow)] std::borrow::Cow<'h, str>);

/// Checks a VC-JWT's signature and its signing certificate's path to our root at
/// `now`. Never fails on bad input: the findings say what is wrong.
pub async fn check(pki: &Pki, jwt: &str, now: Timestamp) -> Result<Checked, EcertError> {
    let mut checked = Checked {
        identifier: None,
        signature: false,
        chain: Err("no signing certificate".into()),
        certificate_serial: None,
    };
    let Ok(jws) = jose::Compact::parse(jwt) else {
        checked.chain = Err("not a JWT".into());
        return Ok(checked);
    };
    let Ok(header) = jws.header::<Header>() else {
        checked.chain = Err("the JWT's header is malformed".into());
        return Ok(checked);
    };
    if header.typ.as_deref() != Some("vc+jwt") {
        checked.chain = Err("the JWT is not typed vc+jwt".into());
        return Ok(checked);
    }
    let leaf = header.x5c.first().map(|x5c| pki.x5c_leaf(&x5c.0));
    let leaf = match leaf {
        None | Some(Err(X5cError::Encoding)) => return Ok(checked),
        Some(Err(why)) => {
            checked.chain = Err(why.to_string());
            return Ok(checked);
        }
        Some(Ok(leaf)) => leaf,
    };
    checked.certificate_serial = Some(leaf.serial.clone());
    if let Ok(payload) = jws.verify(&leaf.key) {
        checked.signature = true;
        checked.identifier = serde_json::from_slice::<Named>(&payload)
            .ok()
            .map(|named| named.subject.certificate.identifier);
    }
    checked.chain = match pki.validate(&leaf.der, Usage::Seal, now).await? {
        Ok(_) => Ok(()),
        Err(PathError::Revoked { at, .. }) => Err(format!(
            "the seal's certificate was revoked at {}",
            at.to_rfc3339()
        )),
        Err(other) => Err(other.to_string()),
    };
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_read_whether_or_not_its_strings_hold_escapes() {
        // Some encoders write `/` as `\/`; base64 has slashes.
        let header: Header =
            serde_json::from_str(r#"{"typ":"vc+jwt","x5c":["MII\/ab","MII/cd"],"alg":"ES256"}"#)
                .unwrap();
        assert_eq!(header.typ.as_deref(), Some("vc+jwt"));
        let x5c: Vec<&str> = header.x5c.iter().map(|t| t.0.as_ref()).collect();
        assert_eq!(x5c, ["MII/ab", "MII/cd"]);
        assert!(matches!(header.x5c[1].0, std::borrow::Cow::Borrowed(_)));
    }
}
