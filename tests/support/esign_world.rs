//! The personal-signing world: a server at `http://localhost:8080` (passkeys need a
//! host name), departments A and B each with a system that asks people to sign (scope
//! `sign:request`) and seals (`seal:use`), a signing application (a portal with scope
//! `service`), and three people: 李四 (registry-verified, password and authenticator:
//! level-3 logins), 王五 (registry-verified, password only: level 2) and 赵六 (like 李四).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, DepartmentId, Level};

use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

use super::{PASSWORD, TestServer, csrf_of, set_cookie, totp_now};

/// The public URL (WebAuthn's origin).
pub const ORIGIN: &str = "http://localhost:8080";
/// The signing application's redirect URI.
pub const APP: &str = "https://sign-app.example.cn/cb";
/// 李四's resident ID number.
pub const LI: &str = "110105197505050121";
/// 王五's.
pub const WANG: &str = "110105198001010024";
/// 赵六's.
pub const ZHAO: &str = "110105198001010032";

/// A department and its system's token.
pub struct Department {
    pub id: DepartmentId,
    pub system: String,
    pub client_id: String,
}

/// The world.
pub struct World {
    pub server: TestServer,
    pub app: (String, String),
    pub a: Department,
    pub b: Department,
    /// Base32 authenticator secrets by resident ID number.
    pub totp: std::collections::HashMap<String, String>,
    /// Second-step codes not used yet, by resident ID number: a TOTP code passes once
    /// per 30-second step, so after the first the recovery codes serve.
    codes: std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
}

impl World {
    /// A second-step code of `resident_id` not used before.
    pub fn code(&self, resident_id: &str) -> String {
        let mut codes = self.codes.lock().unwrap();
        let left = codes
            .get_mut(resident_id)
            .expect("a person with an authenticator");
        left.pop()
            .unwrap_or_else(|| totp_now(&self.totp[resident_id], 0))
    }
}

/// A fresh world at [`ORIGIN`].
pub async fn world() -> World {
    world_on(TestServer::start_with(|c| c.public_url = ORIGIN.into()).await).await
}

/// The world on a server already started.
pub async fn world_on(server: TestServer) -> World {
    let now = Timestamp::now();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    let mut tx = server.store().begin().await.unwrap();
    let key = super::dev_totp_key();
    let mut totp = std::collections::HashMap::new();
    let mut codes = std::collections::HashMap::new();
    for id in [LI, ZHAO] {
        let (_, secret, recovery) = super::person_with_codes(&mut tx, id, &hash, Some(&key)).await;
        totp.insert(id.to_owned(), secret.unwrap());
        codes.insert(id.to_owned(), recovery);
    }
    let (_, _) = super::person_with_login(&mut tx, WANG, &hash, None).await;
    tongban_identity::identity_registry::import_csv(&mut tx, &format!("职员,{WANG}\n"), now)
        .await
        .unwrap();
    let (app, app_secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "Signing app".into(),
            confidential: true,
            redirect_uris: vec![APP.into()],
            scopes: vec!["openid".into(), "service".into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..NewClient::default()
        },
        now,
    )
    .await
    .unwrap();
    let mut departments = Vec::new();
    for (uscc, name) in [
        ("91350100M000100Y43", "浙江省市场监督管理局"),
        ("11430000006122244L", "湖南省市场监督管理局"),
    ] {
        let department =
            subjects::create_department(&mut tx, name, uscc, Level::Province, None, now)
                .await
                .unwrap();
        let (system, secret) = clients::register(
            &mut tx,
            &NewClient {
                name: format!("{name}业务系统"),
                confidential: true,
                scopes: vec![
                    "sign:request".into(),
                    "seal:use".into(),
                    "seal:manage".into(),
                ],
                grant_types: vec!["client_credentials".into()],
                department_id: Some(department.id),
                ..NewClient::default()
            },
            now,
        )
        .await
        .unwrap();
        departments.push((department.id, system.id, secret.unwrap()));
    }
    tx.commit().await.unwrap();
    let mut built = Vec::new();
    for (id, client_id, secret) in departments {
        built.push(Department {
            id,
            system: super::client_token(&server, &client_id, &secret).await,
            client_id,
        });
    }
    let b = built.pop().unwrap();
    let a = built.pop().unwrap();
    World {
        server,
        app: (app.id, app_secret.unwrap()),
        a,
        b,
        totp,
        codes: std::sync::Mutex::new(codes),
    }
}

/// Signs in at the account page with the password, and the authenticator code when
/// the person has one (level 3); returns the session cookie.
pub async fn session(w: &World, resident_id: &str) -> String {
    let page = w.server.get("/account").await;
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let flow_cookie = format!("__Host-tongban-flow={flow}");
    let post = |path: &str, form: Vec<(&str, String)>| {
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .header("cookie", &flow_cookie)
            .form(&form)
            .send()
    };
    let form = vec![
        ("csrf_token", csrf.clone()),
        ("identifier", resident_id.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let mut login = post("/login", form).await.unwrap();
    if let Some(secret) = w.totp.get(resident_id) {
        assert_eq!(login.status(), 200, "the second step");
        let _ = secret;
        let form = vec![("csrf_token", csrf.clone()), ("code", w.code(resident_id))];
        login = post("/login/otp", form).await.unwrap();
    }
    assert_eq!(login.status(), 303);
    format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    )
}

/// GET `path` as the browser with `session`.
pub async fn page(w: &World, session: &str, path: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
}

/// POST a form to `path` as the browser with `session`.
pub async fn form(
    w: &World,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .header("cookie", session)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// POST a form with one file (`multipart/form-data`, as a browser sends it) to `path`
/// as the browser with `session`: the text `fields`, then the file `(field, file name,
/// content type, bytes)`.
pub async fn upload(
    w: &World,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
    (field, file_name, content_type, bytes): (&str, &str, &str, &[u8]),
) -> reqwest::Response {
    let boundary = "----tongban-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .header("cookie", session)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The CSRF token of the person's pages (the account page's).
pub async fn csrf(w: &World, session: &str) -> String {
    let html = page(w, session, "/account").await.text().await.unwrap();
    csrf_of(&html)
}

/// Enrols the person of `session` for a signing certificate; returns the page.
pub async fn enrol(w: &World, session: &str) -> reqwest::Response {
    let csrf = csrf(w, session).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("understood", "yes"),
        ("renew", "false"),
    ];
    form(w, session, "/account/signing-certificate", &fields).await
}

/// The id of the person's newest signing certificate.
pub async fn certificate_id(w: &World, resident_id: &str) -> String {
    use sqlx::Row;
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query(
        "SELECT c.id FROM signing_certificates c JOIN subjects s ON s.id = c.subject_id \
         WHERE s.resident_id = $1 ORDER BY c.created_at DESC LIMIT 1",
    )
    .bind(resident_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get(0)
}

/// A request to `signer` with `documents` PDFs, by `token`, answered as is.
pub async fn request(
    w: &World,
    token: &str,
    signer: Value,
    documents: &[Vec<u8>],
) -> reqwest::Response {
    let documents: Vec<Value> = documents
        .iter()
        .enumerate()
        .map(|(i, pdf)| {
            json!({
                "name": format!("申请表{}.pdf", i + 1),
                "pdf": base64::engine::general_purpose::STANDARD.encode(pdf),
                "page": 1, "x": 300, "y": 80, "size": 120,
            })
        })
        .collect();
    let body = json!({
        "signer": signer,
        "purpose": "办理营业执照变更登记",
        "documents": documents,
        "deadline": Timestamp::now().unix_millis() + 3_600_000,
    });
    call(w, token, "/api/v1/signing-requests", body).await
}

/// A request to 李四 for one sample PDF by department A; its id.
pub async fn request_to_li(w: &World) -> String {
    let pdf = super::sample_pdf(2, 20_000);
    let created = request(w, &w.a.system, json!({ "id_number": LI }), &[pdf]).await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
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

/// `GET path` by `token`.
pub async fn get(w: &World, token: &str, path: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Signs request `id` on its page with the password and authenticator code.
pub async fn sign_with_secrets(
    w: &World,
    session: &str,
    resident_id: &str,
    id: &str,
) -> reqwest::Response {
    let html = page(w, session, &format!("/sign/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let code = w.code(resident_id);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("action", "sign"),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ];
    form(w, session, &format!("/sign/{id}"), &fields).await
}

/// The access token of `resident_id` at the signing application (scope `service`),
/// after a login with the password (and the second step, if they have one).
pub async fn app_token(w: &World, resident_id: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", w.app.0.as_str()),
        ("redirect_uri", APP),
        ("scope", "openid service"),
        (
            "code_challenge",
            &tongban_identity::secrets::s256_challenge(super::PKCE_VERIFIER),
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let page = w.server.get(&format!("/authorize?{query}")).await;
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let flow_cookie = format!("__Host-tongban-flow={flow}");
    let post = |path: &str, form: Vec<(&str, String)>| {
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .header("cookie", &flow_cookie)
            .form(&form)
            .send()
    };
    let form = vec![
        ("csrf_token", csrf.clone()),
        ("identifier", resident_id.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let mut login = post("/login", form).await.unwrap();
    if w.totp.contains_key(resident_id) {
        let form = vec![("csrf_token", csrf.clone()), ("code", w.code(resident_id))];
        login = post("/login/otp", form).await.unwrap();
    }
    let location = login.headers()["location"].to_str().unwrap().to_owned();
    let code = super::query_param(&location, "code").unwrap();
    let tokens: Value = w
        .server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&w.app.0, Some(&w.app.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP),
            ("code_verifier", super::PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Adds a passkey held by `phone` to the person of `cookie` (a strong session).
pub async fn add_passkey(w: &World, cookie: &str, phone: &mut SoftPasskey) {
    let csrf = csrf(w, cookie).await;
    let options = form(
        w,
        cookie,
        "/account/passkeys/options",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(options.status(), 200);
    let mut options: Value = options.json().await.unwrap();
    let ceremony = options["ceremony"].as_str().unwrap().to_owned();
    // The soft authenticator will not be asked for a resident key.
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = phone.do_registration(ORIGIN.parse().unwrap(), ccr).unwrap();
    let credential = serde_json::to_string(&credential).unwrap();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("ceremony", &ceremony),
        ("name", "手机"),
        ("credential", &credential),
    ];
    assert_eq!(
        form(w, cookie, "/account/passkeys", &fields).await.status(),
        200
    );
}

/// A request to 李四 of department A with `pdf`; its id.
pub async fn request_of(w: &World, pdf: &[u8]) -> String {
    let created = request(w, &w.a.system, json!({ "id_number": LI }), &[pdf.to_vec()]).await;
    assert_eq!(created.status(), 201);
    created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The options of a passkey approval of request `id`: (ceremony, options, CSRF token).
pub async fn options(w: &World, cookie: &str, id: &str) -> (String, Value, String) {
    let html = page(w, cookie, &format!("/sign/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"passkey-approve\""),
        "the page offers the passkey"
    );
    let csrf = csrf_of(&html);
    let answer = form(
        w,
        cookie,
        &format!("/sign/{id}/passkey/options"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), 200);
    let options: Value = answer.json().await.unwrap();
    (
        options["ceremony"].as_str().unwrap().to_owned(),
        options,
        csrf,
    )
}

pub fn assert_over(phone: &mut SoftPasskey, options: Value) -> String {
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = phone
        .do_authentication(ORIGIN.parse().unwrap(), rcr)
        .unwrap();
    serde_json::to_string(&answer).unwrap()
}

pub async fn post_approval(
    w: &World,
    cookie: &str,
    id: &str,
    csrf: &str,
    ceremony: &str,
    credential: &str,
) -> reqwest::Response {
    let fields = [
        ("csrf_token", csrf),
        ("ceremony", ceremony),
        ("credential", credential),
    ];
    form(w, cookie, &format!("/sign/{id}/passkey"), &fields).await
}
