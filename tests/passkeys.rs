//! Passkeys through the real router with webauthn-authenticator-rs soft authenticators:
//! enrolment on the account page, usernameless login at a portal (ID token with `hwk`
//! or `swk` and level 3), and the refusals: another origin, a spent ceremony, a
//! cloned authenticator whose counter goes backwards.
//!
//! The soft authenticators cannot store discoverable credentials, so the test plays
//! the part a browser's platform authenticator plays: it keeps the user handle from
//! enrolment and names the credential when asked for an assertion. What the server
//! sees is what a discoverable authenticator sends: an empty allow list in the
//! options, a user handle in the answer. Chromium's virtual authenticator does the
//! real discoverable ceremony in `tests/interop/browser.mjs`.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, query_param, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::secrets::s256_challenge;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

const PASSWORD: &str = "green mountains and blue seas";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const ORIGIN: &str = "http://localhost:8080";
const PORTAL: &str = "https://portal.example.gov.cn/cb";

struct World {
    server: TestServer,
    portal: (String, String),
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut tongban_core::config::Config)) -> World {
    let server = TestServer::start_with(|c| {
        c.public_url = ORIGIN.into();
        adjust(c);
    })
    .await;
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
    // 张三 is also on the staff of a department.
    let department = subjects::create_department(
        &mut tx,
        "浙江省市场监督管理局",
        "91350100M000100Y43",
        subjects::Level::Province,
        None,
        Timestamp::now(),
    )
    .await
    .unwrap();
    subjects::add_staff(
        &mut tx,
        zhang,
        department.id,
        "S-1",
        &[subjects::Role::Issuer],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tongban_identity::identity_registry::import_csv(
        &mut tx,
        "张三,11010519491231002X\n",
        Timestamp::now(),
    )
    .await
    .unwrap();
    let new = NewClient {
        name: "Portal".into(),
        confidential: true,
        redirect_uris: vec![PORTAL.into()],
        scopes: vec!["openid".into()],
        grant_types: vec!["authorization_code".into()],
        first_party: true,
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    World {
        server,
        portal: (client.id, secret.unwrap()),
    }
}

fn form_post(
    w: &World,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    w.server
        .client
        .post(format!("{}{path}", w.server.base))
        .header("cookie", cookie)
        .form(form)
}

/// Signs in with the password through the account page; returns the session cookie.
async fn password_session(w: &World) -> String {
    support::account_session(&w.server, "11010519491231002X", PASSWORD).await
}

/// Enrols a passkey with `authenticator`; returns the user handle (base64url) the
/// server gave it, as a discoverable authenticator would keep it.
async fn enrol(
    w: &World,
    session: &str,
    authenticator: &mut impl WebauthnAuthenticator,
    name: &str,
) -> String {
    let page = account_page(w, session).await;
    assert!(
        page.contains("id=\"passkey-enrol\""),
        "the account page offers passkeys"
    );
    let csrf = csrf_of(&page);
    let options = form_post(
        w,
        "/account/passkeys/options",
        session,
        &[("csrf_token", &csrf)],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(options.status(), 200);
    let mut options: Value = options.json().await.unwrap();
    let ceremony = options["ceremony"].as_str().unwrap().to_owned();
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    assert_eq!(
        selection["residentKey"], "required",
        "a discoverable credential is asked for"
    );
    assert_eq!(selection["userVerification"], "required");
    // The soft authenticator refuses to be asked for a resident key (see the top).
    selection["requireResidentKey"] = json!(false);
    let user_handle = options["publicKey"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = authenticator
        .do_registration(ORIGIN.parse().unwrap(), ccr)
        .unwrap();
    let added = form_post(
        w,
        "/account/passkeys",
        session,
        &[
            ("csrf_token", &csrf),
            ("ceremony", &ceremony),
            ("name", name),
            ("credential", &serde_json::to_string(&credential).unwrap()),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(added.status(), 200);
    let page = added.text().await.unwrap();
    assert!(page.contains(name), "the new passkey is listed");
    user_handle
}

/// The account page as the browser with `session` sees it.
async fn account_page(w: &World, session: &str) -> String {
    w.server
        .client
        .get(format!("{}/account", w.server.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A login flow at the portal: (flow cookie, CSRF token).
async fn portal_flow(w: &World) -> (String, String) {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", w.portal.0.as_str()),
        ("redirect_uri", PORTAL),
        ("scope", "openid"),
        ("nonce", "n-1"),
        ("code_challenge", &s256_challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let page = w.server.get(&format!("/authorize?{query}")).await;
    assert_eq!(page.status(), 200);
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"passkey-login\""),
        "the login page offers a passkey"
    );
    (flow, csrf_of(&html))
}

/// Asks for login options in the flow; returns the ceremony and the options.
async fn login_options(w: &World, flow: &str, csrf: &str) -> (String, Value) {
    let response = form_post(
        w,
        "/login/passkey/options",
        &format!("__Host-tongban-flow={flow}"),
        &[("csrf_token", csrf)],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let options: Value = response.json().await.unwrap();
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        json!([]),
        "usernameless: no credentials listed"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    (options["ceremony"].as_str().unwrap().to_owned(), options)
}

/// The authenticator's assertion for `options`, at `origin`, as a discoverable
/// authenticator holding `credential_id` for `user_handle` answers it.
fn assert_with(
    authenticator: &mut impl WebauthnAuthenticator,
    origin: &str,
    mut options: Value,
    credential_id: &str,
    user_handle: &str,
) -> Result<Value, String> {
    options["publicKey"]["allowCredentials"] =
        json!([{ "type": "public-key", "id": credential_id }]);
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = authenticator
        .do_authentication(origin.parse().unwrap(), rcr)
        .map_err(|e| format!("{e:?}"))?;
    let mut answer = serde_json::to_value(answer).unwrap();
    answer["response"]["userHandle"] = json!(user_handle);
    Ok(answer)
}

async fn post_assertion(
    w: &World,
    flow: &str,
    csrf: &str,
    ceremony: &str,
    answer: &Value,
) -> reqwest::Response {
    form_post(
        w,
        "/login/passkey",
        &format!("__Host-tongban-flow={flow}"),
        &[
            ("csrf_token", csrf),
            ("ceremony", ceremony),
            ("credential", &answer.to_string()),
        ],
    )
    .send()
    .await
    .unwrap()
}

async fn credential_id(w: &World) -> String {
    use sqlx::Row;
    let mut conn = w.server.store().conn().await.unwrap();
    let row = sqlx::query("SELECT credential_id FROM passkeys ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    row.get(0)
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn enrol_then_log_in_without_a_username_at_level_3() {
    let w = world().await;
    let session = password_session(&w).await;
    let mut phone = SoftPasskey::new(true);
    let handle = enrol(&w, &session, &mut phone, "我的手机").await;
    let id = credential_id(&w).await;

    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut phone, ORIGIN, options, &id, &handle).unwrap();
    let login = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    assert_eq!(login.status(), 303);
    let passkey_session = format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    );
    let location = login.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(PORTAL), "{location}");
    let code = query_param(&location, "code").unwrap();
    let tokens: Value = w
        .server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(&w.portal.0, Some(&w.portal.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    let amr: Vec<&str> = id_token["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(amr.contains(&"hwk") || amr.contains(&"swk"), "{amr:?}");
    assert!(!amr.contains(&"pwd"), "no password was used: {amr:?}");
    assert_eq!(id_token["acr"], "urn:tongban:acr:3");

    // The ceremony is spent: the same answer again is refused.
    let replay = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    assert_eq!(replay.status(), 403);

    // The account page lists it with its last use; removing it takes it away.
    let page = account_page(&w, &session).await;
    assert!(page.contains("我的手机"));
    // Now that a passkey exists, a password session can neither add another nor
    // remove one: a stolen password must not buy a level-3 login.
    let csrf = csrf_of(&page);
    let more = form_post(
        &w,
        "/account/passkeys/options",
        &session,
        &[("csrf_token", &csrf)],
    )
    .send()
    .await
    .unwrap();
    support::assert_problem(more, 403, "forbidden").await;
    let refused = form_post(
        &w,
        "/account/passkeys/remove",
        &session,
        &[("csrf_token", &csrf), ("credential_id", &id)],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 403);
    let totp = form_post(
        &w,
        "/account/totp/enrol",
        &session,
        &[("csrf_token", &csrf)],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(totp.status(), 403, "nor set up an authenticator");
    // The passkey's own session can.
    let page = account_page(&w, &passkey_session).await;
    let removed = form_post(
        &w,
        "/account/passkeys/remove",
        &passkey_session,
        &[("csrf_token", &csrf_of(&page)), ("credential_id", &id)],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(removed.status(), 303);
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut phone, ORIGIN, options, &id, &handle).unwrap();
    let refused = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    assert_eq!(
        refused.status(),
        401,
        "a removed passkey no longer signs in"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn an_assertion_for_another_origin_is_rejected() {
    let w = world().await;
    let session = password_session(&w).await;
    let mut phone = SoftPasskey::new(true);
    let handle = enrol(&w, &session, &mut phone, "phone").await;
    let id = credential_id(&w).await;
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    // A phishing site on another port of the same host name relays our options.
    let answer = assert_with(&mut phone, "http://localhost:9443", options, &id, &handle).unwrap();
    let login = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    assert_eq!(login.status(), 401);
    assert!(
        set_cookie(&login, "__Host-tongban-session").is_none(),
        "no session"
    );
    assert!(login.text().await.unwrap().contains("role=\"alert\""));
    // Garbage in place of a credential is refused the same way, never a 500.
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, _) = login_options(&w, &flow, &csrf).await;
    let garbage = post_assertion(&w, &flow, &csrf, &ceremony, &json!({"id": 1})).await;
    assert_eq!(garbage.status(), 401);
    // Options need the flow's CSRF token.
    let foreign = form_post(
        &w,
        "/login/passkey/options",
        &format!("__Host-tongban-flow={flow}"),
        &[("csrf_token", "forged")],
    )
    .send()
    .await
    .unwrap();
    support::assert_problem(foreign, 403, "forbidden").await;
    w.server.stop().await;
}

#[tokio::test]
async fn a_cloned_authenticator_is_caught_by_its_counter() {
    let w = world().await;
    let session = password_session(&w).await;
    let (mut original, _) = SoftToken::new(true).unwrap();
    let handle = enrol(&w, &session, &mut original, "key").await;
    let id = credential_id(&w).await;
    // An attacker copies the authenticator's whole state, counter included.
    let mut clone = SoftToken::from_cbor(&original.to_cbor().unwrap()).unwrap();

    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut original, ORIGIN, options, &id, &handle).unwrap();
    assert_eq!(
        post_assertion(&w, &flow, &csrf, &ceremony, &answer)
            .await
            .status(),
        303
    );

    // The clone signs with the counter the original already used.
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut clone, ORIGIN, options, &id, &handle).unwrap();
    let refused = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    assert_eq!(refused.status(), 401);
    assert!(set_cookie(&refused, "__Host-tongban-session").is_none());
    w.server.stop().await;
}

#[tokio::test]
async fn enrolment_needs_the_session_and_its_csrf_token() {
    let w = world().await;
    let no_session = form_post(&w, "/account/passkeys/options", "", &[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    support::assert_problem(no_session, 403, "forbidden").await;
    let session = password_session(&w).await;
    let forged = form_post(
        &w,
        "/account/passkeys/options",
        &session,
        &[("csrf_token", "forged")],
    )
    .send()
    .await
    .unwrap();
    support::assert_problem(forged, 403, "forbidden").await;
    // An answer for no ceremony of ours.
    let page = account_page(&w, &session).await;
    let bogus = form_post(
        &w,
        "/account/passkeys",
        &session,
        &[
            ("csrf_token", &csrf_of(&page)),
            ("ceremony", "nope"),
            ("name", "x"),
            ("credential", "{}"),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(bogus.status(), 401, "an unparseable credential");
    w.server.stop().await;
}

#[tokio::test]
async fn under_the_staff_passkey_policy_a_password_only_reaches_the_account_page() {
    let w = world_with(|c| c.auth.staff_passkeys_required = true).await;
    // A password login at the portal: signed in, but the portal is told why not.
    let (flow, csrf) = portal_flow(&w).await;
    let login = form_post(
        &w,
        "/login",
        &format!("__Host-tongban-flow={flow}"),
        &[
            ("csrf_token", &csrf),
            ("identifier", "11010519491231002X"),
            ("password", PASSWORD),
        ],
    )
    .send()
    .await
    .unwrap();
    let location = login.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("unmet_authentication_requirements"),
        "{location}"
    );
    assert!(query_param(&location, "code").is_none());
    let session = format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    );
    // That session does not sign in at the portal either: the login page again.
    let query = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        w.portal.0,
        serde_urlencoded::to_string([("v", PORTAL)]).unwrap()[2..].to_owned(),
        s256_challenge(VERIFIER)
    );
    let sso = w
        .server
        .client
        .get(format!("{}{query}", w.server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(sso.status(), 200, "the login page, not a code");
    // It does open the account page, where the passkey is added; then the portal works.
    let mut phone = SoftPasskey::new(true);
    let handle = enrol(&w, &session, &mut phone, "工作手机").await;
    let id = credential_id(&w).await;
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut phone, ORIGIN, options, &id, &handle).unwrap();
    let login = post_assertion(&w, &flow, &csrf, &ceremony, &answer).await;
    let location = login.headers()["location"].to_str().unwrap().to_owned();
    assert!(query_param(&location, "code").is_some(), "{location}");
    w.server.stop().await;
}

#[tokio::test]
async fn an_administrators_password_reset_removes_the_passkeys() {
    let w = world().await;
    let session = password_session(&w).await;
    let mut phone = SoftPasskey::new(true);
    let handle = enrol(&w, &session, &mut phone, "phone").await;
    let id = credential_id(&w).await;
    let admin = tongban_identity::caller::Caller {
        subject: "ops".into(),
        client_id: "ops".into(),
        scopes: vec!["admin".into()],
        request_id: None,
        delegation: None,
        acr: None,
    }
    .admin()
    .unwrap();
    let person: tongban_identity::subjects::SubjectId = {
        use sqlx::Row;
        let mut conn = w.server.store().conn().await.unwrap();
        let row = sqlx::query("SELECT subject_id FROM passkeys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        row.get::<String, _>(0).parse().unwrap()
    };
    let mut tx = w.server.store().begin().await.unwrap();
    let passwords = Passwords::new().unwrap();
    tongban_identity::admin::reset_password(&mut tx, &admin, &passwords, person)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Whoever held the account may have added that passkey: it no longer signs in.
    let (flow, csrf) = portal_flow(&w).await;
    let (ceremony, options) = login_options(&w, &flow, &csrf).await;
    let answer = assert_with(&mut phone, ORIGIN, options, &id, &handle).unwrap();
    assert_eq!(
        post_assertion(&w, &flow, &csrf, &ceremony, &answer)
            .await
            .status(),
        401
    );
    w.server.stop().await;
}
