//! Levels of assurance through the real router: a match in the identity registry
//! raises a login to level 2 and lets identity claims flow to clients with their
//! scope; an authenticator adds a second step whose codes work once; `acr_values` and
//! essential `acr` claims ask for a step up, and a level a client requires is met or
//! refused.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::sso_world::*;
use support::totp_now;
use support::{PASSWORD, csrf_of, location, query_param, set_cookie, urlencode};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};

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
