//! Signing in through the real router: authorize → login form → code → token →
//! userinfo, single sign-on at a second portal, staff and agents with their
//! organisation's code, pushed authorization requests; and the rules of the login
//! itself, each a test (registered redirect URIs only, S256 PKCE, the form's CSRF
//! token, throttling of wrong passwords, also behind a trusted proxy, `prompt=none`,
//! a tiny connection pool under concurrent logins).

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::Value;
use support::sso_world::*;
use support::{PASSWORD, PKCE_VERIFIER, csrf_of, location, query_param, set_cookie, urlencode};
use tongban_core::time::Timestamp;
use tongban_identity::clients::NewClient;
use tongban_identity::secrets::s256_challenge;
use tongban_identity::subjects;

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
            s256_challenge(PKCE_VERIFIER)
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
    // Each refusal is tallied for the platform's overview.
    w.server.store().flush_tallies().await.unwrap();
    let refused: i64 =
        // Summed over days: the failures may straddle midnight in Beijing.
        sqlx::query_scalar("SELECT CAST(SUM(count) AS BIGINT) FROM daily_tallies WHERE kind = 'login.failed'")
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert_eq!(refused, 6);
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
            ("code_challenge", s256_challenge(PKCE_VERIFIER)),
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

/// Sets the flow's start and end to `started` and `ends` milliseconds from now.
async fn age_flow(w: &World, flow: &str, started: i64, ends: i64) {
    let now = Timestamp::now().unix_millis();
    sqlx::query("UPDATE login_flows SET created_at = $1, expires_at = $2 WHERE id_sha256 = $3")
        .bind(now + started)
        .bind(now + ends)
        .bind(tongban_identity::secrets::sha256_hex(flow))
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_login_page_gets_more_time_when_asked_but_not_forever() {
    let w = world().await;
    let (flow, csrf) = open_form(&w, &w.portal).await;
    let cookie = format!("__Host-tongban-flow={flow}");
    let seconds = |v: &Value| v["seconds"].as_i64().unwrap();
    let left: Value = browser_get(&w, "/login/time", &cookie)
        .await
        .json()
        .await
        .unwrap();
    assert!((880..=900).contains(&seconds(&left)), "{left}");

    // A minute left: more time gives fifteen minutes again.
    age_flow(&w, &flow, -100 * 60_000, 60_000).await;
    let more = browser_post(&w, "/login/more-time", &cookie, &[("csrf_token", &csrf)]).await;
    assert_eq!(more.status(), 200);
    let left: Value = more.json().await.unwrap();
    assert!((880..=900).contains(&seconds(&left)), "{left}");
    // The form still logs in.
    let login = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
    assert_eq!(login.status(), 303);

    // Two hours after the page began, no more time: the end stays where it is.
    let (flow, csrf) = open_form(&w, &w.portal).await;
    let cookie = format!("__Host-tongban-flow={flow}");
    age_flow(&w, &flow, -119 * 60_000, 30_000).await;
    let more = browser_post(&w, "/login/more-time", &cookie, &[("csrf_token", &csrf)]).await;
    let left: Value = more.json().await.unwrap();
    assert!(seconds(&left) <= 60, "{left}");

    // Another page's token, no flow, or an expired one: 404 problems.
    let foreign = browser_post(&w, "/login/more-time", &cookie, &[("csrf_token", "x")]).await;
    assert_eq!(foreign.status(), 404);
    assert_eq!(
        foreign.headers()["content-type"],
        "application/problem+json"
    );
    let none = browser_get(&w, "/login/time", "").await;
    assert_eq!(none.status(), 404);
    age_flow(&w, &flow, -120 * 60_000, -1).await;
    let gone = browser_post(&w, "/login/more-time", &cookie, &[("csrf_token", &csrf)]).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(browser_get(&w, "/login/time", &cookie).await.status(), 404);
}
