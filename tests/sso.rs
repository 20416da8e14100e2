//! Single sign-on through the real router: authorize → login form → code → token →
//! userinfo, SSO at a second portal, and the security rules, each a test.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use support::{TestServer, csrf_of, query_param, set_cookie, totp_now};
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

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
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
        tongban_identity::identity_registry::import_csv(&mut tx, csv, Timestamp::now())
            .await
            .unwrap(),
        2
    );
    let bad = tongban_identity::identity_registry::import_csv(
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

/// Posts a form with the given cookies; no redirects followed.
async fn browser_post(
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

async fn browser_get(w: &World, path: &str, cookies: &str) -> reqwest::Response {
    w.server
        .client
        .get(format!("{}{path}", w.server.base))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
}

/// Logs in at the portal; returns the session cookie value.
async fn session_cookie(w: &World, password: &str) -> String {
    let (flow, csrf) = open_form(w, &w.portal).await;
    let response = post_login(w, &flow, Some(&csrf), password).await;
    assert_eq!(response.status(), 303);
    set_cookie(&response, "__Host-tongban-session").unwrap()
}

async fn third_party(w: &World) -> Rp {
    let mut tx = w.server.store().begin().await.unwrap();
    let new = NewClient {
        name: "News app".into(),
        confidential: true,
        redirect_uris: vec!["https://news.example.com/cb".into()],
        scopes: vec!["openid".into(), "profile".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party: false,
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Rp {
        id: client.id,
        secret: secret.unwrap(),
        redirect: "https://news.example.com/cb".into(),
    }
}

#[tokio::test]
async fn a_third_party_client_gets_consent_once_and_withdrawal_takes_it_back() {
    let w = world().await;
    let news = third_party(&w).await;
    let session = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={session}");

    let silent = browser_get(&w, &authorize_url(&news, "&prompt=none"), &cookies).await;
    assert_eq!(
        query_param(&location(&silent), "error").as_deref(),
        Some("consent_required")
    );

    // Deny first: the client hears access_denied.
    let page = browser_get(&w, &authorize_url(&news, ""), &cookies).await;
    assert_eq!(page.status(), 200);
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("News app") && html.contains("您的姓名"),
        "{html}"
    );
    let with_flow = format!("{cookies}; __Host-tongban-flow={flow}");
    let forged = browser_post(&w, "/consent", &with_flow, &[("decision", "allow")]).await;
    assert_eq!(forged.status(), 403);
    let denied = browser_post(
        &w,
        "/consent",
        &with_flow,
        &[("csrf_token", &csrf_of(&html)), ("decision", "deny")],
    )
    .await;
    assert_eq!(denied.status(), 303);
    assert_eq!(
        query_param(&location(&denied), "error").as_deref(),
        Some("access_denied")
    );

    // Allow: a code; the next request needs no page.
    let page = browser_get(&w, &authorize_url(&news, ""), &cookies).await;
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let allowed = browser_post(
        &w,
        "/consent",
        &format!("{cookies}; __Host-tongban-flow={flow}"),
        &[("csrf_token", &csrf), ("decision", "allow")],
    )
    .await;
    let code = query_param(&location(&allowed), "code").unwrap();
    let tokens: Value = redeem(&w, &news, &code).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let again = browser_get(&w, &authorize_url(&news, ""), &cookies).await;
    assert_eq!(again.status(), 303);
    assert!(query_param(&location(&again), "code").is_some());

    // The account page lists the consent; withdrawing it needs the page's token and
    // revokes the client's refresh tokens.
    let account = browser_get(&w, "/account", &cookies).await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.unwrap();
    assert!(html.contains("News app"), "{html}");
    let account_csrf = csrf_of(&html);
    let foreign = browser_post(
        &w,
        "/account/consents/withdraw",
        &cookies,
        &[("csrf_token", "not-the-token"), ("client_id", &news.id)],
    )
    .await;
    assert_eq!(foreign.status(), 403);
    let withdrawn = browser_post(
        &w,
        "/account/consents/withdraw",
        &cookies,
        &[("csrf_token", &account_csrf), ("client_id", &news.id)],
    )
    .await;
    assert_eq!(withdrawn.status(), 303);
    let refreshed = form_post(
        &w,
        "/token",
        &news,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        refreshed.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let asks_again = browser_get(&w, &authorize_url(&news, ""), &cookies).await;
    assert_eq!(asks_again.status(), 200);
    // First-party portals never ask.
    let portal = browser_get(&w, &authorize_url(&w.second, "&prompt=none"), &cookies).await;
    assert!(query_param(&location(&portal), "code").is_some());
    w.server.stop().await;
}

fn hidden_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            html[at + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_account_page_ends_sessions_and_changes_the_password() {
    let w = world().await;
    let first = session_cookie(&w, PASSWORD).await;
    let second = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={first}");
    let html = browser_get(&w, "/account", &cookies)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("当前会话") && html.contains("张三"), "{html}");
    let others = hidden_values(&html, "session_id");
    assert_eq!(others.len(), 1, "one other session: {html}");
    let csrf = csrf_of(&html);

    let ended = browser_post(
        &w,
        "/account/sessions/end",
        &cookies,
        &[("csrf_token", &csrf), ("session_id", &others[0])],
    )
    .await;
    assert_eq!(ended.status(), 303);
    let second_gone = browser_get(
        &w,
        &authorize_url(&w.portal, "&prompt=none"),
        &format!("__Host-tongban-session={second}"),
    )
    .await;
    assert_eq!(
        query_param(&location(&second_gone), "error").as_deref(),
        Some("login_required")
    );

    let change = async |current: &str, new: &str, confirm: &str| {
        browser_post(
            &w,
            "/account/password",
            &cookies,
            &[
                ("csrf_token", csrf.as_str()),
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
    };
    const NEW: &str = "rivers run east to the sea";
    assert_eq!(change("wrong password", NEW, NEW).await.status(), 401);
    assert_eq!(change(PASSWORD, NEW, "something else").await.status(), 422);
    let common = change(PASSWORD, "password123", "password123").await;
    assert_eq!(common.status(), 422);
    assert!(common.text().await.unwrap().contains("role=\"alert\""));
    let changed = change(PASSWORD, NEW, NEW).await;
    assert_eq!(changed.status(), 200);
    assert!(changed.text().await.unwrap().contains("密码已修改"));
    let (flow, form_csrf) = open_form(&w, &w.portal).await;
    assert_eq!(
        post_login(&w, &flow, Some(&form_csrf), PASSWORD)
            .await
            .status(),
        401
    );
    let _ = session_cookie(&w, NEW).await;

    // Sign out everywhere: this session too.
    let all = browser_post(
        &w,
        "/account/sessions/end-all",
        &cookies,
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(all.status(), 303);
    assert!(
        all.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("__Host-tongban-session=;"))
    );
    // Without a session the account page is the login form, which returns there.
    let login = browser_get(&w, "/account", &cookies).await;
    let flow = set_cookie(&login, "__Host-tongban-flow").unwrap();
    let login_csrf = csrf_of(&login.text().await.unwrap());
    let back = browser_post(
        &w,
        "/login",
        &format!("__Host-tongban-flow={flow}"),
        &[
            ("csrf_token", login_csrf.as_str()),
            ("identifier", "zhang.san@example.cn"),
            ("password", NEW),
        ],
    )
    .await;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), "/account");
    w.server.stop().await;
}

#[tokio::test]
async fn pages_switch_language_and_text_size() {
    let w = world().await;
    let english = w
        .server
        .get(&authorize_url(&w.portal, "&ui_locales=en-GB"))
        .await;
    let flow = set_cookie(&english, "__Host-tongban-flow").unwrap();
    let html = english.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Sign in"),
        "{html}"
    );
    assert!(html.contains("<label for=\"identifier\">"));

    let switch = w.server.get("/prefs?set=zh-large&back=/login").await;
    assert_eq!(switch.status(), 303);
    assert_eq!(location(&switch), "/login");
    let prefs = set_cookie(&switch, "__Host-tongban-prefs").unwrap();
    let again = browser_get(
        &w,
        "/login",
        &format!("__Host-tongban-flow={flow}; __Host-tongban-prefs={prefs}"),
    )
    .await;
    let html = again.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("class=\"large\""),
        "{html}"
    );

    // The switch never sends anyone off-site.
    for back in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let path = format!(
            "/prefs?{}",
            serde_urlencoded::to_string([("set", "en"), ("back", back)]).unwrap()
        );
        assert_eq!(location(&w.server.get(&path).await), "/account", "{back}");
    }
    w.server.stop().await;
}

#[tokio::test]
async fn staff_and_agents_log_in_with_their_organisation_code() {
    let w = world().await;
    let now = Timestamp::now();
    let mut tx = w.server.store().begin().await.unwrap();
    let zhang = subjects::find_by_resident_id(&mut tx, &"11010519491231002X".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let department = subjects::create_department(
        &mut tx,
        "浙江省市场监督管理局",
        "91350100M000100Y43",
        subjects::Level::Province,
        None,
        now,
    )
    .await
    .unwrap();
    subjects::add_staff(
        &mut tx,
        zhang,
        department.id,
        "ZJ-0007",
        &[subjects::Role::Issuer],
        now,
    )
    .await
    .unwrap();
    let company =
        subjects::create_legal_person(&mut tx, "某某科技有限公司", "11100000000013338W", now)
            .await
            .unwrap();
    subjects::link_agent(
        &mut tx,
        zhang,
        company,
        subjects::AgentRole::Agent,
        now,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let login = async |identifier: &str, organisation: &str| {
        let (flow, csrf) = open_form(&w, &w.portal).await;
        browser_post(
            &w,
            "/login",
            &format!("__Host-tongban-flow={flow}"),
            &[
                ("csrf_token", csrf.as_str()),
                ("identifier", identifier),
                ("organisation", organisation),
                ("password", PASSWORD),
            ],
        )
        .await
    };
    let staff = login("ZJ-0007", "91350100m000100y43").await;
    assert_eq!(staff.status(), 303);
    let code = query_param(&location(&staff), "code").unwrap();
    let claims = id_token_claims(
        &w,
        &redeem(&w, &w.portal, &code).await.json().await.unwrap(),
    )
    .await;
    assert_eq!(claims["sub"], zhang.to_string());
    assert!(claims.get("acting_for").is_none());

    let agent = login("11010519491231002X", "11100000000013338W").await;
    let code = query_param(&location(&agent), "code").unwrap();
    let claims = id_token_claims(
        &w,
        &redeem(&w, &w.portal, &code).await.json().await.unwrap(),
    )
    .await;
    assert_eq!(claims["acting_for"], company.to_string());

    // A staff number of another department, or a company they do not act for: the
    // same refusal as a wrong password.
    assert_eq!(login("ZJ-0007", "11430000006122244L").await.status(), 401);
    assert_eq!(login("ZJ-0008", "91350100M000100Y43").await.status(), 401);
    w.server.stop().await;
}

mod private_key_jwt {
    use super::*;
    use serde_json::json;
    use tongban_crypto::jose::{Jwk, sign_compact};
    use tongban_crypto::signer::{Algorithm, Signer, SoftwareKey};

    fn assertion(key: &SoftwareKey, client_id: &str, aud: &str, exp_in: i64, jti: &str) -> String {
        let now = Timestamp::now().unix_millis() / 1000;
        let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti,
                            "iat": now, "exp": now + exp_in});
        sign_compact(key, claims.to_string().as_bytes(), &serde_json::Map::new()).unwrap()
    }

    async fn with_assertion(
        w: &World,
        path: &str,
        form: &[(&str, &str)],
        jwt: &str,
    ) -> reqwest::Response {
        let mut fields = form.to_vec();
        fields.push((
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
        fields.push(("client_assertion", jwt));
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    async fn error_of(response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["error"].as_str().unwrap_or("").to_owned())
    }

    #[tokio::test]
    async fn a_client_authenticates_with_a_signed_jwt_once_per_jti() {
        let w = world().await;
        let key = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let mut tx = w.server.store().begin().await.unwrap();
        let new = NewClient {
            name: "Seal system".into(),
            confidential: true,
            scopes: vec!["seal:use".into()],
            grant_types: vec!["client_credentials".into()],
            jwks: Some(tongban_crypto::jose::Jwks {
                keys: vec![Jwk::from_public_key(key.public_key(), None)],
            }),
            ..NewClient::default()
        };
        let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(secret.is_none(), "a key-authenticated client has no secret");
        let discovery: Value = w
            .server
            .get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .unwrap();
        let issuer = discovery["issuer"].as_str().unwrap().to_owned();
        let token_endpoint = format!("{issuer}/token");
        let grant = [("grant_type", "client_credentials")];

        let jwt = assertion(&key, &client.id, &token_endpoint, 60, "a-1");
        let ok = with_assertion(&w, "/token", &grant, &jwt).await;
        assert_eq!(ok.status(), 200);
        let access: Value = ok.json().await.unwrap();
        assert_eq!(access["scope"], "seal:use");
        assert_eq!(
            error_of(with_assertion(&w, "/token", &grant, &jwt).await).await,
            (401, "invalid_client".into()),
            "a replayed assertion"
        );
        // The issuer is an accepted audience too; other audiences, lifetimes beyond
        // five minutes, expired assertions and foreign keys are not.
        let by_issuer = assertion(&key, &client.id, &issuer, 60, "a-2");
        assert_eq!(
            with_assertion(&w, "/token", &grant, &by_issuer)
                .await
                .status(),
            200
        );
        let stranger = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let refused = [
            assertion(&key, &client.id, "https://other.example/token", 60, "a-3"),
            assertion(&key, &client.id, &token_endpoint, 3600, "a-4"),
            assertion(&key, &client.id, &token_endpoint, -120, "a-5"),
            assertion(&stranger, &client.id, &token_endpoint, 60, "a-6"),
            assertion(&key, "nobody", &token_endpoint, 60, "a-7"),
        ];
        for jwt in &refused {
            assert_eq!(
                error_of(with_assertion(&w, "/token", &grant, jwt).await).await,
                (401, "invalid_client".into())
            );
        }
        let unsigned = {
            let enc =
                |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let now = Timestamp::now().unix_millis() / 1000;
            format!(
                "{}.{}.",
                enc(json!({"alg": "none"})),
                enc(
                    json!({"iss": client.id, "sub": client.id, "aud": token_endpoint,
                           "jti": "a-8", "exp": now + 60})
                )
            )
        };
        assert_eq!(
            error_of(with_assertion(&w, "/token", &grant, &unsigned).await).await,
            (401, "invalid_client".into())
        );
        // No secret works for it.
        let secret_try = w
            .server
            .client
            .post(format!("{}/token", w.server.base))
            .basic_auth(&client.id, Some("guess"))
            .form(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(secret_try.status(), 401);
        // Introspection takes an assertion addressed to it.
        let introspect = format!("{issuer}/introspect");
        let jwt = assertion(&key, &client.id, &introspect, 60, "a-9");
        let info = with_assertion(
            &w,
            "/introspect",
            &[("token", access["access_token"].as_str().unwrap())],
            &jwt,
        )
        .await;
        assert_eq!(info.json::<Value>().await.unwrap()["active"], true);
        w.server.stop().await;
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled() {
    let w = world_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let (flow, csrf) = open_form(&w, &w.portal).await;
    let attempt = async |address: &str, identifier: &str| {
        w.server
            .client
            .post(format!("{}/login", w.server.base))
            .header("cookie", format!("__Host-tongban-flow={flow}"))
            // The left entry is the client's own claim; the proxy appended the rest.
            .header("x-forwarded-for", format!("9.9.9.9, {address}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("identifier", identifier),
                ("password", "wrong password"),
            ])
            .send()
            .await
            .unwrap()
            .status()
    };
    // Many accounts from one address: that address is locked…
    let mut statuses = Vec::new();
    for i in 0..tongban_identity::throttle::ADDRESS_THRESHOLD + 2 {
        statuses.push(attempt("203.0.113.7", &format!("nobody{i}@example.cn")).await);
    }
    assert_eq!(statuses.last().copied().unwrap(), 429, "{statuses:?}");
    // …another address behind the same proxy is not.
    assert_eq!(attempt("203.0.113.8", "someone@example.cn").await, 401);
    w.server.stop().await;
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_with_state() {
    let w = world().await;
    let mut tx = w.server.store().begin().await.unwrap();
    let new = NewClient {
        name: "Portal C".into(),
        confidential: true,
        redirect_uris: vec!["https://c.example.gov.cn/cb".into()],
        post_logout_redirect_uris: vec!["https://c.example.gov.cn/bye".into()],
        scopes: vec!["openid".into(), "profile".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party: true,
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let c = Rp {
        id: client.id.clone(),
        secret: secret.unwrap(),
        redirect: "https://c.example.gov.cn/cb".into(),
    };
    let login = async || {
        let (flow, csrf) = open_form(&w, &c).await;
        let response = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
        let session = set_cookie(&response, "__Host-tongban-session").unwrap();
        let code = query_param(&location(&response), "code").unwrap();
        let tokens: Value = redeem(&w, &c, &code).await.json().await.unwrap();
        (session, tokens)
    };
    let (session, tokens) = login().await;
    let cookies = format!("__Host-tongban-session={session}");
    let hint = tokens["id_token"].as_str().unwrap();
    let logout = |extra: &str| {
        format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}{extra}",
            urlencode("https://c.example.gov.cn/bye")
        )
    };
    // An unregistered return address: a page, no redirect, still signed in.
    let wrong = browser_get(
        &w,
        &format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            urlencode("https://evil.example/")
        ),
        &cookies,
    )
    .await;
    assert_eq!(wrong.status(), 400);
    assert!(wrong.headers().get("location").is_none());
    // The hint comes from this session: out at once, back with state.
    let out = browser_get(&w, &logout("&state=s-1"), &cookies).await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "https://c.example.gov.cn/bye?state=s-1");
    assert!(
        out.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-tongban-session=;"))
    );
    let silent = browser_get(&w, &authorize_url(&c, "&prompt=none"), &cookies).await;
    assert_eq!(
        query_param(&location(&silent), "error").as_deref(),
        Some("login_required")
    );
    let refreshed = form_post(
        &w,
        "/token",
        &c,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        refreshed.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Without a hint from this session the person confirms, with the page's token.
    let (session, _) = login().await;
    let cookies = format!("__Host-tongban-session={session}");
    let ask = browser_get(
        &w,
        &format!(
            "/logout?client_id={}&post_logout_redirect_uri={}",
            c.id,
            urlencode("https://c.example.gov.cn/bye")
        ),
        &cookies,
    )
    .await;
    assert_eq!(ask.status(), 200);
    let html = ask.text().await.unwrap();
    let forged = browser_post(&w, "/logout", &cookies, &[("client_id", c.id.as_str())]).await;
    assert_eq!(forged.status(), 403);
    let confirmed = browser_post(
        &w,
        "/logout",
        &cookies,
        &[
            ("csrf_token", csrf_of(&html).as_str()),
            ("client_id", c.id.as_str()),
            ("post_logout_redirect_uri", "https://c.example.gov.cn/bye"),
        ],
    )
    .await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(location(&confirmed), "https://c.example.gov.cn/bye");
    w.server.stop().await;
}

/// The current TOTP code of a base32 `secret`.
#[tokio::test]
async fn an_authenticator_adds_a_second_step_whose_codes_work_once() {
    let w = world().await;
    let session = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={session}");
    let account = browser_get(&w, "/account", &cookies)
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&account);
    let setup = browser_post(
        &w,
        "/account/totp/enrol",
        &cookies,
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(setup.status(), 200);
    let html = setup.text().await.unwrap();
    let start = html.find("<code id=\"totp-secret\">").unwrap() + "<code id=\"totp-secret\">".len();
    let secret = html[start..].split('<').next().unwrap().to_owned();
    assert!(html.contains("otpauth://totp/Tongban:"));
    let wrong = browser_post(
        &w,
        "/account/totp/confirm",
        &cookies,
        &[("csrf_token", &csrf), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let confirmed = browser_post(
        &w,
        "/account/totp/confirm",
        &cookies,
        &[
            ("csrf_token", csrf.as_str()),
            ("code", totp_now(&secret, 0).as_str()),
        ],
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let html = confirmed.text().await.unwrap();
    let recovery: Vec<String> = html
        .match_indices("<li><code>")
        .map(|(at, m)| html[at + m.len()..].split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // Password alone no longer signs in: the second step asks for a code.
    let (flow, form_csrf) = open_form(&w, &w.portal).await;
    let step = post_login(&w, &flow, Some(&form_csrf), PASSWORD).await;
    assert_eq!(step.status(), 200);
    assert!(set_cookie(&step, "__Host-tongban-session").is_none());
    let flow_cookie = format!("__Host-tongban-flow={flow}");
    let otp = async |code: &str| {
        browser_post(
            &w,
            "/login/otp",
            &flow_cookie,
            &[("csrf_token", form_csrf.as_str()), ("code", code)],
        )
        .await
    };
    assert_eq!(otp("123456").await.status(), 401);
    // The code used to confirm the enrolment was spent: the next step's code works.
    let used = totp_now(&secret, 1);
    let signed_in = otp(&used).await;
    assert_eq!(signed_in.status(), 303, "{:?}", signed_in.text().await);
    let code = query_param(&location(&signed_in), "code").unwrap();
    let tokens: Value = redeem(&w, &w.portal, &code).await.json().await.unwrap();
    let claims = id_token_claims(&w, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The same code in another login is refused; a recovery code works once.
    let (flow, form_csrf) = open_form(&w, &w.portal).await;
    assert_eq!(
        post_login(&w, &flow, Some(&form_csrf), PASSWORD)
            .await
            .status(),
        200
    );
    let post = async |code: &str| {
        browser_post(
            &w,
            "/login/otp",
            &format!("__Host-tongban-flow={flow}"),
            &[("csrf_token", form_csrf.as_str()), ("code", code)],
        )
        .await
        .status()
    };
    assert_eq!(post(&used).await, 401, "a code works once");
    assert_eq!(post(&recovery[0]).await, 303);
    let (flow2, csrf2) = open_form(&w, &w.portal).await;
    assert_eq!(
        post_login(&w, &flow2, Some(&csrf2), PASSWORD)
            .await
            .status(),
        200
    );
    let again = browser_post(
        &w,
        "/login/otp",
        &format!("__Host-tongban-flow={flow2}"),
        &[
            ("csrf_token", csrf2.as_str()),
            ("code", recovery[0].as_str()),
        ],
    )
    .await;
    assert_eq!(again.status(), 401, "a recovery code works once");
    // Without the password step first, the second step refuses.
    let (flow3, csrf3) = open_form(&w, &w.portal).await;
    let skipped = browser_post(
        &w,
        "/login/otp",
        &format!("__Host-tongban-flow={flow3}"),
        &[
            ("csrf_token", csrf3.as_str()),
            ("code", recovery[1].as_str()),
        ],
    )
    .await;
    assert_eq!(skipped.status(), 403);
    w.server.stop().await;
}

/// A relying party's back-channel logout endpoint: records what is posted to it and
/// answers with `status`.
struct LogoutReceiver {
    uri: String,
    tokens: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn logout_receiver(status: u16) -> LogoutReceiver {
    let tokens: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = tokens.clone();
    let app = axum::Router::new().route(
        "/logout",
        axum::routing::post(
            move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                let seen = seen.clone();
                async move {
                    if let Some(token) = form.get("logout_token") {
                        seen.lock().unwrap().push(token.clone());
                    }
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    LogoutReceiver {
        uri: format!("http://{addr}/logout"),
        tokens,
    }
}

async fn register(w: &World, new: NewClient) -> Rp {
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

fn portal_client(name: &str, redirect: &str, backchannel: Option<&str>) -> NewClient {
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

/// A code at `rp` in the browser session `cookies` (single sign-on), redeemed.
async fn sso_tokens(w: &World, rp: &Rp, cookies: &str) -> Value {
    let response = browser_get(w, &authorize_url(rp, ""), cookies).await;
    assert_eq!(response.status(), 303);
    let code = query_param(&location(&response), "code").unwrap();
    redeem(w, rp, &code).await.json().await.unwrap()
}

async fn jwks(w: &World) -> Jwks {
    w.server
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn back_channel_logout_tells_every_relying_party_of_the_session() {
    let w = world().await;
    let a_rp = logout_receiver(200).await;
    let b_rp = logout_receiver(200).await;
    let down = logout_receiver(500).await;
    let a = register(
        &w,
        portal_client("Portal A+", "https://a2.example.gov.cn/cb", Some(&a_rp.uri)),
    )
    .await;
    let b = register(
        &w,
        portal_client("Portal B+", "https://b2.example.gov.cn/cb", Some(&b_rp.uri)),
    )
    .await;
    let c = register(
        &w,
        portal_client(
            "Portal down",
            "https://c2.example.gov.cn/cb",
            Some(&down.uri),
        ),
    )
    .await;
    let mut tx = w.server.store().begin().await.unwrap();
    let admin_client = NewClient {
        name: "ops".into(),
        confidential: true,
        scopes: vec!["admin".into()],
        grant_types: vec!["client_credentials".into()],
        ..NewClient::default()
    };
    let (ops, ops_secret) = clients::register(&mut tx, &admin_client, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (flow, csrf) = open_form(&w, &a).await;
    let login = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    let cookies = format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    );
    let code = query_param(&location(&login), "code").unwrap();
    let a_tokens: Value = redeem(&w, &a, &code).await.json().await.unwrap();
    let b_tokens = sso_tokens(&w, &b, &cookies).await;
    sso_tokens(&w, &c, &cookies).await;
    // A portal that took no part in the session is not told.
    let bystander_rp = logout_receiver(200).await;
    register(
        &w,
        portal_client(
            "Bystander",
            "https://d2.example.gov.cn/cb",
            Some(&bystander_rp.uri),
        ),
    )
    .await;

    let account = browser_get(&w, "/account", &cookies)
        .await
        .text()
        .await
        .unwrap();
    let out = browser_post(
        &w,
        "/account/sessions/end-all",
        &cookies,
        &[("csrf_token", &csrf_of(&account))],
    )
    .await;
    assert_eq!(out.status(), 303);

    let keys = jwks(&w).await;
    for (receiver, rp, tokens) in [(&a_rp, &a, &a_tokens), (&b_rp, &b, &b_tokens)] {
        let mut got = Vec::new();
        for _ in 0..100 {
            got = receiver.tokens.lock().unwrap().clone();
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(got.len(), 1, "one logout token for {}", rp.id);
        let verified = verify_compact(&got[0], None, &keys).expect("signed by a key in our JWKS");
        assert_eq!(verified.header["typ"], "logout+jwt");
        let claims: Value = serde_json::from_slice(&verified.payload).unwrap();
        let id_token = id_token_claims(&w, tokens).await;
        assert_eq!(claims["aud"], rp.id.as_str());
        assert_eq!(claims["sub"], id_token["sub"]);
        assert_eq!(claims["sid"], id_token["sid"]);
        assert_eq!(claims["iss"], id_token["iss"]);
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(
            claims.get("nonce").is_none(),
            "a logout token carries no nonce"
        );
        assert!(claims["jti"].is_string() && claims["iat"].is_i64());
    }
    assert!(bystander_rp.tokens.lock().unwrap().is_empty());

    // The session is over: its refresh token is refused, prompt=none needs a login.
    let refresh = w
        .server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&a.id, Some(&a.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", a_tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400);
    let silent = browser_get(&w, &authorize_url(&a, "&prompt=none"), &cookies).await;
    assert_eq!(
        query_param(&location(&silent), "error").as_deref(),
        Some("login_required")
    );

    // The relying party that answered 500 is retried, and administrators see why.
    let token: Value = w
        .server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&ops.id, Some(ops_secret.unwrap()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let mut pending = Value::Null;
    for _ in 0..100 {
        let list: Value = w
            .server
            .client
            .get(format!(
                "{}/api/v1/admin/logout-deliveries?state=pending",
                w.server.base
            ))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(entry) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["client_id"] == c.id.as_str() && d["attempts"].as_i64() >= Some(1))
        {
            pending = entry.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        pending["last_error"].as_str().unwrap().contains("500"),
        "{pending}"
    );
    assert!(!down.tokens.lock().unwrap().is_empty(), "it was tried");
    let delivered: Value = w
        .server
        .client
        .get(format!(
            "{}/api/v1/admin/logout-deliveries?state=delivered",
            w.server.base
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(delivered.as_array().unwrap().len(), 2);
    let bad = w
        .server
        .client
        .get(format!(
            "{}/api/v1/admin/logout-deliveries?state=lost",
            w.server.base
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    support::assert_problem(bad, 422, "invalid-request").await;
    w.server.stop().await;
}

#[tokio::test]
async fn pushed_authorization_requests_are_single_use_and_can_be_required() {
    let w = world().await;
    let par = |rp: &Rp, form: Vec<(&'static str, String)>| {
        let request = w
            .server
            .client
            .post(format!("{}/par", w.server.base))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&form);
        async move { request.send().await.unwrap() }
    };
    let fields = |rp: &Rp| {
        vec![
            ("response_type", "code".to_owned()),
            ("redirect_uri", rp.redirect.clone()),
            ("scope", "openid profile".to_owned()),
            ("state", "st-par".to_owned()),
            ("code_challenge", s256_challenge(VERIFIER)),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    let pushed = par(&w.portal, fields(&w.portal)).await;
    assert_eq!(pushed.status(), 201);
    let body: Value = pushed.json().await.unwrap();
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(body["expires_in"], 60);
    let authorize = format!(
        "/authorize?client_id={}&request_uri={}",
        w.portal.id,
        urlencode(&uri)
    );
    let form = w.server.get(&authorize).await;
    assert_eq!(form.status(), 200, "the login form of the pushed request");
    let flow = set_cookie(&form, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let login = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    let back = location(&login);
    assert!(
        back.starts_with(&w.portal.redirect) && back.contains("state=st-par"),
        "{back}"
    );
    assert_eq!(
        redeem(&w, &w.portal, &query_param(&back, "code").unwrap())
            .await
            .status(),
        200
    );
    // Used once; another client cannot use it either.
    assert_eq!(w.server.get(&authorize).await.status(), 400);
    let pushed: Value = par(&w.portal, fields(&w.portal))
        .await
        .json()
        .await
        .unwrap();
    let foreign = format!(
        "/authorize?client_id={}&request_uri={}",
        w.second.id,
        urlencode(pushed["request_uri"].as_str().unwrap())
    );
    assert_eq!(w.server.get(&foreign).await.status(), 400);

    // A bad request is refused when pushed; so is an unauthenticated push.
    let mut bad = fields(&w.portal);
    bad.retain(|(k, _)| *k != "code_challenge");
    let refused = par(&w.portal, bad).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let mut wrong = fields(&w.portal);
    wrong[1].1 = "https://evil.example.com/cb".into();
    assert_eq!(par(&w.portal, wrong).await.status(), 400);
    let anonymous = w
        .server
        .client
        .post(format!("{}/par", w.server.base))
        .form(&fields(&w.portal))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // client_secret_post works as at the token endpoint (RFC 9126 §2).
    let mut posted = fields(&w.portal);
    posted.push(("client_id", w.portal.id.clone()));
    posted.push(("client_secret", w.portal.secret.clone()));
    let by_post = w
        .server
        .client
        .post(format!("{}/par", w.server.base))
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(by_post.status(), 201);
    posted.pop();
    posted.push(("client_secret", "wrong".into()));
    let wrong_secret = w
        .server
        .client
        .post(format!("{}/par", w.server.base))
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);

    // A client that must push cannot be sent to /authorize directly.
    let strict = register(
        &w,
        NewClient {
            require_par: true,
            ..portal_client("Strict", "https://strict.example.gov.cn/cb", None)
        },
    )
    .await;
    let direct = w.server.get(&authorize_url(&strict, "")).await;
    assert_eq!(direct.status(), 303);
    assert_eq!(
        query_param(&location(&direct), "error").as_deref(),
        Some("invalid_request")
    );
    let pushed: Value = par(&strict, fields(&strict)).await.json().await.unwrap();
    let via_par = format!(
        "/authorize?client_id={}&request_uri={}",
        strict.id,
        urlencode(pushed["request_uri"].as_str().unwrap())
    );
    assert_eq!(w.server.get(&via_par).await.status(), 200);
    w.server.stop().await;
}

mod dpop {
    use super::*;
    use serde_json::json;
    use tongban_crypto::jose::{Jwk, sign_compact};
    use tongban_crypto::signer::{Algorithm, Signer, SoftwareKey};

    fn proof(
        key: &SoftwareKey,
        method: &str,
        url: &str,
        nonce: Option<&str>,
        ath: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": tongban_identity::secrets::random_token(16).unwrap(),
            "htm": method,
            "htu": url,
            "iat": Timestamp::now().unix_millis() / 1000,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = ath {
            let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            claims["ath"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest));
        }
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert(
            "jwk".into(),
            serde_json::to_value(Jwk::from_public_key(key.public_key(), None)).unwrap(),
        );
        sign_compact(key, claims.to_string().as_bytes(), &header).unwrap()
    }

    /// The issuer's URL of `path` (proofs name the public URL, not the test socket).
    const ISSUER: &str = "http://localhost:8080";

    #[tokio::test]
    async fn dpop_binds_tokens_to_the_key_with_nonces_and_single_use_proofs() {
        let w = world().await;
        let key = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let (flow, csrf) = open_form(&w, &w.portal).await;
        let login = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
        let code = query_param(&location(&login), "code").unwrap();
        let token_request = |proof: String| {
            w.server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret))
                .header("DPoP", proof)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", w.portal.redirect.as_str()),
                    ("code_verifier", VERIFIER),
                ])
                .send()
        };
        // Without a nonce: use_dpop_nonce and the nonce to use (the code is not spent).
        let first = token_request(proof(&key, "POST", &format!("{ISSUER}/token"), None, None))
            .await
            .unwrap();
        assert_eq!(first.status(), 400);
        let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_eq!(
            first.json::<Value>().await.unwrap()["error"],
            "use_dpop_nonce"
        );
        // For another URL: refused.
        let elsewhere = token_request(proof(
            &key,
            "POST",
            "https://other.example/token",
            Some(&nonce),
            None,
        ))
        .await
        .unwrap();
        assert_eq!(
            elsewhere.json::<Value>().await.unwrap()["error"],
            "invalid_dpop_proof"
        );
        let tokens: Value = token_request(proof(
            &key,
            "POST",
            &format!("{ISSUER}/token"),
            Some(&nonce),
            None,
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(tokens["token_type"], "DPoP", "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(access.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["cnf"]["jkt"], key.public_key().thumbprint());
        assert_eq!(claims["acr"], "urn:tongban:acr:1");
        // Introspection tells a resource server of the binding (RFC 9449 §6.2).
        let introspected: Value = w
            .server
            .client
            .post(format!("{}/introspect", w.server.base))
            .basic_auth(&w.portal.id, Some(&w.portal.secret))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["token_type"], "DPoP");
        assert_eq!(introspected["cnf"]["jkt"], key.public_key().thumbprint());
        assert_eq!(introspected["acr"], "urn:tongban:acr:1");

        let userinfo = |scheme: &str, proof: Option<String>| {
            let mut request = w
                .server
                .client
                .get(format!("{}/userinfo", w.server.base))
                .header("authorization", format!("{scheme} {access}"));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request.send()
        };
        let url = format!("{ISSUER}/userinfo");
        // The bound token without its proof, or as a bearer token: refused.
        let bare = userinfo("Bearer", None).await.unwrap();
        assert_eq!(bare.status(), 401);
        assert!(
            bare.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("DPoP")
        );
        assert_eq!(userinfo("DPoP", None).await.unwrap().status(), 401);
        // With a proof by another key: refused.
        let stranger = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let foreign = userinfo(
            "DPoP",
            Some(proof(&stranger, "GET", &url, Some(&nonce), Some(&access))),
        )
        .await
        .unwrap();
        assert_eq!(foreign.status(), 401);
        // Without ath: refused.
        assert_eq!(
            userinfo("DPoP", Some(proof(&key, "GET", &url, Some(&nonce), None)))
                .await
                .unwrap()
                .status(),
            401
        );
        let good = proof(&key, "GET", &url, Some(&nonce), Some(&access));
        let ok = userinfo("DPoP", Some(good.clone())).await.unwrap();
        assert_eq!(ok.status(), 200);
        // The same proof twice: refused.
        assert_eq!(userinfo("DPoP", Some(good)).await.unwrap().status(), 401);

        // The refresh token is bound too: only a proof by the same key uses it.
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let refresh_with = |proof: Option<String>| {
            let mut request = w
                .server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ])
                .send()
        };
        let token_url = format!("{ISSUER}/token");
        assert_eq!(refresh_with(None).await.unwrap().status(), 400);
        assert_eq!(
            refresh_with(Some(proof(
                &stranger,
                "POST",
                &token_url,
                Some(&nonce),
                None
            )))
            .await
            .unwrap()
            .status(),
            400
        );
        let rotated: Value =
            refresh_with(Some(proof(&key, "POST", &token_url, Some(&nonce), None)))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(rotated["token_type"], "DPoP", "{rotated}");

        // A code bound to a key (dpop_jkt, RFC 9449 §10) is redeemed only with a proof
        // by that key.
        let jkt = key.public_key().thumbprint();
        let cookies = format!(
            "__Host-tongban-session={}",
            set_cookie(&login, "__Host-tongban-session").unwrap()
        );
        let bound_code = || async {
            let response = browser_get(
                &w,
                &authorize_url(&w.portal, &format!("&dpop_jkt={jkt}")),
                &cookies,
            )
            .await;
            query_param(&location(&response), "code").unwrap()
        };
        let redeem_with = |code: String, proof: Option<String>| {
            let mut request = w
                .server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request
                .form(&[
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", w.portal.redirect.clone()),
                    ("code_verifier", VERIFIER.to_owned()),
                ])
                .send()
        };
        let unproven = redeem_with(bound_code().await, None).await.unwrap();
        assert_eq!(
            unproven.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
        let foreign = redeem_with(
            bound_code().await,
            Some(proof(&stranger, "POST", &token_url, Some(&nonce), None)),
        )
        .await
        .unwrap();
        assert_eq!(
            foreign.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
        let proven = redeem_with(
            bound_code().await,
            Some(proof(&key, "POST", &token_url, Some(&nonce), None)),
        )
        .await
        .unwrap();
        assert_eq!(proven.status(), 200);
        w.server.stop().await;
    }
}

#[tokio::test]
async fn third_party_clients_get_pairwise_subjects_that_userinfo_understands() {
    let w = world().await;
    let news = third_party(&w).await;
    let shop = register(
        &w,
        NewClient {
            first_party: false,
            ..portal_client("Shop", "https://shop.example.net/cb", None)
        },
    )
    .await;
    let session = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={session}");
    let mut subs = Vec::new();
    let mut sids = Vec::new();
    for rp in [&news, &shop] {
        // The consent page, in a flow of its own; allowed, it answers with a code.
        let ask = browser_get(&w, &authorize_url(rp, ""), &cookies).await;
        assert_eq!(ask.status(), 200);
        let flow = set_cookie(&ask, "__Host-tongban-flow").unwrap();
        let csrf = csrf_of(&ask.text().await.unwrap());
        let allowed = browser_post(
            &w,
            "/consent",
            &format!("{cookies}; __Host-tongban-flow={flow}"),
            &[("csrf_token", &csrf), ("decision", "allow")],
        )
        .await;
        let code = query_param(&location(&allowed), "code").unwrap();
        let tokens: Value = redeem(&w, rp, &code).await.json().await.unwrap();
        let claims = id_token_claims(&w, &tokens).await;
        let info: Value = userinfo(&w, tokens["access_token"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            info["sub"], claims["sub"],
            "userinfo speaks the client's identifier"
        );
        assert_eq!(info["name"], "张三", "and finds the person");
        subs.push(claims["sub"].as_str().unwrap().to_owned());
        sids.push(claims["sid"].as_str().unwrap().to_owned());
        // Introspecting its refresh token tells the client its own identifier only.
        let introspected: Value = w
            .server
            .client
            .post(format!("{}/introspect", w.server.base))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(&[("token", tokens["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["sub"], claims["sub"], "{introspected}");
    }
    assert_ne!(sids[0], sids[1], "nor link it through the session id");
    let portal_sub = id_token_claims(&w, &logged_in_tokens(&w).await.1).await["sub"].clone();
    assert_ne!(subs[0], subs[1], "two sectors cannot link the person");
    assert_ne!(Value::from(subs[0].clone()), portal_sub);
    assert!(
        portal_sub.as_str().unwrap().contains('-'),
        "first-party portals get the public id"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn acr_values_force_a_step_up_and_an_unmet_essential_level_is_refused() {
    let w = world().await;
    let session = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={session}");
    // The password session is level 1: asking for level 3 shows the login page again.
    let step_up = browser_get(
        &w,
        &authorize_url(&w.portal, "&acr_values=urn%3Atongban%3Aacr%3A3"),
        &cookies,
    )
    .await;
    assert_eq!(step_up.status(), 200);
    let flow = set_cookie(&step_up, "__Host-tongban-flow").unwrap();
    let page = step_up.text().await.unwrap();
    assert!(page.contains("role=\"status\""), "the page says why");
    // Voluntary: a password login still gets a code, with the level it reached.
    let login = post_login(&w, &flow, Some(&csrf_of(&page)), PASSWORD).await;
    let code = query_param(&location(&login), "code").unwrap();
    let claims = id_token_claims(
        &w,
        &redeem(&w, &w.portal, &code).await.json().await.unwrap(),
    )
    .await;
    assert_eq!(claims["acr"], "urn:tongban:acr:1");
    // Essential: the same login is refused.
    let essential =
        urlencode(r#"{"id_token":{"acr":{"essential":true,"values":["urn:tongban:acr:3"]}}}"#);
    let (flow, csrf) = {
        let form = w
            .server
            .get(&authorize_url(&w.portal, &format!("&claims={essential}")))
            .await;
        let flow = set_cookie(&form, "__Host-tongban-flow").unwrap();
        (flow, csrf_of(&form.text().await.unwrap()))
    };
    let refused = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    assert_eq!(
        query_param(&location(&refused), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    // prompt=none with a session below the level: a login is needed.
    let silent = browser_get(
        &w,
        &authorize_url(&w.portal, "&prompt=none&acr_values=urn%3Atongban%3Aacr%3A2"),
        &cookies,
    )
    .await;
    assert_eq!(
        query_param(&location(&silent), "error").as_deref(),
        Some("login_required")
    );
    // Malformed claims: invalid_request to the client.
    let bad = w.server.get(&authorize_url(&w.portal, "&claims=%7B")).await;
    assert_eq!(
        query_param(&location(&bad), "error").as_deref(),
        Some("invalid_request")
    );
    // A client registered with a minimum level refuses password logins outright.
    let strict = register(
        &w,
        NewClient {
            min_level: 3,
            ..portal_client("Sealing portal", "https://seal.example.gov.cn/cb", None)
        },
    )
    .await;
    let (flow, csrf) = open_form(&w, &strict).await;
    let refused = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    assert_eq!(
        query_param(&location(&refused), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    w.server.stop().await;
}
