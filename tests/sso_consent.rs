//! Third-party clients through the real router: the person consents once, can
//! withdraw the consent from the account page (which revokes the client's tokens), and
//! each third party sees its own pairwise subject, which userinfo and introspection
//! understand.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::sso_world::*;
use support::{PASSWORD, csrf_of, location, query_param, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};

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
