//! The e-seal world: a server with two departments, each with a seal administrator
//! and a seal user (registry-verified, with an authenticator: level-3 logins) and a
//! licence system, every one of them logged in at the staff portal; with the requests
//! the tests make of seals, grants, usage logs and verification.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, DepartmentId, Level, Role};

use super::{PASSWORD, TestServer};

/// The staff portal everyone logs in at.
pub const PORTAL: &str = "https://staff.example.gov.cn/cb";

/// A department and the access tokens of its people and system.
pub struct Department {
    pub id: DepartmentId,
    pub admin: String,
    pub user: String,
    pub system: String,
}

/// The server, its staff portal and departments A and B.
pub struct World {
    pub server: TestServer,
    pub portal: (String, String),
    pub a: Department,
    pub b: Department,
}

/// Logs a person in at the staff portal; returns their access token. With the base32
/// secret of their authenticator, the login passes its second factor too (level 3 on
/// a registry-verified identity, as sealing needs).
pub async fn person_token(
    server: &TestServer,
    portal: &(String, String),
    resident_id: &str,
    totp_secret: Option<&str>,
) -> String {
    super::login_token(
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

/// A fresh server with departments A and B, their staff and systems, all logged in.
pub async fn world() -> World {
    world_with(|_| {}).await
}

/// Like [`world`], with the configuration changed by `adjust`.
pub async fn world_with(adjust: impl FnOnce(&mut tongban_core::config::Config)) -> World {
    world_on(TestServer::start_with(adjust).await).await
}

/// The world on a server already started.
pub async fn world_on(server: TestServer) -> World {
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
    let totp_key = super::dev_totp_key();
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
                super::person_with_login(&mut tx, resident_id, &hash, Some(&totp_key)).await;
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
            system: super::client_token(&server, &system_id, &system_secret).await,
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

/// `POST path` with a JSON body, by `token`.
pub async fn call(w: &World, token: &str, path: &str, body: Value) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `GET path`, by `token`.
pub async fn get(w: &World, token: &str, path: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The subject of an access token (its payload, unverified: the server verified it).
pub fn subject_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// A new contract seal of `department`, created by its administrator.
pub async fn new_seal(w: &World, department: &Department) -> Value {
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

/// A new SM2 official seal of department A, created by its administrator.
pub async fn new_sm2_seal(w: &World) -> Value {
    let created = call(
        w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "official", "name": "某市市场监督管理局", "algorithm": "SM2"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    created.json().await.unwrap()
}

/// Grants `seal` to the department's seal user and system.
pub async fn grant_all(w: &World, department: &Department, seal: &str, purpose_required: bool) {
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
pub async fn usage_log(w: &World, viewer: &str, id: &str) -> Vec<Value> {
    let log: Value = get(w, viewer, &format!("/api/v1/seals/{id}/usages"))
        .await
        .json()
        .await
        .unwrap();
    log.as_array().unwrap().clone()
}

/// How many refusals to use seal `id` the audit trail holds.
pub async fn refusals(w: &World, id: &str) -> usize {
    let mut conn = w.server.store().conn().await.unwrap();
    let events = tongban_store::audit::for_target(&mut conn, id)
        .await
        .unwrap();
    events
        .iter()
        .filter(|e| e.action == "seal.use_refused")
        .count()
}

/// `POST path` with `body` as `content_type`, by `token`.
pub async fn post_document(
    w: &World,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// `POST /api/v1/seals/{id}/pades?{query}`: `body` as `content_type`, by `token`.
pub async fn post_pdf(
    w: &World,
    token: &str,
    id: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let path = format!("/api/v1/seals/{id}/pades?{query}");
    post_document(w, token, &path, content_type, body).await
}

/// `POST /api/v1/seals/{id}/ses/pdf?{query}`: the PDF `body`, by `token`.
pub async fn post_ses_pdf(
    w: &World,
    token: &str,
    id: &str,
    query: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let path = format!("/api/v1/seals/{id}/ses/pdf?{query}");
    post_document(w, token, &path, "application/pdf", body).await
}

/// `pdf` sealed with seal `id` by department A's system.
pub async fn sealed_pdf(w: &World, id: &str, pdf: Vec<u8>) -> Vec<u8> {
    let response = post_pdf(w, &w.a.system, id, "", "application/pdf", pdf).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// `pdf` sealed with SM2 seal `id` (GB/T 38540) by department A's system, the seal at
/// the place `query` gives.
pub async fn ses_sealed_pdf(w: &World, id: &str, query: &str, pdf: Vec<u8>) -> Vec<u8> {
    let response = post_ses_pdf(w, &w.a.system, id, query, pdf).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// The verification report on a signature sent as JSON (`p7s` or `jws`).
pub async fn verify_json(w: &World, body: Value) -> Value {
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

/// The verification report on a PDF.
pub async fn verify_pdf(w: &World, pdf: Vec<u8>) -> Value {
    verify_pdf_at(&w.server, pdf).await
}

/// The verification report of `pdf` from `server`.
pub async fn verify_pdf_at(server: &TestServer, pdf: Vec<u8>) -> Value {
    let response = server
        .client
        .post(format!("{}/api/v1/verify", server.base))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A SHA-256 digest to seal (of `test`).
pub const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Sets seal `id`'s image (a 200 × 100 PNG with transparency), as A's administrator.
pub async fn set_image(w: &World, id: &str) {
    let image = super::documents::png_image(200, 100, png::ColorType::Rgba);
    let put = w
        .server
        .client
        .put(format!("{}/api/v1/seals/{id}/image", w.server.base))
        .bearer_auth(&w.a.admin)
        .header("content-type", "image/png")
        .body(image)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
}

/// `POST /verify` (the page) with the multipart form fields `parts` (name, bytes).
pub async fn verify_page(w: &World, parts: &[(&str, &[u8])]) -> reqwest::Response {
    let boundary = "tongbanboundary38540";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
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
}
