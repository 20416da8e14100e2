//! E-seals through the real router: a department creates a seal, grants it, and its
//! staff and systems seal digests, files and JSON; every boundary is a test
//! (another department's seal, no grant, a missing purpose, suspended and revoked
//! seals) and so is bad input.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::sso;
use tongban_identity::subjects::{self, DepartmentId, Level, NewNaturalPerson, Role};

const PASSWORD: &str = "green mountains and blue seas";
const PORTAL: &str = "https://staff.example.gov.cn/cb";

struct Department {
    id: DepartmentId,
    admin: String,
    user: String,
    system: String,
}

struct World {
    server: TestServer,
    portal: (String, String),
    a: Department,
    b: Department,
}

/// Logs a person in at the staff portal; returns their access token. With the base32
/// secret of their authenticator, the login passes its second factor too (level 3 on
/// a registry-verified identity, as sealing needs).
async fn person_token(
    server: &TestServer,
    portal: &(String, String),
    resident_id: &str,
    totp_secret: Option<&str>,
) -> String {
    support::login_token(
        server,
        portal,
        PORTAL,
        "openid seal:manage seal:use",
        resident_id,
        PASSWORD,
        totp_secret,
    )
    .await
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut tongban_core::config::Config)) -> World {
    let server = TestServer::start_with(adjust).await;
    let now = Timestamp::now();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    let mut tx = server.store().begin().await.unwrap();
    let (portal, portal_secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "Staff portal".into(),
            confidential: true,
            redirect_uris: vec![PORTAL.into()],
            scopes: vec!["openid".into(), "seal:manage".into(), "seal:use".into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..NewClient::default()
        },
        now,
    )
    .await
    .unwrap();
    let portal = (portal.id, portal_secret.unwrap());
    let mut departments = Vec::new();
    let totp_key = support::dev_totp_key();
    let mut secrets = std::collections::HashMap::new();
    let people = [
        ("11010519491231002X", "440308199901011234"),
        ("110105198001010024", "110105198001010032"),
    ];
    for (i, (uscc, name)) in [
        ("91350100M000100Y43", "浙江省市场监督管理局"),
        ("11430000006122244L", "湖南省市场监督管理局"),
    ]
    .into_iter()
    .enumerate()
    {
        let department =
            subjects::create_department(&mut tx, name, uscc, Level::Province, None, now)
                .await
                .unwrap();
        let mut staff = Vec::new();
        for (j, (resident_id, roles)) in [
            (people[0].0, vec![Role::SealAdmin]),
            (people[0].1, vec![Role::SealUser]),
        ]
        .into_iter()
        .enumerate()
        {
            // The second department's people have their own numbers.
            let resident_id = if i == 0 {
                resident_id
            } else {
                [people[1].0, people[1].1][j]
            };
            // Registry-verified, with an authenticator: their logins reach level 3.
            let (person, secret) =
                support::person_with_login(&mut tx, resident_id, &hash, Some(&totp_key)).await;
            secrets.insert(resident_id.to_owned(), secret.unwrap());
            subjects::add_staff(
                &mut tx,
                person,
                department.id,
                &format!("S{i}{j}"),
                &roles,
                now,
            )
            .await
            .unwrap();
            staff.push(resident_id.to_owned());
        }
        let (system, secret) = clients::register(
            &mut tx,
            &NewClient {
                name: format!("{name} licence system"),
                confidential: true,
                scopes: vec!["seal:use".into()],
                grant_types: vec!["client_credentials".into()],
                department_id: Some(department.id),
                ..NewClient::default()
            },
            now,
        )
        .await
        .unwrap();
        departments.push((department.id, staff, system.id, secret.unwrap()));
    }
    tx.commit().await.unwrap();
    let mut built = Vec::new();
    for (id, staff, system_id, system_secret) in departments {
        built.push(Department {
            id,
            admin: person_token(&server, &portal, &staff[0], Some(&secrets[&staff[0]])).await,
            user: person_token(&server, &portal, &staff[1], Some(&secrets[&staff[1]])).await,
            system: support::client_token(&server, &system_id, &system_secret).await,
        });
    }
    let b = built.pop().unwrap();
    let a = built.pop().unwrap();
    World {
        server,
        portal,
        a,
        b,
    }
}

async fn call(w: &World, token: &str, path: &str, body: Value) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(w: &World, token: &str, path: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The subject of an access token (its payload, unverified: the server verified it).
fn subject_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

async fn new_seal(w: &World, department: &Department) -> Value {
    let created = call(
        w,
        &department.admin,
        &format!("/api/v1/departments/{}/seals", department.id),
        json!({"kind": "contract", "name": "合同专用章"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    created.json().await.unwrap()
}

async fn grant_all(w: &World, department: &Department, seal: &str, purpose_required: bool) {
    for grantee in [
        json!({"staff_id": subject_of(&department.user), "purpose_required": purpose_required}),
        json!({"client_id": subject_of(&department.system), "purpose_required": purpose_required}),
    ] {
        let granted = call(
            w,
            &department.admin,
            &format!("/api/v1/seals/{seal}/grants"),
            grantee,
        )
        .await;
        assert_eq!(granted.status(), 204);
    }
}

/// Seal `id`'s usage log, as `viewer` reads it.
async fn usage_log(w: &World, viewer: &str, id: &str) -> Vec<Value> {
    let log: Value = get(w, viewer, &format!("/api/v1/seals/{id}/usages"))
        .await
        .json()
        .await
        .unwrap();
    log.as_array().unwrap().clone()
}

/// How many refusals to use seal `id` the audit trail holds.
async fn refusals(w: &World, id: &str) -> usize {
    let mut conn = w.server.store().conn().await.unwrap();
    let events = tongban_store::audit::for_target(&mut conn, id)
        .await
        .unwrap();
    events
        .iter()
        .filter(|e| e.action == "seal.use_refused")
        .count()
}

/// `POST /api/v1/seals/{id}/pades?{query}`: `body` as `content_type`, by `token`.
async fn post_pdf(
    w: &World,
    token: &str,
    id: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/api/v1/seals/{id}/pades?{query}", w.server.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// `pdf` sealed with seal `id` by department A's system.
async fn sealed_pdf(w: &World, id: &str, pdf: Vec<u8>) -> Vec<u8> {
    let response = post_pdf(w, &w.a.system, id, "", "application/pdf", pdf).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[tokio::test]
async fn staff_seal_only_after_a_level_3_login() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    // A seal user of department A, registry-verified, with a password only (level 2).
    let resident_id = "110105199001010010";
    let person = {
        let now = Timestamp::now();
        let mut tx = w.server.store().begin().await.unwrap();
        let person = subjects::create_natural_person(
            &mut tx,
            &NewNaturalPerson {
                name: "职员",
                resident_id,
                email: None,
                phone: None,
            },
            now,
        )
        .await
        .unwrap();
        let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
        sso::set_password_hash(&mut tx, person, &hash)
            .await
            .unwrap();
        tongban_identity::identity_registry::import_csv(
            &mut tx,
            &format!("职员,{resident_id}\n"),
            now,
        )
        .await
        .unwrap();
        subjects::add_staff(&mut tx, person, w.a.id, "S-L2", &[Role::SealUser], now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        person
    };
    let granted = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": person.to_string()}),
    )
    .await;
    assert_eq!(granted.status(), 204);
    let level_2 = person_token(&w.server, &w.portal, resident_id, None).await;
    let refused = call(
        &w,
        &level_2,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    let problem = assert_problem(refused, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("level 3"),
        "{problem}"
    );
    // The level-3 seal user of the same department, granted the same seal, signs.
    let granted = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": subject_of(&w.a.user)}),
    )
    .await;
    assert_eq!(granted.status(), 204);
    let signed = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    // Only the level-3 signature is in the usage log.
    let usages: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/usages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        usages["items"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_else(|| usages.as_array().unwrap().len()),
        1,
        "{usages}"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn a_department_seals_digests_files_and_json() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    assert_eq!(seal["status"], "active");
    assert!(
        seal["code"]
            .as_str()
            .unwrap()
            .starts_with("91350100M000100Y43")
    );
    grant_all(&w, &w.a, id, true).await;

    // A system seals two digests with a purpose.
    let signed = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST, DIGEST.to_uppercase()], "purpose": "营业执照核发"}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let signed: Value = signed.json().await.unwrap();
    let p7s = base64::engine::general_purpose::STANDARD
        .decode(signed["signatures"][0]["p7s"].as_str().unwrap())
        .unwrap();
    assert!(
        tongban_crypto::cms::signature_timestamp(&p7s)
            .unwrap()
            .is_some(),
        "B-T: a signature time-stamp is attached"
    );

    // The grant asks for a purpose.
    let without = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    let problem = assert_problem(without, 422, "invalid-request").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("purpose"));

    // Staff seal a file and a JSON document.
    let file = w
        .server
        .client
        .post(format!(
            "{}/api/v1/seals/{id}/cades/file?purpose=contract",
            w.server.base
        ))
        .bearer_auth(&w.a.user)
        .header("content-type", "application/octet-stream")
        .body(b"a contract".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["content-type"],
        "application/pkcs7-signature"
    );
    let jws = w
        .server
        .client
        .post(format!(
            "{}/api/v1/seals/{id}/jws?purpose=notice",
            w.server.base
        ))
        .bearer_auth(&w.a.user)
        .body(r#"{"notice":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(jws.status(), 200);
    let jws = jws.text().await.unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert!(parts.len() == 3 && parts[1].is_empty(), "detached: {jws}");
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["x5c"].as_array().unwrap().len(), 2);
    assert!(header["sigT"].is_string());

    // Every use is in the log, newest first, with actor, digest and purpose.
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["format"], "jws");
    assert_eq!(log[3]["digest_sha256"], DIGEST);
    assert_eq!(log[3]["purpose"], "营业执照核发");
    let mine: Value = get(
        &w,
        &w.a.admin,
        &format!(
            "/api/v1/seals/{id}/usages?actor=client:{}&limit=1",
            subject_of(&w.a.system)
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let history: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["created", "granted", "granted"]);
    w.server.stop().await;
}

#[tokio::test]
async fn department_a_cannot_use_or_manage_department_b_seals() {
    let w = world().await;
    let seal_b = new_seal(&w, &w.b).await;
    let id = seal_b["id"].as_str().unwrap();
    grant_all(&w, &w.b, id, false).await;
    let body = json!({"digests": [DIGEST]});
    for token in [&w.a.system, &w.a.user, &w.a.admin] {
        let refused = call(
            &w,
            token,
            &format!("/api/v1/seals/{id}/cades"),
            body.clone(),
        )
        .await;
        assert_problem(refused, 403, "forbidden").await;
    }
    // The refusals are audited; nothing was signed.
    assert_eq!(refusals(&w, id).await, 3);
    let log = usage_log(&w, &w.b.admin, id).await;
    assert!(log.is_empty());
    // Nor may A's administrator manage B's seals, list them, or grant them.
    let create = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.b.id),
        json!({"kind": "official", "name": "公章"}),
    )
    .await;
    assert_problem(create, 403, "forbidden").await;
    assert_problem(
        get(
            &w,
            &w.a.admin,
            &format!("/api/v1/departments/{}/seals", w.b.id),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let grant = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": subject_of(&w.a.user)}),
    )
    .await;
    assert_problem(grant, 403, "forbidden").await;
    // B's own administrator cannot grant it to A's system either.
    let foreign = call(
        &w,
        &w.b.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"client_id": subject_of(&w.a.system)}),
    )
    .await;
    assert_problem(foreign, 422, "invalid-request").await;
    // B's seal user without a grant of another B seal is refused too.
    let other = new_seal(&w, &w.b).await;
    let ungranted = call(
        &w,
        &w.b.user,
        &format!("/api/v1/seals/{}/cades", other["id"].as_str().unwrap()),
        body,
    )
    .await;
    assert_problem(ungranted, 403, "forbidden").await;
    w.server.stop().await;
}

#[tokio::test]
async fn suspended_and_revoked_seals_do_not_sign() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let sign = async || {
        call(
            &w,
            &w.a.system,
            &format!("/api/v1/seals/{id}/cades"),
            json!({"digests": [DIGEST]}),
        )
        .await
    };
    let status = async |status: &str| {
        call(
            &w,
            &w.a.admin,
            &format!("/api/v1/seals/{id}/status"),
            json!({"status": status, "reason": "test"}),
        )
        .await
    };
    assert_eq!(status("suspended").await.status(), 200);
    assert_problem(sign().await, 409, "conflict").await;
    // Seal users may not change the status.
    let by_user = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "active"}),
    )
    .await;
    assert_problem(by_user, 403, "forbidden").await;
    assert_eq!(status("active").await.status(), 200);
    assert_eq!(sign().await.status(), 200);
    assert_eq!(status("revoked").await.status(), 200);
    assert_problem(sign().await, 409, "conflict").await;
    assert_problem(status("active").await, 409, "conflict").await;
    // Its certificate is revoked and on the CRL.
    let mut conn = w.server.store().conn().await.unwrap();
    let certificate =
        tongban_store::pki::certificate(&mut conn, seal["certificate_serial"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(certificate.revocation.is_some());
    drop(conn);
    w.server.stop().await;
}

#[tokio::test]
async fn bad_sealing_input_is_refused_without_a_usage_record() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let path = format!("/api/v1/seals/{id}/cades");
    let bad = call(&w, &w.a.system, &path, json!({"digests": [DIGEST, "abc"]})).await;
    let problem = assert_problem(bad, 422, "invalid-request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("digests[1]")
    );
    let too_many: Vec<&str> = vec![DIGEST; 1001];
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digests": too_many})).await,
        422,
        "invalid-request",
    )
    .await;
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digests": []})).await,
        422,
        "invalid-request",
    )
    .await;
    assert_problem(
        call(&w, &w.a.system, &path, json!({"digest": DIGEST})).await,
        400,
        "malformed-request",
    )
    .await;
    let empty = w
        .server
        .client
        .post(format!("{}/api/v1/seals/{id}/cades/file", w.server.base))
        .bearer_auth(&w.a.system)
        .send()
        .await
        .unwrap();
    assert_problem(empty, 422, "invalid-request").await;
    let unknown = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{}/cades", uuid::Uuid::now_v7()),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_problem(unknown, 404, "not-found").await;
    assert_problem(
        call(
            &w,
            &w.a.system,
            "/api/v1/seals/not-an-id/cades",
            json!({"digests": [DIGEST]}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let kind = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "stamp", "name": "x"}),
    )
    .await;
    assert_problem(kind, 422, "invalid-request").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn pdfs_are_sealed_twice_and_bad_pdfs_refused() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>, query: &str| {
        post_pdf(&w, &w.a.system, id, query, "application/pdf", body).await
    };
    let original = support::sample_pdf(3, 10_000);
    let once = pades(original.clone(), "reason=approved&location=Hangzhou").await;
    assert_eq!(once.status(), 200);
    let once = once.bytes().await.unwrap().to_vec();
    assert!(
        once.starts_with(&original),
        "an incremental update keeps the original bytes"
    );
    let twice = pades(once.clone(), "page=2&x=100&y=100").await;
    assert_eq!(twice.status(), 200);
    let twice = twice.bytes().await.unwrap().to_vec();
    assert!(
        twice.starts_with(&once),
        "the second seal keeps the first signature's bytes"
    );
    let text = String::from_utf8_lossy(&twice);
    assert_eq!(text.matches("/ETSI.CAdES.detached").count(), 2);

    // Bad documents: problem+json, no usage record.
    let mut truncated = original.clone();
    truncated.truncate(original.len() / 2);
    let mut broken_xref = original.clone();
    let xref_at = text_position(&broken_xref, b"startxref");
    broken_xref[xref_at + 10..xref_at + 14].copy_from_slice(b"9999");
    // A section appended after the last %%EOF, its startxref left without one: the
    // update would chain to a section no revision marker delimits.
    let mut hidden = change_page_content(&once);
    let eof = hidden.len() - hidden.iter().rev().position(|b| *b == b'%').unwrap() - 2;
    hidden.truncate(eof);
    for (name, body, query) in [
        ("truncated", truncated, ""),
        ("broken xref", broken_xref, ""),
        ("startxref without %%EOF", hidden, ""),
        ("not a PDF", b"hello, I am not a PDF".to_vec(), ""),
        ("no such page", original.clone(), "page=9"),
        ("off the page", original.clone(), "x=590"),
    ] {
        let refused = pades(body, query).await;
        let problem = assert_problem(refused, 422, "invalid-request").await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with("pdf"),
            "{name}: {problem}"
        );
    }
    let empty = pades(Vec::new(), "").await;
    assert_problem(empty, 422, "invalid-request").await;
    let wrong_type = post_pdf(&w, &w.a.system, id, "", "text/plain", original.clone()).await;
    assert_problem(wrong_type, 415, "unsupported-media-type").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 2, "only the two seals are recorded");
    w.server.stop().await;
}

#[tokio::test]
async fn a_pdf_with_object_streams_is_sealed_twice_and_both_seals_verify() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    // Object streams and a cross-reference stream, as PDF 1.5+ producers write.
    let mut doc = lopdf::Document::load_mem(&support::sample_pdf(2, 5_000)).unwrap();
    let mut original = Vec::new();
    doc.save_modern(&mut original).unwrap();
    assert!(String::from_utf8_lossy(&original).contains("/ObjStm"));
    let once = sealed_pdf(&w, id, original).await;
    let twice = sealed_pdf(&w, id, once.clone()).await;
    assert!(twice.starts_with(&once));
    let report = verify_pdf(&w, twice.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["later_changes_only_signatures"], true);
    assert_eq!(signatures[1]["covers_whole_document"], true);
    // A change to the page after both seals, in another update, is seen.
    let changed = change_page_content(&twice);
    let report = verify_pdf(&w, changed).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    w.server.stop().await;
}

#[tokio::test]
async fn a_form_whose_fields_form_a_cycle_is_reported_on_without_hanging() {
    use lopdf::{Document, Object, dictionary};
    let w = world().await;
    let mut doc = Document::load_mem(&support::sample_pdf(1, 100)).unwrap();
    // Field 1 has an indirect /Kids array whose one kid is a direct dictionary with
    // the same array as its /Kids.
    let kids = doc.new_object_id();
    doc.objects.insert(
        kids,
        Object::Array(vec![Object::Dictionary(dictionary! { "Kids" => kids })]),
    );
    let field = doc.add_object(dictionary! { "FT" => "Sig", "Kids" => kids });
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    doc.get_dictionary_mut(root).unwrap().set(
        "AcroForm",
        dictionary! { "Fields" => vec![Object::Reference(field)] },
    );
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf).unwrap();
    let report = verify_pdf(&w, pdf).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 0);
    w.server.stop().await;
}

fn text_position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .rposition(|w| w == needle)
        .unwrap()
}

async fn verify_json(w: &World, body: Value) -> Value {
    let response = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn verify_pdf(w: &World, pdf: Vec<u8>) -> Value {
    let response = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn verification_reports_on_pdfs_p7s_and_jws() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>| sealed_pdf(&w, id, body).await;
    let once = pades(support::sample_pdf(2, 5_000)).await;
    let twice = pades(once.clone()).await;
    let report = verify_pdf(&w, twice.clone()).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["covers_whole_document"], false);
    assert_eq!(signatures[0]["later_changes_only_signatures"], true);
    assert_eq!(signatures[1]["covers_whole_document"], true);
    for s in signatures {
        assert_eq!(s["format"], "pades");
        assert_eq!(s["seal"]["name"], "合同专用章");
        assert_eq!(s["seal"]["department_uscc"], "91350100M000100Y43");
        assert!(s["timestamp_time"].is_string() && s["claimed_signing_time"].is_string());
        assert_eq!(s["revocation"], "good");
    }
    // A byte changed inside the signed range.
    let mut tampered = once.clone();
    let at = tampered.windows(5).position(|w| w == b"page ").unwrap();
    tampered[at] = b'P';
    let report = verify_pdf(&w, tampered).await;
    assert_eq!(report["overall"], "TOTAL-FAILED");
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");
    // An unsigned revision appended after the seal.
    let mut appended = once.clone();
    appended.extend_from_slice(b"\n% an unsigned change\n%%EOF\n");
    let report = verify_pdf(&w, appended).await;
    assert_eq!(report["overall"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["signatures"][0]["later_changes_only_signatures"],
        false
    );

    // CAdES with the digest, and with the wrong one.
    let signed: Value = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let p7s = signed["signatures"][0]["p7s"].as_str().unwrap();
    let good = verify_json(&w, json!({"p7s": p7s, "digest": DIGEST})).await;
    assert_eq!(good["overall"], "TOTAL-PASSED", "{good}");
    let wrong = verify_json(&w, json!({"p7s": p7s, "digest": DIGEST.replace('9', "8")})).await;
    assert_eq!(wrong["signatures"][0]["sub_indication"], "HASH_FAILURE");

    // JWS with its payload, and with another.
    let jws = w
        .server
        .client
        .post(format!("{}/api/v1/seals/{id}/jws", w.server.base))
        .bearer_auth(&w.a.system)
        .body("payload")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let good = verify_json(&w, json!({"jws": jws, "payload": b64("payload")})).await;
    assert_eq!(good["overall"], "TOTAL-PASSED", "{good}");
    let wrong = verify_json(&w, json!({"jws": jws, "payload": b64("other")})).await;
    assert_eq!(wrong["overall"], "TOTAL-FAILED");

    // Bad requests.
    for (body, field) in [
        (json!({"digest": DIGEST}), "p7s"),
        (json!({"p7s": "!!", "digest": DIGEST}), "p7s"),
        (json!({"p7s": p7s}), "file"),
        (json!({"jws": jws}), "payload"),
    ] {
        let response = w
            .server
            .client
            .post(format!("{}/api/v1/verify", w.server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid-request").await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with(field),
            "{problem}"
        );
    }
    let not_pdf = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body("plain text")
        .send()
        .await
        .unwrap();
    assert_problem(not_pdf, 422, "invalid-request").await;
    w.server.stop().await;
}

#[tokio::test]
async fn revocation_after_the_time_stamp_warns_before_it_fails() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let signed: Value = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let before = signed["signatures"][0]["p7s"].as_str().unwrap().to_owned();
    // Let the revocation fall in a later second than the time-stamp.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let revoked = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "revoked"}),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let report = verify_json(&w, json!({"p7s": before, "digest": DIGEST})).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        report["signatures"][0]["revocation"],
        "revoked-after-signing"
    );
    assert!(
        report["signatures"][0]["messages"]
            .to_string()
            .contains("revoked")
    );

    // A signature made after the revocation with the seal's key (as a thief holding a
    // copy of it would), time-stamped by our TSA: it fails.
    let pki = w.server.pki().clone();
    let mut conn = w.server.store().conn().await.unwrap();
    let row =
        tongban_store::pki::certificate(&mut conn, seal["certificate_serial"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    drop(conn);
    let key = pki.keys().load(&row.key_id).await.unwrap();
    let digest: [u8; 32] = tongban_crypto::cms::sha256(b"after revocation");
    let signed = tongban_crypto::cms::sign_detached(
        key.as_ref(),
        &[row.der.clone(), pki.issuing().to_vec()],
        digest,
        None,
    )
    .unwrap();
    let p7s = pki.tsa().stamp(signed).unwrap();
    let report = verify_json(
        &w,
        json!({"p7s": base64::engine::general_purpose::STANDARD.encode(p7s),
               "digest": tongban_crypto::ca::hex(&digest)}),
    )
    .await;
    assert_eq!(report["overall"], "TOTAL-FAILED", "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "REVOKED");
    w.server.stop().await;
}

#[tokio::test]
async fn the_verify_page_reports_plainly() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let sealed = sealed_pdf(&w, id, support::sample_pdf(1, 1_000)).await;
    let form = w.server.get("/verify").await;
    assert_eq!(form.status(), 200);
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("enctype=\"multipart/form-data\"")
    );
    let upload = async |file: Option<&[u8]>| {
        let boundary = "tongbanboundary7";
        let mut body = Vec::new();
        if let Some(file) = file {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
            body.extend_from_slice(file);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        w.server
            .client
            .post(format!("{}/verify", w.server.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    };
    let report = upload(Some(&sealed)).await;
    assert_eq!(report.status(), 200);
    let html = report.text().await.unwrap();
    assert!(
        html.contains("有效") && html.contains("合同专用章") && html.contains("TOTAL-PASSED"),
        "{html}"
    );
    let empty = upload(None).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("role=\"alert\""));
    let junk = upload(Some(b"not a pdf")).await;
    assert_eq!(junk.status(), 422);
    w.server.stop().await;
}

#[tokio::test]
async fn a_document_over_the_limit_is_413_and_unrecorded() {
    let w = world_with(|c| c.http.document_limit_bytes = 50_000).await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let big = support::sample_pdf(1, 100_000);
    let response = post_pdf(&w, &w.a.system, id, "", "application/pdf", big.clone()).await;
    assert_problem(response, 413, "payload-too-large").await;
    let verify = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(verify, 413, "payload-too-large").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn another_department_s_pdf_seal_is_refused_and_audited_even_with_a_body_over_the_limit() {
    let w = world_with(|c| c.http.document_limit_bytes = 50_000).await;
    let seal_b = new_seal(&w, &w.b).await;
    let id = seal_b["id"].as_str().unwrap();
    grant_all(&w, &w.b, id, false).await;
    // The right is checked while the document arrives; a refusal is what the caller
    // hears, whether the body fits or not.
    for pdf in [
        support::sample_pdf(1, 1_000),
        support::sample_pdf(1, 100_000),
    ] {
        let refused = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf).await;
        assert_problem(refused, 403, "forbidden").await;
    }
    assert_eq!(refusals(&w, id).await, 2);
    let log = usage_log(&w, &w.b.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn a_client_system_seals_only_under_a_live_grant() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    let pdf = || support::sample_pdf(1, 1_000);
    // Its own department's seal, but no grant yet.
    let ungranted = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    assert_problem(ungranted, 403, "forbidden").await;
    grant_all(&w, &w.a, id, false).await;
    let granted = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    assert_eq!(granted.status(), 200);
    // The grant has run out (grants are made for the future only: aged in place).
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query("UPDATE seal_grants SET expires_at = $1 WHERE seal_id = $2")
        .bind(Timestamp::now().unix_millis() - 1_000)
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let expired = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    let problem = assert_problem(expired, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    let cades = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_problem(cades, 403, "forbidden").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 1);
    w.server.stop().await;
}

fn png_image(width: u32, height: u32, color: png::ColorType) -> Vec<u8> {
    let channels = match color {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        _ => 1,
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![200u8; (width * height * channels) as usize])
            .unwrap();
    }
    out
}

#[tokio::test]
async fn an_uploaded_png_replaces_the_drawn_stamp() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let put = async |token: &str, content_type: &str, body: Vec<u8>| {
        w.server
            .client
            .put(format!("{}/api/v1/seals/{id}/image", w.server.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    };
    let image = png_image(100, 100, png::ColorType::Rgba);
    assert_problem(
        put(&w.a.user, "image/png", image.clone()).await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        png_image(100, 100, png::ColorType::Rgb),
        png_image(10, 10, png::ColorType::Rgba),
        b"not a png".to_vec(),
    ] {
        let problem = assert_problem(
            put(&w.a.admin, "image/png", bad).await,
            422,
            "invalid-request",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with("image"),
            "{problem}"
        );
    }
    assert_problem(
        put(&w.a.admin, "text/plain", image.clone()).await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert_problem(
        get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/image")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        put(&w.a.admin, "image/png", image.clone()).await.status(),
        204
    );
    let stored = get(&w, &w.a.user, &format!("/api/v1/seals/{id}/image")).await;
    assert_eq!(stored.bytes().await.unwrap().to_vec(), image);
    let sealed = sealed_pdf(&w, id, support::sample_pdf(1, 1_000)).await;
    let text = String::from_utf8_lossy(&sealed);
    assert!(
        text.contains("/Width 100"),
        "the uploaded image is embedded"
    );
    let report = verify_pdf(&w, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED");
    let history: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(history.to_string().contains("image-changed"));
    w.server.stop().await;
}

/// `pdf` with page 1's content replaced in an incremental update (no signature).
fn change_page_content(pdf: &[u8]) -> Vec<u8> {
    use lopdf::{IncrementalDocument, Object, Stream, dictionary};
    let mut doc = IncrementalDocument::load_from(pdf).unwrap();
    let page = *doc.get_prev_documents().get_pages().get(&1).unwrap();
    doc.opt_clone_object_to_new_document(page).unwrap();
    let content = doc.new_document.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 24 Tf 72 720 Td (Tongban test document, page 1: AMOUNT 1,000,000) Tj ET".to_vec(),
    ));
    doc.new_document
        .get_dictionary_mut(page)
        .unwrap()
        .set("Contents", Object::Reference(content));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[tokio::test]
async fn a_later_seal_over_changed_content_does_not_vouch_for_the_first() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let pades = async |body: Vec<u8>| sealed_pdf(&w, id, body).await;
    let once = pades(support::sample_pdf(1, 1_000)).await;
    let changed = change_page_content(&once);
    // The change alone: the first seal no longer covers what is shown.
    let report = verify_pdf(&w, changed.clone()).await;
    assert_eq!(
        report["signatures"][0]["indication"], "INDETERMINATE",
        "{report}"
    );
    // A valid second seal over the changed document vouches for its own revision,
    // not for the content change under the first seal.
    let resealed = pades(changed).await;
    let report = verify_pdf(&w, resealed).await;
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0]["indication"], "INDETERMINATE", "{report}");
    assert_eq!(signatures[0]["later_changes_only_signatures"], false);
    assert_eq!(signatures[1]["indication"], "TOTAL-PASSED");
    assert_eq!(report["overall"], "INDETERMINATE");
    w.server.stop().await;
}
