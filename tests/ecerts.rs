//! E-certificates through the real router: a department defines a type and issues
//! certificates (one by one, idempotently); the holder sees them, shares one and sees
//! every access; verifiers check shares and presented credentials; the status list
//! follows revocation; every boundary is a test (another department's type, a share's
//! fields, expiry, use and revocation, a lookup without purpose, a wrong check
//! character).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde_json::{Value, json};
use support::{TestServer, assert_problem};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, AgentRole, DepartmentId, Level, Role};

const PASSWORD: &str = "green mountains and blue seas";
const PORTAL: &str = "https://portal.example.gov.cn/cb";
const CITIZEN: &str = "110101199003070011";
const COMPANY: &str = "91350100M000100Y43";
/// The national market regulator's USCC: its type codes look like the standard's.
const SAMR: &str = "11100000000013338W";
const HUNAN: &str = "11430000006122244L";

struct World {
    server: TestServer,
    a: DepartmentId,
    /// Department A's administrator (ecert:manage, seal:manage).
    admin: String,
    /// Department A's issuer, level 3.
    issuer: String,
    /// Department A's licence system (ecert:issue).
    system_a: String,
    /// Department B's system (ecert:issue, ecert:lookup).
    system_b: String,
    b: DepartmentId,
    /// Department B's administrator.
    admin_b: String,
    /// The citizen, through a portal (ecert:wallet).
    citizen: String,
}

async fn world() -> World {
    let server = TestServer::start().await;
    let now = Timestamp::now();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    let totp_key = support::dev_totp_key();
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
            support::person_with_login(&mut tx, resident_id, &hash, Some(&totp_key)).await;
        subjects::add_staff(&mut tx, person, a.id, &format!("A{i}"), &roles, now)
            .await
            .unwrap();
        secrets.push((resident_id, secret.unwrap()));
    }
    let (admin_b, secret_b) =
        support::person_with_login(&mut tx, "110101199003070054", &hash, Some(&totp_key)).await;
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
    let (citizen, _) = support::person_with_login(&mut tx, CITIZEN, &hash, None).await;
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
            support::login_token(
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
        system_a: support::client_token(&server, &systems[0].0, &systems[0].1).await,
        system_b: support::client_token(&server, &systems[1].0, &systems[1].1).await,
        a: a.id,
        server,
    }
}

impl World {
    async fn send(
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

    async fn post(&self, token: Option<&str>, path: &str, body: Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, token, path, None).await
    }

    /// A seal of department A and a driving-licence-like type signed with it.
    async fn licence_type(&self, sequence: &str, category: &str) -> Value {
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

    async fn issue(
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

fn face_request(code: &str, holder: &str, licence_no: &str) -> Value {
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

fn jwt_part(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// The bit of `index` in a status-list credential's `encodedList`.
fn status_bit(list_jwt: &str, index: usize) -> bool {
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

async fn certificates_count(w: &World) -> i64 {
    let mut conn = w.server.store().conn().await.unwrap();
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ecerts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    row.0
}

#[tokio::test]
async fn a_department_issues_and_a_holder_shares_and_a_verifier_checks() {
    let w = world().await;
    let t = w.licence_type("011", "natural").await;
    let code = t["code"].as_str().unwrap();
    assert_eq!(code, format!("{SAMR}011"));
    let catalogue: Value = w
        .get(None, "/api/v1/certificate-types")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalogue[0]["code"], code);

    // Issued by the department's system, idempotently.
    let issued = w.issue(&w.system_a, code, CITIZEN, Some("order-1")).await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    assert!(
        identifier.starts_with(&format!(
            "1.2.156.3005.2.{SAMR}011.{SAMR}.{year}0000001.001."
        )),
        "{identifier}"
    );
    let parsed: tongban_ecert::identifier::Identifier = identifier.parse().unwrap();
    assert_eq!(parsed.to_string(), identifier);
    let again: Value = w
        .issue(&w.system_a, code, CITIZEN, Some("order-1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["identifier"], identifier);
    assert_eq!(certificates_count(&w).await, 1, "a retry creates nothing");
    let mut other = w
        .server
        .client
        .post(format!("{}/api/v1/certificates", w.server.base))
        .bearer_auth(&w.system_a)
        .header("idempotency-key", "order-1")
        .json(&face_request(code, CITIZEN, "JY11100000000002"))
        .send()
        .await
        .unwrap();
    assert_problem(other, 409, "conflict").await;

    // The credential: a VC-JWT whose x5c chains to our root and verifies.
    let credential = issued["credential"].as_str().unwrap();
    let header = jwt_part(credential, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "vc+jwt");
    let chain: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| B64.decode(c.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[2], w.server.pki().root());
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    let key = tongban_crypto::PublicKey::from_spki_der(leaf.public_key().raw).unwrap();
    let keys = tongban_crypto::jose::Jwks {
        keys: vec![tongban_crypto::jose::Jwk::from_public_key(&key, None)],
    };
    tongban_crypto::jose::verify_compact(credential, None, &keys).unwrap();
    let vc = jwt_part(credential, 1);
    assert_eq!(vc["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(
        vc["credentialSubject"]["certificate"]["identifier"],
        identifier
    );
    assert_eq!(
        vc["credentialSubject"]["face"]["licence_no"],
        "JY11100000000001"
    );
    assert_eq!(
        vc["credentialStatus"][0]["type"],
        "BitstringStatusListEntry"
    );
    assert_eq!(vc["credentialStatus"][0]["statusPurpose"], "revocation");
    assert!(vc["validUntil"].is_string());

    // The holder sees it.
    let mine: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["identifier"], identifier);
    let id = mine[0]["id"].as_str().unwrap();
    // The sealed PDF rendition verifies with the seal verification API, and its QR
    // code's status page says it is in force, without the holder's data.
    let pdf = w
        .get(
            Some(&w.citizen),
            &format!("/api/v1/me/certificates/{id}/pdf"),
        )
        .await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    let checked: Value = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(checked["overall"], "TOTAL-PASSED", "{checked}");
    let status_page = w.get(None, &format!("/verify/i/{identifier}")).await;
    assert_eq!(status_page.status(), 200);
    let html = status_page.text().await.unwrap();
    assert!(
        html.contains("此证照目前有效") && html.contains("国家市场监督管理总局"),
        "{html}"
    );
    assert!(
        !html.contains("张三") && !html.contains("JY11100000000001"),
        "no holder data"
    );
    let wrong_page = w
        .get(
            None,
            &format!("/verify/i/{}", identifier.replace(".001.", ".002.")),
        )
        .await;
    assert_eq!(wrong_page.status(), 400);
    // A system's token has no wallet.
    assert_problem(
        w.get(Some(&w.system_a), "/api/v1/me/certificates").await,
        403,
        "forbidden",
    )
    .await;

    // A single-use share of two fields.
    let share_path = format!("/api/v1/me/certificates/{id}/shares");
    let created = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "中国银行", "purpose": "开立对公账户", "expires_in": 3600,
                   "fields": ["name", "scope"], "single_use": true}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(created["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        created["link"]
            .as_str()
            .unwrap()
            .ends_with(created["token"].as_str().unwrap())
    );
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": created["token"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["checks"]["signature"], true);
    assert_eq!(report["checks"]["chain"], true);
    assert_eq!(report["issuer_uscc"], SAMR);
    assert_eq!(report["identifier"], identifier);
    assert_eq!(
        report["fields"],
        json!({"name": "张三", "scope": "预包装食品销售"})
    );
    assert_eq!(report["share"]["audience"], "中国银行");
    // Used up.
    let used = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": created["token"]}),
        )
        .await;
    assert_problem(used, 403, "forbidden").await;

    // A multi-use share, verified by its short code as a person types it.
    let multi: Value = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "某某公司人事部", "purpose": "入职核验", "expires_in": 86400}),
        )
        .await
        .json()
        .await
        .unwrap();
    let typed = multi["code"]
        .as_str()
        .unwrap()
        .replace('-', " ")
        .to_lowercase();
    for _ in 0..2 {
        let report: Value = w
            .post(None, "/api/v1/certificates/verify", json!({"share": typed}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["valid"], true);
        assert_eq!(
            report["fields"]["licence_no"], "JY11100000000001",
            "all fields"
        );
    }
    // Through the public page: opening the link uses nothing, pressing the button does.
    let page = w
        .get(
            None,
            &format!("/verify/c/{}", multi["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<button"));
    let shown = w
        .server
        .client
        .post(format!(
            "{}/verify/c/{}",
            w.server.base,
            multi["token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(
        html.contains("证照真实") && html.contains("预包装食品销售"),
        "{html}"
    );
    // The holder revokes it; it stops working.
    let revoked = w
        .send(
            reqwest::Method::DELETE,
            Some(&w.citizen),
            &format!(
                "/api/v1/me/shares/{}",
                multi["share"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    assert_problem(
        w.post(None, "/api/v1/certificates/verify", json!({"share": typed}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let gone = w
        .server
        .client
        .post(format!(
            "{}/verify/c/{}",
            w.server.base,
            multi["token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 403);

    // An expired share is refused.
    let short: Value = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "房东", "purpose": "租房", "expires_in": 60}),
        )
        .await
        .json()
        .await
        .unwrap();
    {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query("UPDATE ecert_shares SET expires_at = 0 WHERE id = $1")
            .bind(short["share"]["id"].as_str().unwrap())
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let expired = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": short["token"]}),
        )
        .await;
    assert!(
        assert_problem(expired, 403, "forbidden").await["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    // Bad share requests.
    for bad in [
        json!({"audience": "", "purpose": "x", "expires_in": 3600}),
        json!({"audience": "x", "purpose": "x", "expires_in": 31 * 86400}),
        json!({"audience": "x", "purpose": "x", "expires_in": 3600, "fields": ["salary"]}),
    ] {
        assert_problem(
            w.post(Some(&w.citizen), &share_path, bad).await,
            422,
            "invalid-request",
        )
        .await;
    }
    assert_problem(
        w.post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": "no-such-share"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // Department B looks the holder up: only with a purpose; the holder sees it.
    let lookup = format!("/api/v1/certificates?holder={CITIZEN}");
    assert_problem(
        w.get(Some(&w.system_b), &lookup).await,
        400,
        "malformed-request",
    )
    .await;
    let found: Value = w
        .get(Some(&w.system_b), &format!("{lookup}&purpose=%E5%AE%A1%E6%89%B9%E5%88%86%E5%BA%97%E8%AE%BE%E7%AB%8B&type={code}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["identifier"], identifier);
    assert_problem(
        w.get(Some(&w.citizen), &format!("{lookup}&purpose=x"))
            .await,
        403,
        "forbidden",
    )
    .await;
    let wrong_check = format!(
        "{}{}",
        &identifier[..identifier.len() - 1],
        if identifier.ends_with('0') { '1' } else { '0' }
    );
    let wrong = w
        .get(
            Some(&w.system_b),
            &format!("/api/v1/certificates/{wrong_check}?purpose=x"),
        )
        .await;
    assert!(
        assert_problem(wrong, 400, "malformed-request").await["detail"]
            .as_str()
            .unwrap()
            .contains("check character")
    );
    let one: Value = w
        .get(
            Some(&w.system_b),
            &format!("/api/v1/certificates/{identifier}?purpose=%E6%A0%B8%E9%AA%8C"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["identifier"], identifier);
    let accesses: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificate-accesses")
        .await
        .json()
        .await
        .unwrap();
    let accesses = accesses.as_array().unwrap();
    let shares = accesses.iter().filter(|a| a["channel"] == "share").count();
    let lookups: Vec<&Value> = accesses
        .iter()
        .filter(|a| a["channel"] == "lookup")
        .collect();
    assert_eq!(
        shares, 4,
        "one single-use, two by code, one through the page"
    );
    assert_eq!(lookups.len(), 2);
    assert!(lookups.iter().any(|a| a["purpose"] == "审批分店设立"));
    assert!(
        lookups[0]["accessor"]
            .as_str()
            .unwrap()
            .contains("湖南省市场监督管理局")
    );
    assert!(
        accesses
            .iter()
            .any(|a| a["accessor"] == "中国银行" && a["purpose"] == "开立对公账户")
    );

    // The account page shows the certificate and who looked at it.
    let session = support::account_session(&w.server, CITIZEN, PASSWORD).await;
    let account = w
        .server
        .client
        .get(format!("{}/account", w.server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("我的电子证照") && account.contains(identifier),
        "{account}"
    );
    assert!(account.contains("中国银行") && account.contains("审批分店设立"));
    // The holder shares it from the account page too: a single-use link.
    let form_value = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = account.find(&marker).unwrap() + marker.len();
        account[at..at + account[at..].find('"').unwrap()].to_owned()
    };
    let (csrf, certificate_id) = (form_value("csrf_token"), form_value("certificate_id"));
    let share_form = async |csrf: &str, days: &str| {
        w.server
            .client
            .post(format!("{}/account/certificates/share", w.server.base))
            .header("cookie", &session)
            .form(&[
                ("csrf_token", csrf),
                ("certificate_id", certificate_id.as_str()),
                ("audience", "中国工商银行"),
                ("purpose", "个人贷款"),
                ("days", days),
                ("single_use", "1"),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(share_form("forged", "3").await.status(), 403);
    assert_eq!(share_form(&csrf, "31").await.status(), 422);
    let shared = share_form(&csrf, "3").await;
    assert_eq!(shared.status(), 201);
    let shared = shared.text().await.unwrap();
    assert!(
        shared.contains("<svg") && shared.contains("分享码"),
        "{shared}"
    );
    let link_at = shared.find("/verify/c/").unwrap() + "/verify/c/".len();
    let token = &shared[link_at..link_at + shared[link_at..].find('"').unwrap()];
    let once = w
        .post(None, "/api/v1/certificates/verify", json!({"share": token}))
        .await;
    assert_eq!(once.status(), 200);
    let again = w
        .post(None, "/api/v1/certificates/verify", json!({"share": token}))
        .await;
    assert_problem(again, 403, "forbidden").await;
    // And downloads the sealed PDF there; without the session, nothing.
    let pdf_path = format!(
        "{}/account/certificates/{certificate_id}/pdf",
        w.server.base
    );
    assert!(account.contains(&format!("/account/certificates/{certificate_id}/pdf")));
    let pdf = w
        .server
        .client
        .get(&pdf_path)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let anonymous = w.server.client.get(&pdf_path).send().await.unwrap();
    assert_eq!(anonymous.status(), 403);
    let foreign = w
        .server
        .client
        .get(format!(
            "{}/account/certificates/not-mine/pdf",
            w.server.base
        ))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);

    // Revocation: the status list's bit follows, with a new ETag.
    let list_url = vc["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .unwrap();
    let index: usize = vc["credentialStatus"][0]["statusListIndex"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = list_url.strip_prefix(&w.server.base).unwrap_or(list_url);
    let path = &path[path.find("/api/").unwrap()..];
    let before = w.get(None, path).await;
    assert_eq!(before.headers()["content-type"], "application/vc+jwt");
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();
    assert!(!status_bit(&before.text().await.unwrap(), index));
    let cached = w
        .server
        .client
        .get(format!("{}{path}", w.server.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let status_path = format!("/api/v1/certificates/{identifier}/status");
    assert_problem(
        w.post(
            Some(&w.system_b),
            &status_path,
            json!({"status": "revoked", "reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        w.post(
            Some(&w.system_a),
            &status_path,
            json!({"status": "revoked"}),
        )
        .await,
        422,
        "invalid-request",
    )
    .await;
    let revoked = w
        .post(
            Some(&w.system_a),
            &status_path,
            json!({"status": "revoked", "reason": "吊销许可"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let after = w.get(None, path).await;
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let list = after.text().await.unwrap();
    assert!(status_bit(&list, index));
    assert_eq!(jwt_part(&list, 0)["typ"], "vc+jwt");
    assert_eq!(
        jwt_part(&list, 1)["credentialSubject"]["statusPurpose"],
        "revocation"
    );
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": credential}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["status"], "revoked");
    assert_eq!(report["checks"]["signature"], true);
    assert_problem(
        w.post(Some(&w.system_a), &status_path, json!({"status": "active"}))
            .await,
        409,
        "conflict",
    )
    .await;
    // Nor be had as a freshly sealed PDF.
    assert_problem(
        w.get(
            Some(&w.citizen),
            &format!("/api/v1/me/certificates/{id}/pdf"),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // A revoked certificate cannot be shared.
    assert_problem(
        w.post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "x", "purpose": "y", "expires_in": 3600}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    other = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": credential.replace('.', "x")}),
        )
        .await;
    let forged: Value = other.json().await.unwrap();
    assert_eq!(forged["valid"], false);
    assert_eq!(forged["checks"]["signature"], false);
}

#[tokio::test]
async fn issuance_boundaries_and_bad_input() {
    let w = world().await;
    let t = w.licence_type("012", "natural").await;
    let code = t["code"].as_str().unwrap();
    // Department B's system cannot issue department A's type; nothing is stored.
    assert_problem(
        w.issue(&w.system_b, code, CITIZEN, None).await,
        403,
        "forbidden",
    )
    .await;
    // The administrator has no issuer role.
    assert_problem(
        w.issue(&w.admin, code, CITIZEN, None).await,
        403,
        "forbidden",
    )
    .await;
    // The level-3 issuer may.
    assert_eq!(w.issue(&w.issuer, code, CITIZEN, None).await.status(), 201);
    // A holder the platform does not know becomes an unverified holder record.
    let stranger = "110101199003070046";
    assert_eq!(
        w.issue(&w.system_a, code, stranger, None).await.status(),
        201
    );
    {
        let mut conn = w.server.store().conn().await.unwrap();
        let row: (i64,) = sqlx::query_as("SELECT assurance FROM subjects WHERE resident_id = $1")
            .bind(stranger)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(row.0, 1);
    }
    assert_eq!(certificates_count(&w).await, 2);
    // Face data against the schema: each field named.
    let mut bad = face_request(code, CITIZEN, "JY1");
    bad["face"]["colour"] = json!("red");
    bad["face"].as_object_mut().unwrap().remove("scope");
    let refused = w.post(Some(&w.system_a), "/api/v1/certificates", bad).await;
    let problem = assert_problem(refused, 422, "invalid-request").await;
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/face/licence_no"), "{problem}");
    assert!(
        pointers.contains(&"/face"),
        "the missing and the unknown field: {problem}"
    );
    for (body, status, slug) in [
        (
            face_request(code, "110101199003070047", "JY11100000000001"),
            422,
            "invalid-request",
        ),
        (
            face_request(&format!("{HUNAN}011"), CITIZEN, "JY11100000000001"),
            404,
            "not-found",
        ),
        (json!({"type": code}), 400, "malformed-request"),
        (
            {
                let mut nul = face_request(code, "110101199003070046", "JY11100000000001");
                nul["holder"]["name"] = json!("张\u{0}三");
                nul
            },
            422,
            "invalid-request",
        ),
    ] {
        assert_problem(
            w.post(Some(&w.system_a), "/api/v1/certificates", body)
                .await,
            status,
            slug,
        )
        .await;
    }
    let not_json = w
        .server
        .client
        .post(format!("{}/api/v1/certificates", w.server.base))
        .bearer_auth(&w.system_a)
        .body("type=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "unsupported-media-type").await;
    assert_eq!(
        certificates_count(&w).await,
        2,
        "no refusal stored anything"
    );
    // A type cannot be defined with another department's seal or a broken schema.
    let seal: Value = w
        .get(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/seals", w.a),
        )
        .await
        .json()
        .await
        .unwrap();
    let seal_id = seal[0]["id"].as_str().unwrap();
    for (schema, status) in [
        (json!({"type": "array"}), 422),
        (
            json!({"type": "object", "properties": {"x": {"type": 5}}}),
            422,
        ),
    ] {
        let r = w
            .post(
                Some(&w.admin),
                &format!("/api/v1/departments/{}/certificate-types", w.a),
                json!({"sequence": "013", "name_zh": "x", "name_en": "x", "holder_category": "natural",
                       "seal_id": seal_id, "face_schema": schema}),
            )
            .await;
        assert_eq!(r.status(), status);
    }
    let taken = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/certificate-types", w.a),
            json!({"sequence": "012", "name_zh": "x", "name_en": "x", "holder_category": "natural",
                   "seal_id": seal_id, "face_schema": {"type": "object"}}),
        )
        .await;
    assert_problem(taken, 409, "conflict").await;
    // Department A lets department B issue its type; B signs with a seal of its own,
    // which only B's administrators choose.
    let issuers = format!("/api/v1/certificate-types/{code}/issuers");
    assert_problem(
        w.post(
            Some(&w.admin_b),
            &issuers,
            json!({"department_id": w.b.to_string()}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let added = w
        .post(
            Some(&w.admin),
            &issuers,
            json!({"department_id": w.b.to_string()}),
        )
        .await;
    assert_eq!(added.status(), 204);
    assert_problem(
        w.issue(&w.system_b, code, CITIZEN, None).await,
        409,
        "conflict",
    )
    .await;
    let choose = format!("{issuers}/{}", w.b);
    // Neither A's administrators choose for B, nor B's choose A's seal.
    for admin in [&w.admin, &w.admin_b] {
        assert_problem(
            w.send(
                reqwest::Method::PUT,
                Some(admin),
                &choose,
                Some(json!({"seal_id": seal_id})),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    let seal_b: Value = w
        .post(
            Some(&w.admin_b),
            &format!("/api/v1/departments/{}/seals", w.b),
            json!({"kind": "official", "name": "湖南省市场监督管理局电子证照专用章"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let chosen = w
        .send(
            reqwest::Method::PUT,
            Some(&w.admin_b),
            &choose,
            Some(json!({"seal_id": seal_b["id"]})),
        )
        .await;
    assert_eq!(chosen.status(), 204);
    let by_b: Value = w
        .issue(&w.system_b, code, CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    let by_b_id = by_b["identifier"].as_str().unwrap();
    assert!(
        by_b_id.contains(&format!(".{HUNAN}.")),
        "B's USCC as issuer: {by_b_id}"
    );
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": by_b["credential"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["issuer_uscc"], HUNAN);
    // A person on the issuing staff of both departments names the department each
    // certificate is issued for; without it, nothing is issued.
    {
        let store = w.server.store();
        let mut tx = store.begin().await.unwrap();
        let issuer = subjects::find_by_resident_id(&mut tx, &"110101199003070038".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        subjects::add_staff(
            &mut tx,
            issuer,
            w.b,
            "B1",
            &[Role::Issuer],
            Timestamp::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let before = certificates_count(&w).await;
    let ambiguous = w.issue(&w.issuer, code, CITIZEN, None).await;
    let problem = assert_problem(ambiguous, 422, "invalid-request").await;
    assert!(problem.to_string().contains("department_id"), "{problem}");
    for (department, uscc) in [(w.a, SAMR), (w.b, HUNAN)] {
        let mut body = face_request(code, CITIZEN, "JY11100000000002");
        body["department_id"] = json!(department.to_string());
        let issued = w.post(Some(&w.issuer), "/api/v1/certificates", body).await;
        assert_eq!(issued.status(), 201, "for {uscc}");
        let issued: Value = issued.json().await.unwrap();
        assert!(
            issued["identifier"]
                .as_str()
                .unwrap()
                .contains(&format!(".{uscc}.")),
            "{issued}"
        );
    }
    let mut body = face_request(code, CITIZEN, "JY11100000000002");
    body["department_id"] = json!("not an id");
    assert_problem(
        w.post(Some(&w.issuer), "/api/v1/certificates", body).await,
        422,
        "invalid-request",
    )
    .await;
    let mut body = face_request(code, CITIZEN, "JY11100000000002");
    body["department_id"] = json!(subjects::DepartmentId::new().to_string());
    assert_problem(
        w.post(Some(&w.issuer), "/api/v1/certificates", body).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(certificates_count(&w).await, before + 2);
    // So does a lookup by that person, which the holder sees under that department.
    let lookup = async |department: Option<String>| {
        let query = department
            .map(|d| format!("&department_id={d}"))
            .unwrap_or_default();
        w.get(
            Some(&w.issuer),
            &format!("/api/v1/certificates?holder={CITIZEN}&purpose=稽查{query}"),
        )
        .await
    };
    let problem = assert_problem(lookup(None).await, 422, "invalid-request").await;
    assert!(problem.to_string().contains("department_id"), "{problem}");
    assert_problem(
        lookup(Some(subjects::DepartmentId::new().to_string())).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(lookup(Some(w.b.to_string())).await.status(), 200);
    let accesses: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificate-accesses")
        .await
        .json()
        .await
        .unwrap();
    let latest = accesses.as_array().unwrap().first().unwrap();
    assert!(
        latest.to_string().contains("湖南省市场监督管理局") && latest["purpose"] == "稽查",
        "{latest}"
    );
    // A system looks up only for its own department.
    let elsewhere = w
        .get(
            Some(&w.system_b),
            &format!(
                "/api/v1/certificates?holder={CITIZEN}&purpose=audit&department_id={}",
                w.a
            ),
        )
        .await;
    assert_problem(elsewhere, 403, "forbidden").await;
    // B cannot revoke A's certificates, nor A B's.
    let a_cert: Value = w
        .issue(&w.system_a, code, CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    // B's seal signs a credential naming A's certificate: genuine signature, trusted
    // chain, but not what the register issued, so nothing of A's certificate shows.
    let key_id: (String,) = {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query_as("SELECT key_id FROM seals WHERE id = $1")
            .bind(seal_b["id"].as_str().unwrap())
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let signer = w.server.pki().keys().load(&key_id.0).await.unwrap();
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("vc+jwt"));
    header.insert(
        "x5c".into(),
        jwt_part(by_b["credential"].as_str().unwrap(), 0)["x5c"].clone(),
    );
    let payload = jwt_part(a_cert["credential"].as_str().unwrap(), 1);
    let forged = tongban_crypto::jose::sign_compact(
        signer.as_ref(),
        payload.to_string().as_bytes(),
        &header,
    )
    .unwrap();
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": forged}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["checks"]["signature"], true);
    assert_eq!(report["fields"], json!({}), "{report}");
    assert!(report.get("identifier").is_none() && report.get("holder_name").is_none());
    assert_problem(
        w.post(
            Some(&w.system_b),
            &format!(
                "/api/v1/certificates/{}/status",
                a_cert["identifier"].as_str().unwrap()
            ),
            json!({"status": "revoked", "reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        w.post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{by_b_id}/status"),
            json!({"status": "revoked", "reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // A suspended seal issues nothing.
    let suspended = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/seals/{seal_id}/status"),
            json!({"status": "suspended", "reason": "审计"}),
        )
        .await;
    assert!(suspended.status().is_success(), "{}", suspended.status());
    assert_problem(
        w.issue(&w.system_a, code, CITIZEN, None).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(certificates_count(&w).await, 6);
}

#[tokio::test]
async fn a_reissue_supersedes_and_agents_see_their_company_certificates() {
    let w = world().await;
    let t = w.licence_type("014", "legal").await;
    let code = t["code"].as_str().unwrap();
    let issued: Value = w
        .issue(&w.system_a, code, COMPANY, None)
        .await
        .json()
        .await
        .unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    // The citizen acts for the company: its certificate is in their wallet.
    let mine: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["identifier"], identifier);

    // Suspend, resume.
    let status_path = format!("/api/v1/certificates/{identifier}/status");
    let suspended: Value = w
        .post(
            Some(&w.system_a),
            &status_path,
            json!({"status": "suspended", "reason": "整改"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": issued["credential"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (report["valid"].clone(), report["status"].clone()),
        (json!(false), json!("suspended"))
    );
    let resumed: Value = w
        .post(Some(&w.system_a), &status_path, json!({"status": "active"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["status"], "active");

    // Re-issue with a new address: version 002 supersedes 001.
    let mut face = issued["face"].clone();
    face["address"] = json!("北京市西城区");
    let reissued = w
        .post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{identifier}/reissue"),
            json!({"face": face}),
        )
        .await;
    assert_eq!(reissued.status(), 201);
    let reissued: Value = reissued.json().await.unwrap();
    let next = reissued["identifier"].as_str().unwrap();
    assert_eq!(&next[..next.len() - 5], &identifier[..identifier.len() - 5]);
    assert!(next.contains(".002."), "{next}");
    assert_eq!(reissued["supersedes"], identifier);
    let old: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": issued["credential"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["valid"], false);
    assert!(old["messages"].to_string().contains(next));
    let new: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": reissued["credential"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(new["valid"], true);
    assert_eq!(new["fields"]["address"], "北京市西城区");
    assert_problem(
        w.post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{identifier}/reissue"),
            json!({"face": face}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // A certificate of another platform's root, or garbage, is not valid.
    for garbage in ["", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let report: Value = w
            .post(
                None,
                "/api/v1/certificates/verify",
                json!({"credential": garbage}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["valid"], false, "{garbage}");
    }
    assert_problem(
        w.post(None, "/api/v1/certificates/verify", json!({})).await,
        422,
        "invalid-request",
    )
    .await;
}

/// Rows for a batch: `count` holders, with the rows in `bad` made invalid (even ones in
/// their face data, odd ones in their holder's number).
fn batch_rows(count: usize, bad: &[usize]) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut row = json!({
                "holder": {"id_number": support::resident_id(i), "name": format!("持证人{i}")},
                "face": {"name": format!("持证人{i}"), "licence_no": format!("JY{:014}", i), "scope": "餐饮服务"}
            });
            if let Some(k) = bad.iter().position(|b| *b == i) {
                if k % 2 == 0 {
                    row["face"]["licence_no"] = json!("not a licence number");
                } else {
                    let id = support::resident_id(i);
                    let wrong = if id.ends_with('1') { "2" } else { "1" };
                    row["holder"]["id_number"] = json!(format!("{}{wrong}", &id[..17]));
                }
            }
            row
        })
        .collect()
}

async fn wait_done(client: &reqwest::Client, base: &str, token: &str, job: &str) -> Value {
    for _ in 0..3000 {
        let state: Value = client
            .get(format!("{base}/api/v1/certificate-jobs/{job}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["state"] == "done" {
            return state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the job did not finish");
}

#[tokio::test]
async fn a_batch_of_ten_thousand_with_ten_invalid_rows_is_idempotent() {
    let w = world().await;
    let t = w.licence_type("015", "natural").await;
    let code = t["code"].as_str().unwrap();
    let bad: Vec<usize> = (0..10).map(|k| k * 1000 + 500).collect();
    let body = json!({"type": code, "rows": batch_rows(10_000, &bad)});
    let submit = || {
        w.server
            .client
            .post(format!("{}/api/v1/certificate-jobs", w.server.base))
            .bearer_auth(&w.system_a)
            .header("idempotency-key", "batch-2026-12-01")
            .json(&body)
            .send()
    };
    let accepted = submit().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = accepted.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/certificate-jobs/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["total"], 10_000);
    let id = job["id"].as_str().unwrap();
    let done = wait_done(&w.server.client, &w.server.base, &w.system_a, id).await;
    assert_eq!(
        (done["issued"].clone(), done["failed"].clone()),
        (json!(9990), json!(10))
    );
    assert_eq!(certificates_count(&w).await, 9990);
    // Status-list entries are not handed out in issuance order: a certificate's index
    // tells nothing of its neighbours in the batch.
    let indexes: Vec<(i64,)> = {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query_as("SELECT status_index FROM ecerts ORDER BY serial LIMIT 100")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    let in_order = indexes.windows(2).filter(|p| p[1].0 == p[0].0 + 1).count();
    assert!(in_order < 10, "{in_order} of 99 neighbours in order");
    let failed: Value = w
        .get(
            Some(&w.system_a),
            &format!("/api/v1/certificate-jobs/{id}/rows?state=failed"),
        )
        .await
        .json()
        .await
        .unwrap();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 10);
    for (k, row) in failed.iter().enumerate() {
        assert_eq!(row["row"], bad[k] + 1, "rows are numbered from 1");
        let pointer = row["errors"][0]["pointer"].as_str().unwrap();
        let expected = if k % 2 == 0 {
            "/face/licence_no"
        } else {
            "/holder/id_number"
        };
        assert_eq!(pointer, expected, "{row}");
    }
    let issued: Value = w
        .get(
            Some(&w.system_a),
            &format!("/api/v1/certificate-jobs/{id}/rows?state=issued&limit=3"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued[0]["row"], 1);
    let first: tongban_ecert::identifier::Identifier =
        issued[0]["identifier"].as_str().unwrap().parse().unwrap();
    assert_eq!(first.version, 1);
    // The same key again: the same job, nothing new.
    let again: Value = submit().await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], job["id"]);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(certificates_count(&w).await, 9990);
    // Another department's job is not visible to department B.
    assert_problem(
        w.get(Some(&w.system_b), &format!("/api/v1/certificate-jobs/{id}"))
            .await,
        403,
        "forbidden",
    )
    .await;

    // CSV: the header names the face fields; an empty cell is left out.
    let csv = format!(
        "id_number,name,name,licence_no,scope,address\n\
         {},甲,甲,JY00000000000001,餐饮服务,\n\
         {},乙,乙,JY00000000000002,\"餐饮服务,外卖\",长沙\n\
         {},丙,丙,bad,餐饮服务,\n",
        support::resident_id(20_000),
        support::resident_id(20_001),
        support::resident_id(20_002)
    );
    let accepted = w
        .server
        .client
        .post(format!(
            "{}/api/v1/certificate-jobs?type={code}",
            w.server.base
        ))
        .bearer_auth(&w.system_a)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let job: Value = accepted.json().await.unwrap();
    let done = wait_done(
        &w.server.client,
        &w.server.base,
        &w.system_a,
        job["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (done["issued"].clone(), done["failed"].clone()),
        (json!(2), json!(1))
    );
    // Refusals at submission.
    for (content_type, body, status) in [
        (
            "application/json",
            json!({"type": code, "rows": []}).to_string(),
            422,
        ),
        ("text/csv", "holder,face\n".to_owned(), 422),
        ("text/plain", "x".to_owned(), 415),
    ] {
        let refused = w
            .server
            .client
            .post(format!(
                "{}/api/v1/certificate-jobs?type={code}",
                w.server.base
            ))
            .bearer_auth(&w.system_a)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status);
    }
    let other = w
        .server
        .client
        .post(format!("{}/api/v1/certificate-jobs", w.server.base))
        .bearer_auth(&w.system_b)
        .json(&json!({"type": code, "rows": batch_rows(1, &[])}))
        .send()
        .await
        .unwrap();
    assert_problem(other, 403, "forbidden").await;
}

#[tokio::test]
async fn a_batch_survives_sigkill_and_resumes_without_issuing_twice() {
    let w = world().await;
    let t = w.licence_type("016", "natural").await;
    let code = t["code"].as_str().unwrap().to_owned();
    let token = w.system_a.clone();
    let db = w.server.stop_keeping_db().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let start = || {
        support::Binary::command()
            .args(["serve"])
            .env("TONGBAN_DATABASE_URL", &db.url)
            .env("TONGBAN_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let client = support::client();
    let ready = |client: reqwest::Client, base: String| async move {
        for _ in 0..200 {
            if client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    };
    let mut server = start();
    ready(client.clone(), base.clone()).await;
    let total = 6000;
    let job: Value = client
        .post(format!("{base}/api/v1/certificate-jobs"))
        .bearer_auth(&token)
        .json(&json!({"type": code, "rows": batch_rows(total, &[])}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    // Killed once at least one chunk is in and before the last.
    let mut issued_at_kill = 0;
    for _ in 0..2000 {
        let state: Value = client
            .get(format!("{base}/api/v1/certificate-jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        issued_at_kill = state["issued"].as_i64().unwrap();
        if issued_at_kill > 0 {
            assert_eq!(
                state["state"], "pending",
                "the job finished before it could be killed"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert!(issued_at_kill > 0 && issued_at_kill < total as i64);
    let config = support::test_config(&db.url);
    let count = |store: tongban_store::Store| async move {
        let mut conn = store.conn().await.unwrap();
        let certificates: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ecerts")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let rows: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM ecert_job_rows WHERE state = 'issued'")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        drop(conn);
        store.close().await;
        (certificates.0, rows.0)
    };
    let (certificates, rows) = count(
        tongban_store::Store::connect(&config.database)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        certificates, rows,
        "after the kill, every certificate is its row's and no more"
    );
    assert!(rows < total as i64);

    // Restarted, the job's lease runs out and it goes on where it stopped.
    let mut server = start();
    ready(client.clone(), base.clone()).await;
    let done = wait_done(&client, &base, &token, &id).await;
    assert_eq!(done["issued"], total);
    assert_eq!(done["failed"], 0);
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let store = tongban_store::Store::connect(&config.database)
        .await
        .unwrap();
    {
        let mut conn = store.conn().await.unwrap();
        let distinct: (i64,) = sqlx::query_as(
            "SELECT COUNT(DISTINCT identifier) FROM ecert_job_rows WHERE job_id = $1 AND state = 'issued'",
        )
        .bind(&id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(distinct.0, total as i64);
        let holders: (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT holder_id) FROM ecerts")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(holders.0, total as i64, "nobody got two certificates");
    }
    assert_eq!(count(store).await, (total as i64, total as i64));
    drop(db);
}
