//! Portals and logins at them, for the tests of people acting for others (relatives,
//! counter clerks): three registered portals, a password-and-code login at one, the
//! choice of whom it is for, consent, and the token endpoint.

use base64::Engine as _;
use serde_json::Value;

use super::esign_world::{self as world, LI, WANG, World, ZHAO};
use super::{PASSWORD, PKCE_VERIFIER, csrf_of, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};

pub const PORTAL: &str = "https://portal.example.cn/cb";
pub const THIRD: &str = "https://third.example.org/cb";
pub const STRICT: &str = "https://strict.example.cn/cb";

pub struct Portals {
    /// A first-party portal that takes relatives' logins and asks for the wallet and
    /// remote signing too.
    pub portal: (String, String),
    /// A third-party portal that takes relatives' logins: consent, pairwise ids.
    pub third: (String, String),
    /// A first-party portal that does not take relatives' logins (the default).
    pub strict: (String, String),
}

pub async fn portals(w: &World) -> Portals {
    let mut tx = w.server.store().begin().await.unwrap();
    let mut register = async |name: &str, redirect: &str, first: bool, accepts: bool| {
        let new = NewClient {
            name: name.into(),
            confidential: true,
            redirect_uris: vec![redirect.into()],
            scopes: [
                "openid",
                "profile",
                "ecert:wallet",
                "service",
                "sign:request",
            ]
            .map(str::to_owned)
            .to_vec(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            first_party: first,
            accepts_delegation: accepts,
            backchannel_logout_uri: Some(format!("{redirect}/logout")),
            ..NewClient::default()
        };
        let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
            .await
            .unwrap();
        (client.id, secret.unwrap())
    };
    let portal = register("民生服务网", PORTAL, true, true).await;
    let third = register("第三方便民应用", THIRD, false, true).await;
    let strict = register("不动产登记", STRICT, true, false).await;
    // Names people can tell apart on the pages.
    for (id, name) in [(LI, "李四"), (ZHAO, "赵六"), (WANG, "王五")] {
        for table in ["subjects", "registry_entries"] {
            let sql = format!("UPDATE {table} SET name = $1 WHERE resident_id = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    Portals {
        portal,
        third,
        strict,
    }
}

/// The ids of the authorities on a relatives page (the hidden `id` fields).
pub fn authority_ids(html: &str) -> Vec<String> {
    html.split("name=\"id\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The cookies and CSRF token of a login at a portal, to go on with its pages.
pub struct Landed {
    pub flow: String,
    pub csrf: String,
    pub session: String,
}

/// Logs `resident_id` in (password and code) at `client`: where the login lands.
pub async fn login_at(
    w: &World,
    client: &str,
    redirect: &str,
    resident_id: &str,
) -> (reqwest::Response, Landed) {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid profile ecert:wallet service sign:request"),
        ("nonce", "n-0S6_WzA2Mj"),
        (
            "code_challenge",
            &tongban_identity::secrets::s256_challenge(PKCE_VERIFIER),
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let start = w.server.get(&format!("/authorize?{query}")).await;
    let flow = format!(
        "__Host-tongban-flow={}",
        set_cookie(&start, "__Host-tongban-flow").unwrap()
    );
    let csrf = csrf_of(&start.text().await.unwrap());
    let post = |path: &str, fields: Vec<(&str, String)>| {
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .header("cookie", &flow)
            .form(&fields)
            .send()
    };
    let fields = vec![
        ("csrf_token", csrf.clone()),
        ("identifier", resident_id.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let first = post("/login", fields).await.unwrap();
    assert_eq!(first.status(), 200, "the second step");
    let fields = vec![("csrf_token", csrf.clone()), ("code", w.code(resident_id))];
    let answer = post("/login/otp", fields).await.unwrap();
    let session = format!(
        "__Host-tongban-session={}",
        set_cookie(&answer, "__Host-tongban-session").unwrap()
    );
    let landed = Landed {
        flow,
        csrf,
        session,
    };
    (answer, landed)
}

/// Posts the choice of whom the login is for.
pub async fn choose(w: &World, landed: &Landed, choice: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/authorize/act", w.server.base))
        .header("cookie", format!("{}; {}", landed.flow, landed.session))
        .form(&[("csrf_token", landed.csrf.as_str()), ("choice", choice)])
        .send()
        .await
        .unwrap()
}

/// Allows the third-party portal on its consent page (in the flow of `landed`).
pub async fn allow(w: &World, landed: &Landed) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/consent", w.server.base))
        .header("cookie", format!("{}; {}", landed.flow, landed.session))
        .form(&[("csrf_token", landed.csrf.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap()
}

pub async fn redeem(w: &World, client: &(String, String), redirect: &str, code: &str) -> Value {
    w.server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The page a login landed on, which must be a page (200).
pub async fn page_of((answer, landed): (reqwest::Response, Landed)) -> (Landed, String) {
    assert_eq!(answer.status(), 200, "a page, not a redirect");
    (landed, answer.text().await.unwrap())
}

pub async fn refresh(w: &World, client: &(String, String), token: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

pub async fn wallet(w: &World, token: &str) -> reqwest::Response {
    world::get(w, token, "/api/v1/me/certificates").await
}
