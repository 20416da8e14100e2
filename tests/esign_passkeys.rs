//! Sole control with a passkey: the WebAuthn challenge of a signing approval is the
//! SHA-256 of a commitment to the signer, the request, each document's SHA-256, the time
//! and a nonce; the soft authenticator's assertion over it signs exactly those
//! documents. Refused: an assertion replayed on another approval, an assertion over
//! another challenge, an approval moved to another request with the same documents.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::esign_world::{self as world, LI, ORIGIN, World, enrol, form, page, request, session};
use support::{csrf_of, sample_pdf};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

/// Adds a passkey held by `phone` to the person of `cookie` (a strong session).
async fn add_passkey(w: &World, cookie: &str, phone: &mut SoftPasskey) {
    let csrf = world::csrf(w, cookie).await;
    let options = form(w, cookie, "/account/passkeys/options", &[("csrf_token", &csrf)]).await;
    assert_eq!(options.status(), 200);
    let mut options: Value = options.json().await.unwrap();
    let ceremony = options["ceremony"].as_str().unwrap().to_owned();
    // The soft authenticator will not be asked for a resident key.
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = phone.do_registration(ORIGIN.parse().unwrap(), ccr).unwrap();
    let credential = serde_json::to_string(&credential).unwrap();
    let fields = [("csrf_token", csrf.as_str()), ("ceremony", &ceremony), ("name", "手机"), ("credential", &credential)];
    assert_eq!(form(w, cookie, "/account/passkeys", &fields).await.status(), 200);
}

/// A request to 李四 of department A with `pdf`; its id.
async fn request_of(w: &World, pdf: &[u8]) -> String {
    let created = request(w, &w.a.system, json!({ "id_number": LI }), &[pdf.to_vec()]).await;
    assert_eq!(created.status(), 201);
    created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The options of a passkey approval of request `id`: (ceremony, options, CSRF token).
async fn options(w: &World, cookie: &str, id: &str) -> (String, Value, String) {
    let html = page(w, cookie, &format!("/sign/{id}")).await.text().await.unwrap();
    assert!(html.contains("id=\"passkey-approve\""), "the page offers the passkey");
    let csrf = csrf_of(&html);
    let answer = form(w, cookie, &format!("/sign/{id}/passkey/options"), &[("csrf_token", &csrf)]).await;
    assert_eq!(answer.status(), 200);
    let options: Value = answer.json().await.unwrap();
    (options["ceremony"].as_str().unwrap().to_owned(), options, csrf)
}

fn assert_over(phone: &mut SoftPasskey, options: Value) -> String {
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = phone.do_authentication(ORIGIN.parse().unwrap(), rcr).unwrap();
    serde_json::to_string(&answer).unwrap()
}

async fn post_approval(w: &World, cookie: &str, id: &str, csrf: &str, ceremony: &str, credential: &str) -> reqwest::Response {
    let fields = [("csrf_token", csrf), ("ceremony", ceremony), ("credential", credential)];
    form(w, cookie, &format!("/sign/{id}/passkey"), &fields).await
}

async fn status(w: &World, id: &str) -> String {
    let state: Value = world::get(w, &w.a.system, &format!("/api/v1/signing-requests/{id}")).await.json().await.unwrap();
    state["status"].as_str().unwrap().to_owned()
}

async fn setup() -> (World, String, SoftPasskey) {
    let w = world::world().await;
    let cookie = session(&w, LI).await;
    let mut phone = SoftPasskey::new(true);
    add_passkey(&w, &cookie, &mut phone).await;
    assert_eq!(enrol(&w, &cookie).await.status(), 200);
    (w, cookie, phone)
}

#[tokio::test]
async fn the_challenge_commits_to_the_documents_and_the_assertion_signs_exactly_them() {
    let (w, cookie, mut phone) = setup().await;
    let pdf = sample_pdf(1, 3_000);
    let id = request_of(&w, &pdf).await;
    let (ceremony, options, csrf) = options(&w, &cookie, &id).await;
    // The challenge is the SHA-256 of the stored commitment, which names the signer,
    // the request and the document's SHA-256.
    let mut conn = w.server.store().conn().await.unwrap();
    let commitment: String = sqlx::query("SELECT commitment FROM signing_approvals WHERE id = $1")
        .bind(&ceremony)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    drop(conn);
    let parsed: Value = serde_json::from_str(&commitment).unwrap();
    let digest = tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&pdf));
    assert_eq!(parsed["request"], json!(id));
    assert_eq!(parsed["documents"], json!([digest]));
    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        tongban_crypto::cms::sha256(commitment.as_bytes()),
    );
    assert_eq!(options["publicKey"]["challenge"], json!(challenge));
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1, "only the person's own passkeys");

    let credential = assert_over(&mut phone, options);
    let signed = post_approval(&w, &cookie, &id, &csrf, &ceremony, &credential).await;
    assert_eq!(signed.status(), 200);
    assert_eq!(status(&w, &id).await, "signed");
    let pdf = world::get(&w, &w.a.system, &format!("/api/v1/signing-requests/{id}/documents/1")).await.bytes().await.unwrap().to_vec();
    let report = support::seal_world::verify_pdf_at(&w.server, pdf).await;
    let signatory = &report["signatures"][0]["signatory"];
    assert!(signatory["approved_with"] == "swk" || signatory["approved_with"] == "hwk", "{report}");
    // The assertion is kept as evidence: the commitment and the passkey's key prove
    // what the person approved.
    let mut conn = w.server.store().conn().await.unwrap();
    let evidence: Option<String> = sqlx::query("SELECT evidence FROM signing_approvals WHERE id = $1")
        .bind(&ceremony)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(evidence.as_deref(), Some(credential.as_str()));
}

#[tokio::test]
async fn a_replayed_or_foreign_assertion_signs_nothing() {
    let (w, cookie, mut phone) = setup().await;
    let pdf = sample_pdf(1, 3_000);
    let first = request_of(&w, &pdf).await;
    let (ceremony, opts, csrf) = options(&w, &cookie, &first).await;
    let credential = assert_over(&mut phone, opts);
    // Replayed on a new approval of another request (same documents): refused, the
    // request stays open.
    let second = request_of(&w, &pdf).await;
    let (other_ceremony, _, other_csrf) = options(&w, &cookie, &second).await;
    let replayed = post_approval(&w, &cookie, &second, &other_csrf, &other_ceremony, &credential).await;
    assert_eq!(replayed.status(), 403);
    assert_eq!(status(&w, &second).await, "pending");
    // An assertion over another challenge than the approval's: refused.
    let (third_ceremony, mut third, third_csrf) = options(&w, &cookie, &second).await;
    third["publicKey"]["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let forged = assert_over(&mut phone, third);
    let refused = post_approval(&w, &cookie, &second, &third_csrf, &third_ceremony, &forged).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(status(&w, &second).await, "pending");
    // The first approval, moved to the second request (same documents): refused.
    let moved = post_approval(&w, &cookie, &second, &csrf, &ceremony, &credential).await;
    assert_eq!(moved.status(), 403);
    assert_eq!(status(&w, &second).await, "pending");
    assert_eq!(status(&w, &first).await, "pending");
    // Used where it belongs it signs, once.
    let (ceremony, opts, csrf) = options(&w, &cookie, &first).await;
    let credential = assert_over(&mut phone, opts);
    assert_eq!(post_approval(&w, &cookie, &first, &csrf, &ceremony, &credential).await.status(), 200);
    assert_eq!(status(&w, &first).await, "signed");
    let again = post_approval(&w, &cookie, &first, &csrf, &ceremony, &credential).await;
    assert_ne!(again.status(), 200);
    let mut conn = w.server.store().conn().await.unwrap();
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM personal_signatures").fetch_one(&mut *conn).await.unwrap().get(0);
    assert_eq!(count, 1);
}
