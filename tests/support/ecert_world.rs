//! The e-certificate world: a server with two departments — A, the national market
//! regulator, with an administrator and a level-3 issuer; B, a provincial one, with an
//! administrator — a licence system for each, and a citizen who acts for a company,
//! every one of them logged in; with the requests they make and what the tests read
//! off credentials and status lists.

use std::io::Read as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, AgentRole, DepartmentId, Level, Role};

use super::{PASSWORD, TestServer};

/// The portal everyone logs in at.
pub const PORTAL: &str = "https://portal.example.gov.cn/cb";
/// The citizen: a holder, and the company's agent.
pub const CITIZEN: &str = "110101199003070011";
/// The USCC of the company the citizen acts for.
pub const COMPANY: &str = "91350100M000100Y43";
/// The national market regulator's USCC: its type codes look like the standard's.
pub const SAMR: &str = "11100000000013338W";
/// Department B: a provincial market regulator's USCC.
pub const HUNAN: &str = "11430000006122244L";

/// The server, the departments and everyone's access token.
pub struct World {
    pub server: TestServer,
    pub a: DepartmentId,
    /// Department A's administrator (ecert:manage, seal:manage).
    pub admin: String,
    /// Department A's issuer, level 3.
    pub issuer: String,
    /// Department A's licence system (ecert:issue).
    pub system_a: String,
    /// Department B's system (ecert:issue, ecert:lookup).
    pub system_b: String,
    pub b: DepartmentId,
    /// Department B's administrator.
    pub admin_b: String,
    /// The citizen, through a portal (ecert:wallet).
    pub citizen: String,
}

/// A fresh server with departments A and B, their people and systems, all logged in.
pub async fn world() -> World {
    let server = TestServer::start().await;
    let now = Timestamp::now();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    let totp_key = super::dev_totp_key();
    let mut tx = server.store().begin().await.unwrap();
    let (portal, portal_secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "Government portal".into(),
            confidential: true,
            redirect_uris: vec![PORTAL.into()],
            scopes: [
                "openid",
                "seal:manage",
                "ecert:manage",
                "ecert:issue",
                "ecert:lookup",
                "ecert:wallet",
            ]
            .map(String::from)
            .to_vec(),
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..NewClient::default()
        },
        now,
    )
    .await
    .unwrap();
    let portal = (portal.id, portal_secret.unwrap());
    let a = subjects::create_department(
        &mut tx,
        "国家市场监督管理总局",
        SAMR,
        Level::Province,
        None,
        now,
    )
    .await
    .unwrap();
    let b = subjects::create_department(
        &mut tx,
        "湖南省市场监督管理局",
        HUNAN,
        Level::Province,
        None,
        now,
    )
    .await
    .unwrap();
    let mut secrets = Vec::new();
    for (i, (resident_id, roles)) in [
        ("11010119900307002X", vec![Role::DeptAdmin, Role::SealAdmin]),
        ("110101199003070038", vec![Role::Issuer]),
    ]
    .into_iter()
    .enumerate()
    {
        let (person, secret) =
            super::person_with_login(&mut tx, resident_id, &hash, Some(&totp_key)).await;
        subjects::add_staff(&mut tx, person, a.id, &format!("A{i}"), &roles, now)
            .await
            .unwrap();
        secrets.push((resident_id, secret.unwrap()));
    }
    let (admin_b, secret_b) =
        super::person_with_login(&mut tx, "110101199003070054", &hash, Some(&totp_key)).await;
    subjects::add_staff(
        &mut tx,
        admin_b,
        b.id,
        "B0",
        &[Role::DeptAdmin, Role::SealAdmin],
        now,
    )
    .await
    .unwrap();
    let (citizen, _) = super::person_with_login(&mut tx, CITIZEN, &hash, None).await;
    let company = subjects::create_legal_person(&mut tx, "福州示例科技有限公司", COMPANY, now)
        .await
        .unwrap();
    subjects::link_agent(&mut tx, citizen, company, AgentRole::Agent, now, None)
        .await
        .unwrap();
    let mut systems = Vec::new();
    for department in [a.id, b.id] {
        let (system, secret) = clients::register(
            &mut tx,
            &NewClient {
                name: "licence system".into(),
                confidential: true,
                scopes: vec!["ecert:issue".into(), "ecert:lookup".into()],
                grant_types: vec!["client_credentials".into()],
                department_id: Some(department),
                ..NewClient::default()
            },
            now,
        )
        .await
        .unwrap();
        systems.push((system.id, secret.unwrap()));
    }
    tx.commit().await.unwrap();
    let staff_scope = "openid seal:manage ecert:manage ecert:issue ecert:lookup";
    let login = |id: &'static str, secret: Option<String>, scope: &'static str| {
        let server = &server;
        let portal = &portal;
        async move {
            super::login_token(
                server,
                portal,
                PORTAL,
                scope,
                id,
                PASSWORD,
                secret.as_deref(),
            )
            .await
        }
    };
    World {
        admin: login(secrets[0].0, Some(secrets[0].1.clone()), staff_scope).await,
        issuer: login(secrets[1].0, Some(secrets[1].1.clone()), staff_scope).await,
        citizen: login(CITIZEN, None, "openid ecert:wallet").await,
        admin_b: login("110101199003070054", secret_b, staff_scope).await,
        b: b.id,
        system_a: super::client_token(&server, &systems[0].0, &systems[0].1).await,
        system_b: super::client_token(&server, &systems[1].0, &systems[1].1).await,
        a: a.id,
        server,
    }
}

impl World {
    /// `method path` with `token` as bearer, and `body` as JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .server
            .client
            .request(method, format!("{}{path}", self.server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, token: Option<&str>, path: &str, body: Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    /// The report of `POST /api/v1/certificates/verify` for a presented credential, as
    /// anyone may ask it.
    pub async fn verify_credential(&self, credential: impl serde::Serialize) -> Value {
        let response = self
            .post(
                None,
                "/api/v1/certificates/verify",
                json!({ "credential": credential }),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// `GET path`.
    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, token, path, None).await
    }

    /// A seal of department A and a driving-licence-like type signed with it.
    pub async fn licence_type(&self, sequence: &str, category: &str) -> Value {
        let seal: Value = self
            .post(
                Some(&self.admin),
                &format!("/api/v1/departments/{}/seals", self.a),
                json!({"kind": "official", "name": "国家市场监督管理总局电子证照专用章"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let defined = self
            .post(
                Some(&self.admin),
                &format!("/api/v1/departments/{}/certificate-types", self.a),
                json!({
                    "sequence": sequence,
                    "name_zh": "食品经营许可证",
                    "name_en": "Food business licence",
                    "holder_category": category,
                    "validity_days": 1825,
                    "seal_id": seal["id"],
                    "face_schema": {
                        "$schema": "https://json-schema.org/draft/2020-12/schema",
                        "type": "object",
                        "required": ["name", "licence_no", "scope"],
                        "additionalProperties": false,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "licence_no": {"type": "string", "pattern": "^JY[0-9]{14}$"},
                            "scope": {"type": "string"},
                            "address": {"type": "string"}
                        }
                    }
                }),
            )
            .await;
        assert_eq!(defined.status(), 201);
        defined.json().await.unwrap()
    }

    /// An SM2 seal of department A with its image, chosen for the OFD copies of type
    /// `code`: its id.
    pub async fn ofd_seal(&self, code: &str) -> String {
        let seal: Value = self
            .post(
                Some(&self.admin),
                &format!("/api/v1/departments/{}/seals", self.a),
                json!({"kind": "official", "name": "国家市场监督管理总局电子证照专用章", "algorithm": "SM2"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = seal["id"].as_str().unwrap().to_owned();
        let image = super::documents::png_image(200, 200, png::ColorType::Rgba);
        let put = self
            .server
            .client
            .put(format!("{}/api/v1/seals/{id}/image", self.server.base))
            .bearer_auth(&self.admin)
            .header("content-type", "image/png")
            .body(image)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 204);
        let path = format!(
            "/api/v1/certificate-types/{code}/issuers/{}/ofd-seal",
            self.a
        );
        let chosen = self
            .send(
                reqwest::Method::PUT,
                Some(&self.admin),
                &path,
                Some(json!({"seal_id": id})),
            )
            .await;
        assert_eq!(chosen.status(), 204);
        id
    }

    /// Issues a certificate of type `code` to `holder` by `token`, with an idempotency
    /// key if given.
    pub async fn issue(
        &self,
        token: &str,
        code: &str,
        holder: &str,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .server
            .client
            .post(format!("{}/api/v1/certificates", self.server.base))
            .bearer_auth(token)
            .json(&face_request(code, holder, "JY11100000000001"));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }
}

/// An issuance request: type `code`, holder `holder`, licence number `licence_no`.
pub fn face_request(code: &str, holder: &str, licence_no: &str) -> Value {
    json!({
        "type": code,
        "holder": {"id_number": holder, "name": "张三"},
        "face": {
            "name": "张三",
            "licence_no": licence_no,
            "scope": "预包装食品销售",
            "address": "北京市东城区"
        }
    })
}

/// Part `i` of a compact JWT (0: header, 1: payload), decoded.
pub fn jwt_part(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// The bit of `index` in a status-list credential's `encodedList`.
pub fn status_bit(list_jwt: &str, index: usize) -> bool {
    let claims = jwt_part(list_jwt, 1);
    let encoded = claims["credentialSubject"]["encodedList"].as_str().unwrap();
    let compressed = B64URL.decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut bits)
        .unwrap();
    assert!(bits.len() >= 16_384, "at least 131 072 entries");
    bits[index / 8] & (0x80 >> (index % 8)) != 0
}

/// How many certificates the store holds.
pub async fn certificates_count(w: &World) -> i64 {
    let mut conn = w.server.store().conn().await.unwrap();
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ecerts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    row.0
}
