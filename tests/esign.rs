//! Personal e-signatures through the real router: a level-3 person enrols for a signing
//! certificate (its policy, its pseudonymous serialNumber), a department asks them to
//! sign, they approve with their password and authenticator code, the department
//! collects a PAdES B-T PDF; and the boundaries: a level-2 person, another person, another
//! department, a changed document, an expired request, a revoked certificate, a wrong
//! code, a callback that is not https.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::esign_world::{
    self as world, LI, WANG, World, ZHAO, call, certificate_id, enrol, get, page, request,
    request_to_li, session, sign_with_secrets,
};
use support::{assert_problem, sample_pdf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The certificate (DER) of signing certificate `id`.
async fn certificate_der(w: &World, id: &str) -> Vec<u8> {
    use sqlx::Row;
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query(
        "SELECT p.der FROM signing_certificates s JOIN certificates p ON p.serial = s.certificate_serial WHERE s.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get(0)
}

async fn sql(w: &World, statement: &str, value: &str) {
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .bind(value)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn enrolled(w: &World, resident_id: &str) -> String {
    let li = session(w, resident_id).await;
    assert_eq!(enrol(w, &li).await.status(), 200);
    li
}

#[tokio::test]
async fn a_level_3_person_enrols_for_a_certificate_that_names_them_under_the_personal_policy() {
    let w = world::world().await;
    let li = session(&w, LI).await;
    let page_text = page(&w, &li, "/account/signing-certificate")
        .await
        .text()
        .await
        .unwrap();
    assert!(page_text.contains("签名证书"), "the page says what it is");
    // Without ticking that they understood, nothing is issued.
    let csrf = world::csrf(&w, &li).await;
    let unticked = world::form(
        &w,
        &li,
        "/account/signing-certificate",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(unticked.status(), 422);
    assert_eq!(enrol(&w, &li).await.status(), 200);
    let id = certificate_id(&w, LI).await;
    let der = certificate_der(&w, &id).await;
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let subject = cert.subject().to_string();
    assert!(subject.contains("CN=职员"), "{subject}");
    assert!(
        !subject.contains(LI),
        "the ID number is never in the certificate: {subject}"
    );
    let serial_number = cert
        .subject()
        .iter_attributes()
        .find(|a| a.attr_type().to_id_string() == "2.5.4.5")
        .and_then(|a| a.as_str().ok())
        .unwrap()
        .to_owned();
    assert!(
        serial_number.starts_with("TB") && serial_number.len() == 34,
        "{serial_number}"
    );
    let usage = cert.key_usage().unwrap().unwrap().value;
    assert!(usage.digital_signature() && usage.non_repudiation() && !usage.key_cert_sign());
    let policies = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::CertificatePolicies(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        policies[0].policy_id.as_bytes(),
        tongban_crypto::ca::PERSONAL_POLICY_OID_BYTES
    );
    // One live certificate: a second enrolment is refused, a renewal supersedes it.
    assert_eq!(enrol(&w, &li).await.status(), 409);
    let csrf = world::csrf(&w, &li).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("understood", "yes"),
        ("renew", "true"),
    ];
    let renewed = world::form(&w, &li, "/account/signing-certificate", &fields).await;
    assert_eq!(renewed.status(), 200);
    let newer = certificate_id(&w, LI).await;
    assert_ne!(newer, id);
    let old = certificate_der(&w, &id).await;
    let (_, old) = X509Certificate::from_der(&old).unwrap();
    let crl = w
        .server
        .get("/pki/crl/issuing.crl")
        .await
        .bytes()
        .await
        .unwrap();
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&crl).unwrap();
    assert!(
        crl.iter_revoked_certificates()
            .any(|r| r.raw_serial() == old.raw_serial()),
        "the superseded certificate is on the CRL at once"
    );
    // The same pseudonym: it stands for the person, not the certificate.
    let newer_der = certificate_der(&w, &newer).await;
    let (_, new) = X509Certificate::from_der(&newer_der).unwrap();
    assert!(new.subject().to_string().contains(&serial_number));
}

#[tokio::test]
async fn a_level_2_person_cannot_enrol_and_cannot_sign() {
    let w = world::world().await;
    let wang = session(&w, WANG).await;
    let html = page(&w, &wang, "/account/signing-certificate")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("name=\"understood\""),
        "no enrolment form below level 3"
    );
    let refused = enrol(&w, &wang).await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "the refusal is announced");
    let created = request(
        &w,
        &w.a.system,
        json!({ "id_number": WANG }),
        &[sample_pdf(1, 1000)],
    )
    .await;
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = page(&w, &wang, &format!("/sign/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("name=\"password\""),
        "no way to sign without a certificate"
    );
    assert!(html.contains("/account/signing-certificate"));
}

#[tokio::test]
async fn a_department_asks_the_person_signs_with_password_and_code_and_the_department_collects() {
    let w = world::world().await;
    let li = enrolled(&w, LI).await;
    let id = request_to_li(&w).await;
    let account = page(&w, &li, "/account").await.text().await.unwrap();
    assert!(account.contains("/account/signing-certificate"));
    let listed = page(&w, &li, "/account/signing-certificate")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("/sign/{id}")),
        "the request is listed for the person"
    );
    let html = page(&w, &li, &format!("/sign/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("办理营业执照变更登记") && html.contains("申请表1.pdf"));
    let original = page(&w, &li, &format!("/sign/{id}/documents/1")).await;
    assert_eq!(original.status(), 200);
    assert_eq!(
        original.bytes().await.unwrap().to_vec(),
        sample_pdf(2, 20_000)
    );

    let signed = sign_with_secrets(&w, &li, LI, &id).await;
    assert_eq!(signed.status(), 200);
    let state: Value = get(&w, &w.a.system, &format!("/api/v1/signing-requests/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "signed");
    let pdf = get(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{id}/documents/1"),
    )
    .await;
    assert_eq!(pdf.status(), 200);
    let pdf = pdf.bytes().await.unwrap().to_vec();
    assert!(
        pdf.starts_with(&sample_pdf(2, 20_000)),
        "an incremental update"
    );
    assert_eq!(
        state["documents"][0]["signed_sha256"],
        tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&pdf))
    );
    let report = support::seal_world::verify_pdf_at(&w.server, pdf.clone()).await;
    let signature = &report["signatures"][0];
    assert_eq!(signature["indication"], "TOTAL-PASSED", "{report}");
    assert_eq!(signature["log"]["kind"], "signature.personal", "{report}");
    assert_eq!(signature["signatory"]["kind"], "personal", "{report}");
    assert_eq!(
        signature["signatory"]["masked_id"], "110105********0121",
        "{report}"
    );
    assert_eq!(signature["signatory"]["approved_with"], "otp", "{report}");
    assert_eq!(signature["signatory"]["request"], id, "{report}");
    // Signed once: the request is closed and the approval spent.
    let again = sign_with_secrets_as(&w, &li, LI, &id).await;
    assert_eq!(again.status(), 409);
    // The person sees what they signed.
    let listed = page(&w, &li, "/account/signing-certificate")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(
            &sample_pdf(2, 20_000)
        )))
    );
    // Collected: the documents are erased.
    let done = call(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{id}/collected"),
        json!({}),
    )
    .await;
    assert_eq!(done.status(), 200);
    let gone = get(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{id}/documents/1"),
    )
    .await;
    assert_problem(gone, 404, "not-found").await;
}

#[tokio::test]
async fn nobody_else_sees_signs_or_collects_a_request() {
    let w = world::world().await;
    let _li = enrolled(&w, LI).await;
    let zhao = enrolled(&w, ZHAO).await;
    let id = request_to_li(&w).await;
    // Another person.
    assert_eq!(page(&w, &zhao, &format!("/sign/{id}")).await.status(), 404);
    assert_eq!(
        page(&w, &zhao, &format!("/sign/{id}/documents/1"))
            .await
            .status(),
        404
    );
    let refused = sign_with_secrets_as(&w, &zhao, ZHAO, &id).await;
    assert_eq!(refused.status(), 404);
    // Another department.
    let theirs = get(&w, &w.b.system, &format!("/api/v1/signing-requests/{id}")).await;
    assert_problem(theirs, 404, "not-found").await;
    let collect = call(
        &w,
        &w.b.system,
        &format!("/api/v1/signing-requests/{id}/collected"),
        json!({}),
    )
    .await;
    assert_problem(collect, 404, "not-found").await;
    // A client without the scope.
    let token = world::app_token(&w, LI).await;
    let created = request(
        &w,
        &token,
        json!({ "id_number": LI }),
        &[sample_pdf(1, 100)],
    )
    .await;
    assert_problem(created, 403, "forbidden").await;
}

/// Posts the signing form of request `id` as `session` without reading its page (which
/// another person cannot).
async fn sign_with_secrets_as(
    w: &World,
    session_cookie: &str,
    resident_id: &str,
    id: &str,
) -> reqwest::Response {
    let csrf = world::csrf(w, session_cookie).await;
    let code = w.code(resident_id);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("action", "sign"),
        ("password", support::PASSWORD),
        ("code", code.as_str()),
    ];
    world::form(w, session_cookie, &format!("/sign/{id}"), &fields).await
}

#[tokio::test]
async fn a_changed_document_an_expired_request_a_revoked_certificate_and_a_wrong_code_sign_nothing()
{
    let w = world::world().await;
    let li = enrolled(&w, LI).await;
    // A document changed after the request was made.
    let changed = request_to_li(&w).await;
    {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query("UPDATE signing_documents SET original = $2 WHERE request_id = $1")
            .bind(&changed)
            .bind(b"%PDF-1.4\n".to_vec())
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    assert_eq!(sign_with_secrets(&w, &li, LI, &changed).await.status(), 409);
    // An expired request.
    let expired = request_to_li(&w).await;
    sql(
        &w,
        "UPDATE signing_requests SET deadline = 1 WHERE id = $1",
        &expired,
    )
    .await;
    let html = page(&w, &li, &format!("/sign/{expired}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("name=\"password\""),
        "no signing form on an expired request"
    );
    assert_eq!(
        sign_with_secrets_as(&w, &li, LI, &expired).await.status(),
        409
    );
    let state: Value = get(
        &w,
        &w.a.system,
        &format!("/api/v1/signing-requests/{expired}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(state["status"], "expired");
    // A wrong code.
    let open = request_to_li(&w).await;
    let html = page(&w, &li, &format!("/sign/{open}"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = support::csrf_of(&html);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("action", "sign"),
        ("password", support::PASSWORD),
        ("code", "000000"),
    ];
    let wrong = world::form(&w, &li, &format!("/sign/{open}"), &fields).await;
    assert_eq!(wrong.status(), 403);
    // A revoked certificate.
    let csrf = world::csrf(&w, &li).await;
    let id = certificate_id(&w, LI).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", id.as_str()),
        ("why", "lost"),
    ];
    let revoked = world::form(&w, &li, "/account/signing-certificate/revoke", &fields).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(sign_with_secrets_as(&w, &li, LI, &open).await.status(), 409);
    for id in [&changed, &expired, &open] {
        let state: Value = get(&w, &w.a.system, &format!("/api/v1/signing-requests/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_ne!(state["status"], "signed");
    }
    let mut conn = w.server.store().conn().await.unwrap();
    let signatures: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) FROM personal_signatures")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(signatures, 0);
}

#[tokio::test]
async fn bad_requests_are_refused_with_clear_problems() {
    let w = world::world().await;
    let pdf = sample_pdf(1, 100);
    let unknown = request(
        &w,
        &w.a.system,
        json!({ "id_number": "11010519491231002X" }),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_problem(unknown, 422, "invalid-request").await;
    let both = request(
        &w,
        &w.a.system,
        json!({ "id_number": LI, "sub": "x" }),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_problem(both, 422, "invalid-request").await;
    let none = request(&w, &w.a.system, json!({ "id_number": LI }), &[]).await;
    assert_problem(none, 422, "invalid-request").await;
    let not_pdf = request(
        &w,
        &w.a.system,
        json!({ "id_number": LI }),
        &[b"hello".to_vec()],
    )
    .await;
    assert_problem(not_pdf, 422, "invalid-request").await;
    let many = vec![pdf.clone(); 21];
    let too_many = request(&w, &w.a.system, json!({ "id_number": LI }), &many).await;
    assert_problem(too_many, 422, "invalid-request").await;
    for url in ["http://requester.example.cn/cb", "ftp://x/", "not a url"] {
        let body = json!({
            "signer": { "id_number": LI }, "purpose": "p", "deadline": tongban_core::time::Timestamp::now().unix_millis() + 60_000,
            "callback_url": url,
            "documents": [{ "name": "a.pdf", "pdf": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pdf), "page": 1, "x": 10, "y": 10, "size": 50 }],
        });
        let refused = call(&w, &w.a.system, "/api/v1/signing-requests", body).await;
        assert_problem(refused, 422, "invalid-request").await;
    }
    let off_page = json!({
        "signer": { "id_number": LI }, "purpose": "p", "deadline": tongban_core::time::Timestamp::now().unix_millis() + 60_000,
        "documents": [{ "name": "a.pdf", "pdf": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pdf), "page": 9, "x": 10, "y": 10, "size": 50 }],
    });
    assert_problem(
        call(&w, &w.a.system, "/api/v1/signing-requests", off_page).await,
        422,
        "invalid-request",
    )
    .await;
    let past = json!({
        "signer": { "id_number": LI }, "purpose": "p", "deadline": 1,
        "documents": [{ "name": "a.pdf", "pdf": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pdf), "page": 1, "x": 10, "y": 10, "size": 50 }],
    });
    assert_problem(
        call(&w, &w.a.system, "/api/v1/signing-requests", past).await,
        422,
        "invalid-request",
    )
    .await;
    let malformed = call(
        &w,
        &w.a.system,
        "/api/v1/signing-requests",
        json!({ "signer": 3 }),
    )
    .await;
    assert!(malformed.status() == 400 || malformed.status() == 422);
}

#[tokio::test]
async fn a_signing_request_retried_under_its_key_is_created_once() {
    use base64::Engine as _;
    let w = world::world().await;
    let pdf = base64::engine::general_purpose::STANDARD.encode(sample_pdf(2, 20_000));
    let deadline = tongban_core::time::Timestamp::now().unix_millis() + 3_600_000;
    let body = |purpose: &str| {
        json!({
            "signer": {"id_number": LI}, "purpose": purpose, "deadline": deadline,
            "documents": [{"name": "申请表.pdf", "pdf": pdf, "page": 1, "x": 300, "y": 80, "size": 120}],
        })
    };
    let send = async |token: &str, key: Option<&str>, body: &Value, query: &str| {
        let mut request = w
            .server
            .client
            .post(format!("{}/api/v1/signing-requests{query}", w.server.base))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    };
    let count = async || {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM signing_requests")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let first = send(&w.a.system, Some("req-1"), &body("变更登记"), "").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The retry creates nothing and answers the same request.
    let again = send(&w.a.system, Some("req-1"), &body("变更登记"), "").await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["sign_url"], first["sign_url"]);
    assert_eq!(count().await, 1);
    // The key with another body, or another query, is refused and creates nothing.
    assert_problem(
        send(&w.a.system, Some("req-1"), &body("注销登记"), "").await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        send(&w.a.system, Some("req-1"), &body("变更登记"), "?again=1").await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(count().await, 1);
    // Another client's same key is its own request.
    let theirs = send(&w.b.system, Some("req-1"), &body("变更登记"), "").await;
    assert_eq!(theirs.status(), 201);
    let theirs: Value = theirs.json().await.unwrap();
    assert_ne!(theirs["id"], first["id"]);
    // Without a key, each call is a request of its own; a malformed key is refused.
    for _ in 0..2 {
        assert_eq!(
            send(&w.a.system, None, &body("变更登记"), "")
                .await
                .status(),
            201
        );
    }
    assert_eq!(count().await, 4);
    assert_problem(
        send(&w.a.system, Some("with space"), &body("变更登记"), "").await,
        422,
        "invalid-request",
    )
    .await;
    assert_eq!(count().await, 4);
}
