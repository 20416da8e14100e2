//! Tokens through the real router: a code is redeemed once (a replay revokes what it
//! issued), refresh tokens rotate and their reuse revokes the family, tokens are
//! revoked and introspected, userinfo takes only our signed tokens, and a department's
//! system gets its own token by client credentials.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use serde_json::Value;
use support::sso_world::*;
use support::{PASSWORD, location, query_param};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};

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
