//! Sole control with a passkey: the WebAuthn challenge of a signing approval is the
//! SHA-256 of a commitment to the signer, the request, each document's SHA-256, the time
//! and a nonce; the soft authenticator's assertion over it signs exactly those
//! documents. Refused: an assertion replayed on another approval, an assertion over
//! another challenge, an approval moved to another request with the same documents.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::esign_world::{
    self as world, LI, World, add_passkey, assert_over, enrol, options, post_approval, request_of,
    session,
};
use support::sample_pdf;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

async fn status(w: &World, id: &str) -> String {
    let state: Value = world::get(w, &w.a.system, &format!("/api/v1/signing-requests/{id}"))
        .await
        .json()
        .await
        .unwrap();
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
    assert_eq!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the person's own passkeys"
    );

    let credential = assert_over(&mut phone, options);
    let signed = post_approval(&w, &cookie, &id, &csrf, &ceremony, &credential).await;
    assert_eq!(signed.status(), 200);
    assert_eq!(status(&w, &id).await, "signed");
    let pdf = world::get(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{id}/documents/1"),
    )
    .await
    .bytes()
    .await
    .unwrap()
    .to_vec();
    let report = support::seal_world::verify_pdf_at(&w.server, pdf).await;
    let signatory = &report["signatures"][0]["signatory"];
    assert!(
        signatory["approved_with"] == "swk" || signatory["approved_with"] == "hwk",
        "{report}"
    );
    // The assertion is kept as evidence: the commitment and the passkey's key prove
    // what the person approved.
    let mut conn = w.server.store().conn().await.unwrap();
    let evidence: Option<String> =
        sqlx::query("SELECT evidence FROM signing_approvals WHERE id = $1")
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
    let replayed = post_approval(
        &w,
        &cookie,
        &second,
        &other_csrf,
        &other_ceremony,
        &credential,
    )
    .await;
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
    assert_eq!(
        post_approval(&w, &cookie, &first, &csrf, &ceremony, &credential)
            .await
            .status(),
        200
    );
    assert_eq!(status(&w, &first).await, "signed");
    let again = post_approval(&w, &cookie, &first, &csrf, &ceremony, &credential).await;
    assert_ne!(again.status(), 200);
    let mut conn = w.server.store().conn().await.unwrap();
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM personal_signatures")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}
