//! The single-sign-on world: a server with one person (张三, a password, an e-mail
//! address) and two first-party portals, and the relying party's and the browser's side
//! of each step — the authorization URL, the login form, the code's redemption, the ID
//! token's claims, userinfo, and requests with a browser's cookies.

use std::sync::Arc;

use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::jose::{Jwks, verify_compact};
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::secrets::s256_challenge;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson};

use super::{
    PASSWORD, PKCE_VERIFIER, TestServer, csrf_of, location, query_param, set_cookie, urlencode,
};

/// A registered relying party: client id, secret, redirect URI.
pub struct Rp {
    pub id: String,
    pub secret: String,
    pub redirect: String,
}

/// The server and its two first-party portals.
pub struct World {
    pub server: TestServer,
    pub portal: Rp,
    pub second: Rp,
}

/// A fresh server with 张三 and portals A and B.
pub async fn world() -> World {
    world_with(|_| {}).await
}

/// Like [`world`], with the configuration changed by `adjust`.
pub async fn world_with(adjust: impl FnOnce(&mut tongban_core::config::Config)) -> World {
    let server = TestServer::start_with(adjust).await;
    let mut tx = server.store().begin().await.unwrap();
    let person = NewNaturalPerson {
        name: "张三",
        resident_id: "11010519491231002X",
        email: Some("zhang.san@example.cn"),
        phone: None,
    };
    let zhang = subjects::create_natural_person(&mut tx, &person, Timestamp::now())
        .await
        .unwrap();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    sso::set_password_hash(&mut tx, zhang, &hash).await.unwrap();
    let mut register = async |name: &str, redirect: &str| {
        let new = NewClient {
            name: name.into(),
            confidential: true,
            redirect_uris: vec![redirect.into()],
            scopes: vec!["openid".into(), "profile".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            first_party: true,
            ..NewClient::default()
        };
        let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
            .await
            .unwrap();
        Rp {
            id: client.id,
            secret: secret.unwrap(),
            redirect: redirect.into(),
        }
    };
    let portal = register("Portal A", "https://a.example.gov.cn/cb").await;
    let second = register("Portal B", "https://b.example.gov.cn/cb").await;
    tx.commit().await.unwrap();
    World {
        server,
        portal,
        second,
    }
}

/// The authorization request of `rp` (code, PKCE, state `st-1`, nonce `n-1`) plus
/// `extra` query parameters.
pub fn authorize_url(rp: &Rp, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile&state=st-1&nonce=n-1&code_challenge={}&code_challenge_method=S256{extra}",
        rp.id,
        urlencode(&rp.redirect),
        s256_challenge(PKCE_VERIFIER)
    )
}

/// Opens the login form; returns (flow cookie, csrf token).
pub async fn open_form(w: &World, rp: &Rp) -> (String, String) {
    let response = w.server.get(&authorize_url(rp, "")).await;
    assert_eq!(response.status(), 200);
    let flow = set_cookie(&response, "__Host-tongban-flow").unwrap();
    let cookie_line = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .next()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie_line.contains("Secure")
            && cookie_line.contains("HttpOnly")
            && cookie_line.contains("SameSite=Lax")
    );
    (flow, csrf_of(&response.text().await.unwrap()))
}

/// Posts 张三's resident ID and `password` to the login form of flow `flow`.
pub async fn post_login(
    w: &World,
    flow: &str,
    csrf: Option<&str>,
    password: &str,
) -> reqwest::Response {
    let mut form = vec![("identifier", "11010519491231002x"), ("password", password)];
    if let Some(csrf) = csrf {
        form.push(("csrf_token", csrf));
    }
    w.server
        .client
        .post(format!("{}/login", w.server.base))
        .header("cookie", format!("__Host-tongban-flow={flow}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Redeems `code` at the token endpoint as `rp`.
pub async fn redeem(w: &World, rp: &Rp, code: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &rp.redirect),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap()
}

/// Posts a form to `path` with `rp`'s client credentials.
pub async fn form_post(w: &World, path: &str, rp: &Rp, form: &[(&str, &str)]) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Logs 张三 in at portal A; returns the code and the token response.
pub async fn logged_in_tokens(w: &World) -> (String, Value) {
    let (flow, csrf) = open_form(w, &w.portal).await;
    let code = query_param(
        &location(&post_login(w, &flow, Some(&csrf), PASSWORD).await),
        "code",
    )
    .unwrap();
    let tokens: Value = redeem(w, &w.portal, &code).await.json().await.unwrap();
    (code, tokens)
}

/// The status of `GET /userinfo` with a bearer token.
pub async fn userinfo_status(w: &World, access_token: &str) -> u16 {
    userinfo(w, access_token).await.status().as_u16()
}

/// `GET /userinfo` with a bearer token.
pub async fn userinfo(w: &World, access_token: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}/userinfo", w.server.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// The claims of the ID token in a token response, verified with the published JWKS.
pub async fn id_token_claims(w: &World, tokens: &Value) -> Value {
    let jwks: Jwks = w
        .server
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let id_token = verify_compact(tokens["id_token"].as_str().unwrap(), None, &jwks).unwrap();
    serde_json::from_slice(&id_token.payload).unwrap()
}

/// Posts a form with the given cookies; no redirects followed.
pub async fn browser_post(
    w: &World,
    path: &str,
    cookies: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .header("cookie", cookies)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// `GET path` with the given cookies; no redirects followed.
pub async fn browser_get(w: &World, path: &str, cookies: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
}

/// Logs in at the portal; returns the session cookie value.
pub async fn session_cookie(w: &World, password: &str) -> String {
    let (flow, csrf) = open_form(w, &w.portal).await;
    let response = post_login(w, &flow, Some(&csrf), password).await;
    assert_eq!(response.status(), 303);
    set_cookie(&response, "__Host-tongban-session").unwrap()
}

/// Registers a client; its first redirect URI is the one it uses.
pub async fn register(w: &World, new: NewClient) -> Rp {
    let redirect = new.redirect_uris[0].clone();
    let mut tx = w.server.store().begin().await.unwrap();
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Rp {
        id: client.id,
        secret: secret.unwrap(),
        redirect,
    }
}

/// A first-party portal's registration, with a back-channel logout URI if given.
pub fn portal_client(name: &str, redirect: &str, backchannel: Option<&str>) -> NewClient {
    NewClient {
        name: name.into(),
        confidential: true,
        redirect_uris: vec![redirect.into()],
        scopes: vec!["openid".into(), "profile".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party: true,
        backchannel_logout_uri: backchannel.map(str::to_owned),
        ..NewClient::default()
    }
}
