//! Single sign-on through the real router: authorize → login form → code → token →
//! userinfo, SSO at a second portal, and the security rules, each a test.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use support::TestServer;
use tongban_core::time::Timestamp;
use tongban_crypto::jose::{Jwks, verify_compact};
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::secrets::s256_challenge;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson};

const PASSWORD: &str = "green mountains and blue seas";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Rp {
    id: String,
    secret: String,
    redirect: String,
}

struct World {
    server: TestServer,
    portal: Rp,
    second: Rp,
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut tongban_core::config::Config)) -> World {
    let server = TestServer::start_with(adjust).await;
    let mut tx = server.store().begin().await.unwrap();
    let person = NewNaturalPerson {
        name: "张三",
        resident_id: "11010519491231002X",
        email: Some("zhang.san@example.cn"),
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

fn authorize_url(rp: &Rp, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile&state=st-1&nonce=n-1&code_challenge={}&code_challenge_method=S256{extra}",
        rp.id,
        urlencode(&rp.redirect),
        s256_challenge(VERIFIER)
    )
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned()
        })
}

fn csrf_of(html: &str) -> String {
    let start =
        html.find("name=\"csrf_token\" value=\"").unwrap() + "name=\"csrf_token\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Opens the login form; returns (flow cookie, csrf token).
async fn open_form(w: &World, rp: &Rp) -> (String, String) {
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

async fn post_login(
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

async fn redeem(w: &World, rp: &Rp, code: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &rp.redirect),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_code_token_userinfo_then_sso_at_a_second_portal() {
    let w = world().await;
    let discovery: Value = w
        .server
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    let (flow, csrf) = open_form(&w, &w.portal).await;
    let response = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    assert_eq!(response.status(), 303);
    let session = set_cookie(&response, "__Host-tongban-session").unwrap();
    let back = location(&response);
    assert!(back.starts_with("https://a.example.gov.cn/cb?"), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(discovery["issuer"].as_str().unwrap())
    );
    let code = query_param(&back, "code").unwrap();

    let tokens = redeem(&w, &w.portal, &code).await;
    assert_eq!(tokens.status(), 200);
    assert_eq!(tokens.headers()["cache-control"], "no-store");
    let tokens: Value = tokens.json().await.unwrap();
    let claims = id_token_claims(&w, &tokens).await;
    assert_eq!(claims["aud"], w.portal.id.as_str());
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["sid"].is_string() && claims["sub"].is_string());

    let info: Value = userinfo(&w, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["name"], "张三");

    // Portal B: the session cookie alone yields a code, no form.
    let sso = w
        .server
        .client
        .get(format!("{}{}", w.server.base, authorize_url(&w.second, "")))
        .header("cookie", format!("__Host-tongban-session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sso.status(), 303);
    let code_b = query_param(&location(&sso), "code").unwrap();
    let tokens_b: Value = redeem(&w, &w.second, &code_b).await.json().await.unwrap();
    let claims_b = id_token_claims(&w, &tokens_b).await;
    assert_eq!(claims_b["sid"], claims["sid"]);
    assert_eq!(claims_b["sub"], claims["sub"]);
    w.server.stop().await;
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant() {
    let w = world().await;
    let (flow, csrf) = open_form(&w, &w.portal).await;
    let code = query_param(
        &location(&post_login(&w, &flow, Some(&csrf), PASSWORD).await),
        "code",
    )
    .unwrap();
    assert_eq!(redeem(&w, &w.portal, &code).await.status(), 200);
    let replay = redeem(&w, &w.portal, &code).await;
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    w.server.stop().await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect() {
    let w = world().await;
    let evil = Rp {
        redirect: "https://a.example.gov.cn/cb/../evil".into(),
        ..Rp {
            id: w.portal.id.clone(),
            secret: String::new(),
            redirect: String::new(),
        }
    };
    let response = w.server.get(&authorize_url(&evil, "")).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let unknown = Rp {
        id: "nobody".into(),
        secret: String::new(),
        redirect: w.portal.redirect.clone(),
    };
    let response = w.server.get(&authorize_url(&unknown, "")).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    w.server.stop().await;
}

#[tokio::test]
async fn missing_or_plain_pkce_is_refused() {
    let w = world().await;
    let base = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        w.portal.id,
        urlencode(&w.portal.redirect)
    );
    for extra in [
        "",
        "&code_challenge=abc&code_challenge_method=plain",
        &format!(
            "&code_challenge={}&code_challenge_method=plain",
            s256_challenge(VERIFIER)
        ),
    ] {
        let response = w.server.get(&format!("{base}{extra}")).await;
        assert_eq!(response.status(), 303, "{extra}");
        let back = location(&response);
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("invalid_request"),
            "{back}"
        );
        assert_eq!(query_param(&back, "state").as_deref(), Some("s"));
    }
    w.server.stop().await;
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_403() {
    let w = world().await;
    let (flow, _) = open_form(&w, &w.portal).await;
    assert_eq!(post_login(&w, &flow, None, PASSWORD).await.status(), 403);
    assert_eq!(
        post_login(&w, &flow, Some("forged"), PASSWORD)
            .await
            .status(),
        403
    );
    w.server.stop().await;
}

#[tokio::test]
async fn repeated_wrong_passwords_get_429_with_retry_after() {
    let w = world().await;
    let (flow, csrf) = open_form(&w, &w.portal).await;
    for _ in 0..5 {
        assert_eq!(
            post_login(&w, &flow, Some(&csrf), "wrong password")
                .await
                .status(),
            401
        );
    }
    let locked = post_login(&w, &flow, Some(&csrf), "wrong password").await;
    assert_eq!(locked.status(), 401, "the 6th failure sets the lock");
    let locked = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    assert_eq!(
        locked.status(),
        429,
        "even the right password waits out the lock"
    );
    assert!(
        locked.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    w.server.stop().await;
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let w = world().await;
    let response = w
        .server
        .get(&authorize_url(&w.portal, "&prompt=none"))
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
    w.server.stop().await;
}

#[tokio::test]
async fn userinfo_refuses_unsigned_and_foreign_tokens() {
    let w = world().await;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"at+jwt"}"#),
        b64(r#"{"sub":"x"}"#)
    );
    let key = tongban_crypto::SoftwareKey::ephemeral(tongban_crypto::Algorithm::Es256).unwrap();
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "at+jwt".into());
    let foreign = tongban_crypto::jose::sign_compact(&key, br#"{"sub":"x"}"#, &header).unwrap();
    for token in [none.as_str(), foreign.as_str(), "garbage"] {
        let response = userinfo(&w, token).await;
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
    }
    w.server.stop().await;
}

async fn form_post(w: &World, path: &str, rp: &Rp, form: &[(&str, &str)]) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn logged_in_tokens(w: &World) -> (String, Value) {
    let (flow, csrf) = open_form(w, &w.portal).await;
    let code = query_param(
        &location(&post_login(w, &flow, Some(&csrf), PASSWORD).await),
        "code",
    )
    .unwrap();
    let tokens: Value = redeem(w, &w.portal, &code).await.json().await.unwrap();
    (code, tokens)
}

async fn userinfo_status(w: &World, access_token: &str) -> u16 {
    userinfo(w, access_token).await.status().as_u16()
}

/// `GET /userinfo` with a bearer token.
async fn userinfo(w: &World, access_token: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}/userinfo", w.server.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// The claims of the ID token in a token response, verified with the published JWKS.
async fn id_token_claims(w: &World, tokens: &Value) -> Value {
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

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let w = world().await;
    let (_, tokens) = logged_in_tokens(&w).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let rotated: Value = form_post(
        &w,
        "/token",
        &w.portal,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    )
    .await
    .json()
    .await
    .unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        userinfo_status(&w, rotated["access_token"].as_str().unwrap()).await,
        200
    );
    // The first token again: theft. Refused, and the whole family with it.
    let reuse = form_post(
        &w,
        "/token",
        &w.portal,
        &[("grant_type", "refresh_token"), ("refresh_token", &first)],
    )
    .await;
    assert_eq!(reuse.status(), 400);
    assert_eq!(
        reuse.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let after = form_post(
        &w,
        "/token",
        &w.portal,
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    )
    .await;
    assert_eq!(
        after.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // Another client cannot use this client's token either.
    let (_, tokens) = logged_in_tokens(&w).await;
    let theirs = tokens["refresh_token"].as_str().unwrap();
    let foreign = form_post(
        &w,
        "/token",
        &w.second,
        &[("grant_type", "refresh_token"), ("refresh_token", theirs)],
    )
    .await;
    assert_eq!(
        foreign.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_it_issued() {
    let w = world().await;
    let (code, tokens) = logged_in_tokens(&w).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&w, access).await, 200);
    assert_eq!(redeem(&w, &w.portal, &code).await.status(), 400);
    assert_eq!(userinfo_status(&w, access).await, 401);
    let introspected: Value = form_post(&w, "/introspect", &w.portal, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false);
    let refresh = form_post(
        &w,
        "/token",
        &w.portal,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        refresh.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn revocation_and_introspection() {
    let w = world().await;
    let (_, tokens) = logged_in_tokens(&w).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let active: Value = form_post(&w, "/introspect", &w.portal, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], w.portal.id.as_str());
    let active: Value = form_post(&w, "/introspect", &w.portal, &[("token", refresh)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(
        form_post(&w, "/revoke", &w.portal, &[("token", refresh)])
            .await
            .status(),
        200
    );
    assert_eq!(
        form_post(&w, "/revoke", &w.portal, &[("token", access)])
            .await
            .status(),
        200
    );
    for token in [access, refresh, "not a token"] {
        let inactive: Value = form_post(&w, "/introspect", &w.portal, &[("token", token)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(inactive["active"], false, "{token}");
    }
    assert_eq!(userinfo_status(&w, access).await, 401);
    // Wrong client credentials are invalid_client.
    let bad = Rp {
        id: w.portal.id.clone(),
        secret: "wrong".into(),
        redirect: String::new(),
    };
    assert_eq!(
        form_post(&w, "/introspect", &bad, &[("token", access)])
            .await
            .status(),
        401
    );
    w.server.stop().await;
}

#[tokio::test]
async fn client_credentials_for_a_department_system() {
    let w = world().await;
    let mut tx = w.server.store().begin().await.unwrap();
    let new = NewClient {
        name: "Licence system".into(),
        confidential: true,
        scopes: vec!["ecert:issue".into()],
        grant_types: vec!["client_credentials".into()],
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let system = Rp {
        id: client.id.clone(),
        secret: secret.unwrap(),
        redirect: String::new(),
    };
    let response = form_post(
        &w,
        "/token",
        &system,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "ecert:issue"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert!(tokens.get("refresh_token").is_none() && tokens.get("id_token").is_none());
    let introspected: Value = form_post(
        &w,
        "/introspect",
        &system,
        &[("token", tokens["access_token"].as_str().unwrap())],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(introspected["sub"], client.id.as_str());
    assert_eq!(introspected["scope"], "ecert:issue");
    let beyond = form_post(
        &w,
        "/token",
        &system,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(
        beyond.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    // The cached lookup refuses like the uncached one: a wrong secret, an unknown id.
    for (id, secret) in [(system.id.as_str(), "wrong"), ("nobody", "x")] {
        let caller = Rp {
            id: id.into(),
            secret: secret.into(),
            redirect: String::new(),
        };
        let refused = form_post(
            &w,
            "/token",
            &caller,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(refused.status(), 401, "{id}");
        assert_eq!(
            refused.json::<Value>().await.unwrap()["error"],
            "invalid_client"
        );
    }
    // A portal may not use the grant it was not given.
    let portal = form_post(
        &w,
        "/token",
        &w.portal,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        portal.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn registry_match_raises_assurance_and_identity_claims_need_their_scope() {
    let w = world().await;
    let mut tx = w.server.store().begin().await.unwrap();
    let csv = "name,resident_id\n张三,11010519491231002X\n王五,440308199901011234\n";
    assert_eq!(
        tongban_identity::registry::import_csv(&mut tx, csv, Timestamp::now())
            .await
            .unwrap(),
        2
    );
    let bad = tongban_identity::registry::import_csv(
        &mut tx,
        "赵六,110105194912310021\n",
        Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().starts_with("line 1: resident_id"), "{bad}");
    let new = NewClient {
        name: "Bank KYC".into(),
        confidential: true,
        redirect_uris: vec!["https://bank.example.cn/cb".into()],
        scopes: vec!["openid".into(), "tongban:identity".into()],
        grant_types: vec!["authorization_code".into()],
        first_party: true,
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let bank = Rp {
        id: client.id,
        secret: secret.unwrap(),
        redirect: "https://bank.example.cn/cb".into(),
    };

    // Portal A may not ask for identity numbers.
    let refused = w
        .server
        .get(&authorize_url(&w.portal, "").replace(
            "scope=openid%20profile",
            "scope=openid%20tongban%3Aidentity",
        ))
        .await;
    assert_eq!(
        query_param(&location(&refused), "error").as_deref(),
        Some("invalid_scope")
    );

    let url = authorize_url(&bank, "").replace(
        "scope=openid%20profile",
        "scope=openid%20tongban%3Aidentity",
    );
    let response = w.server.get(&url).await;
    let flow = set_cookie(&response, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&response.text().await.unwrap());
    let code = query_param(
        &location(&post_login(&w, &flow, Some(&csrf), PASSWORD).await),
        "code",
    )
    .unwrap();
    let tokens: Value = redeem(&w, &bank, &code).await.json().await.unwrap();
    let claims = id_token_claims(&w, &tokens).await;
    assert_eq!(claims["acr"], "urn:tongban:acr:2");
    let info: Value = userinfo(&w, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["resident_id"], "11010519491231002X");
    assert_eq!(info["assurance_level"], 2);
    w.server.stop().await;
}

#[tokio::test]
async fn without_a_registry_match_the_level_stays_1_and_no_identity_claims_flow() {
    let w = world().await;
    let (_, tokens) = logged_in_tokens(&w).await;
    let claims = id_token_claims(&w, &tokens).await;
    assert_eq!(claims["acr"], "urn:tongban:acr:1");
    let info: Value = userinfo(&w, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(info.get("resident_id").is_none(), "{info}");
    assert_eq!(info["name"], "张三");
    w.server.stop().await;
}

#[tokio::test]
async fn concurrent_logins_and_token_requests_on_a_tiny_pool_all_succeed() {
    // Two connections for eight concurrent logins: a request that held one connection
    // while waiting for a second would starve the pool (503 after the timeout).
    let w = Arc::new(world_with(|c| c.database.max_connections = 2).await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move {
                let (_, tokens) = logged_in_tokens(&w).await;
                assert!(tokens["access_token"].is_string(), "{tokens}");
                let refreshed = form_post(
                    &w,
                    "/token",
                    &w.portal,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                    ],
                )
                .await;
                assert_eq!(refreshed.status(), 200);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}
