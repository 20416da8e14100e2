//! Logging out through the real router: a relying party ends the session and gets
//! the person back with its state (or the person confirms, when the hint is not from
//! this session), and back-channel logout tells every relying party of the session,
//! retrying one that is down while administrators see why.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::Value;
use support::sso_world::*;
use support::{PASSWORD, csrf_of, location, query_param, set_cookie, urlencode};
use tongban_core::time::Timestamp;
use tongban_crypto::jose::{Jwks, verify_compact};
use tongban_identity::clients::{self, NewClient};

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
