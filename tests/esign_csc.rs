//! The CSC API v2 through the real router: a person's signing certificate as a
//! credential, `credentials/authorize` with their password (PIN) and authenticator code
//! (OTP) bound to the hashes, `signatures/signHash`; and the refusals: a replayed SAD,
//! hashes the SAD was not given for, a wrong code, a token without `service`, another
//! person's credential, a revoked certificate.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use support::PASSWORD;
use support::esign_world::{
    self as world, LI, WANG, World, ZHAO, call, certificate_id, enrol, session,
};
use x509_parser::prelude::{FromDer, X509Certificate};

fn digest_of(message: &[u8]) -> String {
    B64.encode(tongban_crypto::cms::sha256(message))
}

async fn authorize(
    w: &World,
    token: &str,
    credential: &str,
    hashes: &[String],
    otp: &str,
) -> reqwest::Response {
    let body = json!({
        "credentialID": credential, "numSignatures": hashes.len(), "hashes": hashes,
        "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
        "authData": [{ "id": "PIN", "value": PASSWORD }, { "id": "OTP", "value": otp }],
    });
    call(w, token, "/csc/v2/credentials/authorize", body).await
}

async fn sign_hash(
    w: &World,
    token: &str,
    credential: &str,
    sad: &str,
    hashes: &[String],
) -> reqwest::Response {
    // pyHanko's CSC 1.0 names.
    let body = json!({
        "credentialID": credential, "SAD": sad, "hash": hashes,
        "hashAlgo": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2",
    });
    call(w, token, "/csc/v2/signatures/signHash", body).await
}

async fn enrolled_credential(w: &World, resident_id: &str) -> String {
    let cookie = session(w, resident_id).await;
    assert_eq!(enrol(w, &cookie).await.status(), 200);
    certificate_id(w, resident_id).await
}

async fn csc_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["error_description"].is_string(),
        "{body}"
    );
    body
}

#[tokio::test]
async fn a_signing_application_signs_hashes_the_person_authorised_once() {
    let w = world::world().await;
    let credential = enrolled_credential(&w, LI).await;
    let token = world::app_token(&w, LI).await;
    let info: Value = call(&w, "", "/csc/v2/info", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["specs"], "2.0.0.2");
    let list: Value = call(&w, &token, "/csc/v2/credentials/list", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["credentialIDs"], json!([credential]));
    let body = json!({ "credentialID": credential, "certificates": "chain", "certInfo": false });
    let info: Value = call(&w, &token, "/csc/v2/credentials/info", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["key"]["algo"], json!(["1.2.840.10045.4.3.2"]));
    assert_eq!(info["SCAL"], "2");
    let chain = info["cert"]["certificates"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "the certificate and the issuing CA");
    let der = B64.decode(chain[0].as_str().unwrap()).unwrap();
    let (_, certificate) = X509Certificate::from_der(&der).unwrap();
    let spki = certificate.public_key().subject_public_key.data.to_vec();

    let messages: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("signed attributes {i}").into_bytes())
        .collect();
    let hashes: Vec<String> = messages.iter().map(|m| digest_of(m)).collect();
    let authorized = authorize(&w, &token, &credential, &hashes, &w.code(LI)).await;
    assert_eq!(authorized.status(), 200);
    let sad = authorized.json::<Value>().await.unwrap()["SAD"]
        .as_str()
        .unwrap()
        .to_owned();
    // Hashes the SAD was not given for are refused, and leave it usable.
    let other = vec![digest_of(b"something else")];
    csc_error(sign_hash(&w, &token, &credential, &sad, &other).await, 400).await;
    // Part of them only: the SAD signs exactly its hashes, at once.
    csc_error(
        sign_hash(&w, &token, &credential, &sad, &hashes[..1]).await,
        400,
    )
    .await;
    let twice = vec![hashes[0].clone(), hashes[0].clone()];
    csc_error(sign_hash(&w, &token, &credential, &sad, &twice).await, 400).await;
    let signed = sign_hash(&w, &token, &credential, &sad, &hashes).await;
    assert_eq!(signed.status(), 200);
    let signatures: Value = signed.json().await.unwrap();
    let signatures = signatures["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 3);
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &spki);
    for (message, signature) in messages.iter().zip(signatures) {
        let der = B64.decode(signature.as_str().unwrap()).unwrap();
        key.verify(message, &der)
            .expect("a DER ECDSA signature of the hash");
    }
    // A replayed SAD signs nothing.
    csc_error(sign_hash(&w, &token, &credential, &sad, &hashes).await, 400).await;
    let mut conn = w.server.store().conn().await.unwrap();
    let count: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) FROM personal_signatures WHERE format = 'hash'")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(count, 3, "one record per signature");
}

#[tokio::test]
async fn wrong_secrets_other_people_and_revoked_certificates_get_no_sad() {
    let w = world::world().await;
    let credential = enrolled_credential(&w, LI).await;
    let zhao_credential = enrolled_credential(&w, ZHAO).await;
    let token = world::app_token(&w, LI).await;
    let hashes = vec![digest_of(b"a")];
    // A wrong code.
    csc_error(
        authorize(&w, &token, &credential, &hashes, "000000").await,
        400,
    )
    .await;
    // Another person's credential.
    let otp = w.code(LI);
    csc_error(
        authorize(&w, &token, &zhao_credential, &hashes, &otp).await,
        400,
    )
    .await;
    // Malformed hashes and counts.
    let body = json!({ "credentialID": credential, "numSignatures": 2, "hashes": hashes,
        "authData": [{ "id": "PIN", "value": PASSWORD }, { "id": "OTP", "value": otp }] });
    csc_error(
        call(&w, &token, "/csc/v2/credentials/authorize", body).await,
        400,
    )
    .await;
    let twice = vec![hashes[0].clone(), hashes[0].clone()];
    csc_error(authorize(&w, &token, &credential, &twice, &otp).await, 400).await;
    let short = vec![B64.encode([1u8; 20])];
    csc_error(authorize(&w, &token, &credential, &short, &otp).await, 400).await;
    // A level-2 person holds no credential.
    let wang = world::app_token(&w, WANG).await;
    let list: Value = call(&w, &wang, "/csc/v2/credentials/list", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["credentialIDs"], json!([]));
    // A client's own token is not a person's.
    let refused = call(&w, &w.a.system, "/csc/v2/credentials/list", json!({})).await;
    csc_error(refused, 403).await;
    // A revoked certificate authorises nothing.
    let li = session(&w, LI).await;
    let csrf = world::csrf(&w, &li).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", credential.as_str()),
        ("why", "not-needed"),
    ];
    assert_eq!(
        world::form(&w, &li, "/account/signing-certificate/revoke", &fields)
            .await
            .status(),
        200
    );
    let otp = w.code(LI);
    csc_error(authorize(&w, &token, &credential, &hashes, &otp).await, 400).await;
}
