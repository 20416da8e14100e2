//! Relatives acting for a person (亲友代办) through the real router: 李四 authorises
//! 赵六 on the relatives page; 赵六 accepts, logs in as himself at a portal, chooses to
//! act for 李四, and the portal's ID token names 李四 as `sub` and 赵六 as `act`. Each
//! boundary is a test: the delegate cannot sign (CSC, signing pages), cannot touch the
//! person's password or authorise a third person; an ended or expired authority stops
//! the next login, the refresh and the access token at once; a portal can refuse
//! delegated logins; setting one up needs level 2.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::esign_world::{self as world, LI, WANG, World, ZHAO, csrf, form, page, session};
use support::portal_logins::*;
use support::{PASSWORD, PKCE_VERIFIER, csrf_of, location, query_param, set_cookie};
use tongban_core::time::Timestamp;

/// 李四 authorises 赵六 for `matters`; returns the page's answer.
async fn offer(w: &World, from: &str, name: &str, id: &str, matters: &[&str]) -> reqwest::Response {
    let csrf = csrf(w, from).await;
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("relative_name", name),
        ("relative_id", id),
        ("days", "30"),
    ];
    for matter in matters {
        fields.push((matter, "yes"));
    }
    form(w, from, "/account/relatives", &fields).await
}

/// 李四 authorises 赵六 (sign-in and certificates) and 赵六 accepts; returns the id.
async fn authorised(w: &World, li: &str, zhao: &str) -> String {
    let sent = offer(
        w,
        li,
        "赵六",
        ZHAO,
        &["matter_sign_in", "matter_certificates"],
    )
    .await;
    let status = sent.status();
    assert_eq!(status, 200, "{}", sent.text().await.unwrap());
    let html = page(w, zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    let id = authority_ids(&html)
        .pop()
        .expect("the offer is on 赵六's page");
    let csrf = csrf_of(&html);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", &id),
        ("answer", "accept"),
    ];
    let accepted = form(w, zhao, "/account/relatives/answer", &fields).await;
    assert_eq!(accepted.status(), 200);
    id
}

/// 赵六 signs in at the first-party portal and chooses to act for 李四; returns the
/// token answer.
async fn act_for_li(w: &World, p: &Portals, authority: &str) -> Value {
    let (landed, html) = page_of(login_at(w, &p.portal.0, PORTAL, ZHAO).await).await;
    assert!(
        html.contains("李四") && html.contains("/authorize/act"),
        "{html}"
    );
    let chosen = choose(w, &landed, authority).await;
    assert_eq!(chosen.status(), 303);
    let code = query_param(&location(&chosen), "code").expect("a code");
    redeem(w, &p.portal, PORTAL, &code).await
}

#[tokio::test]
async fn a_relative_signs_in_for_the_person_and_the_portal_is_told_who_acts() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;

    let tokens = act_for_li(&w, &p, &authority).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    let li_id: String = sqlx::query_scalar("SELECT id FROM subjects WHERE resident_id = $1")
        .bind(LI)
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        id["sub"], li_id,
        "a first-party portal knows 李四 by his id"
    );
    let act = &id["act"];
    assert!(act["sub"].is_string() && act["sub"] != id["sub"]);
    assert_eq!(act["name"], "赵六");
    // 赵六 logged in at level 3, but 李四's identity is registry-matched only: a login
    // for him is level 2.
    assert_eq!(id["acr"], "urn:tongban:acr:2");
    // Remote signing is never delegated: `service` is not granted.
    let scope = tokens["scope"].as_str().unwrap();
    assert!(
        scope.contains("ecert:wallet") && !scope.contains("service"),
        "{scope}"
    );
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], id["sub"]);
    assert_eq!(access["act"]["sub"], act["sub"]);

    // The wallet answers for 李四, and the use is recorded for both.
    let answer = wallet(&w, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 200);
    let mine = page(&w, &li, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(mine.contains("赵六") && mine.contains("代我办理"), "{mine}");
    assert!(mine.contains("民生服务网"));
    assert!(mine.contains("GET /api/v1/me/certificates"));
    let his = page(&w, &zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(his.contains("李四") && his.contains("我代"), "{his}");

    // The same login can still be for himself: no act, his own subject.
    let (_, landed) = login_at(&w, &p.portal.0, PORTAL, ZHAO).await;
    let chosen = choose(&w, &landed, "myself").await;
    let code = query_param(&location(&chosen), "code").unwrap();
    let own = redeem(&w, &p.portal, PORTAL, &code).await;
    let own_id = claims(own["id_token"].as_str().unwrap());
    assert_eq!(own_id["sub"], act["sub"]);
    assert!(own_id.get("act").is_none());
}

#[tokio::test]
async fn at_a_third_party_portal_the_relative_consents_for_the_person_under_pairwise_ids() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;
    let (landed, _) = page_of(login_at(&w, &p.third.0, THIRD, ZHAO).await).await;
    let chosen = choose(&w, &landed, &authority).await;
    assert_eq!(chosen.status(), 200, "the consent page, for 李四");
    let allowed = allow(&w, &landed).await;
    assert_eq!(allowed.status(), 303);
    let code = query_param(&location(&allowed), "code").unwrap();
    let tokens = redeem(&w, &p.third, THIRD, &code).await;
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consents")
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        kept, 0,
        "a relative's consent serves one login; the person decides what stays"
    );
    let id = claims(tokens["id_token"].as_str().unwrap());
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM subjects WHERE resident_id IN ($1, $2)")
            .bind(LI)
            .bind(ZHAO)
            .fetch_all(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    let (sub, actor) = (
        id["sub"].as_str().unwrap(),
        id["act"]["sub"].as_str().unwrap(),
    );
    assert!(
        !ids.iter().any(|i| i == sub || i == actor),
        "pairwise, never internal ids"
    );
    assert_ne!(sub, actor);
    // 李四's own login there asks him, and knows him by the same identifier.
    let (landed, html) = page_of(login_at(&w, &p.third.0, THIRD, LI).await).await;
    assert!(html.contains("/consent"));
    let allowed = allow(&w, &landed).await;
    let code = query_param(&location(&allowed), "code").unwrap();
    let his = claims(
        redeem(&w, &p.third, THIRD, &code).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(his["sub"], sub);
}

#[tokio::test]
async fn ending_the_authority_stops_the_relative_at_once() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;
    let tokens = act_for_li(&w, &p, &authority).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // The portal took part in 赵六's session twice: for him and for 李四.
    let (_, mine) = login_at(&w, &p.portal.0, PORTAL, ZHAO).await;
    let chosen = choose(&w, &mine, "myself").await;
    assert_eq!(chosen.status(), 303);
    // 李四 ends it.
    let csrf = csrf(&w, &li).await;
    let fields = [("csrf_token", csrf.as_str()), ("id", authority.as_str())];
    let ended = form(&w, &li, "/account/relatives/end", &fields).await;
    assert_eq!(ended.status(), 200);

    assert_eq!(
        wallet(&w, access).await.status(),
        401,
        "the access token stops"
    );
    let introspected: Value = w
        .server
        .client
        .post(format!("{}/introspect", w.server.base))
        .basic_auth(&p.portal.0, Some(&p.portal.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false, "{introspected}");
    // The portal is told the login for 李四 is over (back-channel logout), not 赵六's own.
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT sub, sid FROM logout_deliveries WHERE client_id = $1")
            .bind(&p.portal.0)
            .fetch_all(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    let li_sub = claims(tokens["id_token"].as_str().unwrap())["sub"].clone();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(json_str(&queued[0].0), li_sub);
    let refused = refresh(&w, &p.portal, refresh_token).await;
    assert_eq!(refused.status(), 400, "the refresh token stops");
    // The next login offers no one to act for, and an old choice is refused.
    let (answer, _) = login_at(&w, &p.portal.0, PORTAL, ZHAO).await;
    assert_eq!(
        answer.status(),
        303,
        "no choice: straight back to the portal"
    );
    let code = query_param(&location(&answer), "code").unwrap();
    let own = redeem(&w, &p.portal, PORTAL, &code).await;
    assert!(
        claims(own["id_token"].as_str().unwrap())
            .get("act")
            .is_none()
    );
    // Ending twice is refused plainly.
    let twice = form(&w, &li, "/account/relatives/end", &fields).await;
    assert_eq!(twice.status(), 404);
}

#[tokio::test]
async fn an_expired_authority_gives_nothing() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;
    let tokens = act_for_li(&w, &p, &authority).await;
    sqlx::query("UPDATE delegations SET valid_until = $1 WHERE id = $2")
        .bind(Timestamp::now().unix_millis() - 1)
        .bind(&authority)
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(wallet(&w, access).await.status(), 401);
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&w, &p.portal, refresh_token).await.status(), 400);
    let (answer, _) = login_at(&w, &p.portal.0, PORTAL, ZHAO).await;
    assert_eq!(
        answer.status(),
        303,
        "no choice: straight back to the portal"
    );
    let shown = page(&w, &li, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains("已过期"), "{shown}");
}

#[tokio::test]
async fn a_relative_cannot_sign_for_the_person() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;
    let tokens = act_for_li(&w, &p, &authority).await;
    // The delegated token has no `service` scope: the CSC API refuses it.
    let access = tokens["access_token"].as_str().unwrap();
    let listed = world::call(
        &w,
        access,
        "/csc/v2/credentials/list",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(listed.status(), 403, "{}", listed.text().await.unwrap());
    // Even a token that carried `service` under an authority is refused by the domain.
    let caller = tongban_identity::caller::Caller {
        subject: tokens_sub(&tokens),
        client_id: p.portal.0.clone(),
        scopes: vec!["service".into()],
        request_id: None,
        acr: None,
        delegation: Some(authority.clone()),
    };
    let mut conn = w.server.store().conn().await.unwrap();
    let refused = tongban_esign::csc::person(&mut conn, &caller).await;
    assert!(matches!(refused, Err(tongban_esign::SignError::Denied(_))));
    drop(conn);
    // 李四's signing request is not 赵六's to open, approve or decline.
    let request = world::request_to_li(&w).await;
    let opened = page(&w, &zhao, &format!("/sign/{request}")).await;
    assert_eq!(opened.status(), 404);
    let csrf = csrf(&w, &zhao).await;
    let fields = [("csrf_token", csrf.as_str()), ("action", "decline")];
    let declined = form(&w, &zhao, &format!("/sign/{request}"), &fields).await;
    assert_eq!(declined.status(), 404);
    let still = page(&w, &li, &format!("/sign/{request}")).await;
    assert_eq!(still.status(), 200, "the request still waits for 李四");
}

fn json_str(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn tokens_sub(tokens: &Value) -> String {
    claims(tokens["access_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_relative_cannot_change_the_persons_password_or_authorise_a_third_person() {
    let w = world::world().await;
    let _ = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let _ = authorised(&w, &li, &zhao).await;
    // 赵六's account pages are his own: a password change there is his.
    let csrf = csrf(&w, &zhao).await;
    let new = "a brand new passphrase for zhao";
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("current_password", PASSWORD),
        ("new_password", new),
        ("confirm_password", new),
    ];
    assert_eq!(
        form(&w, &zhao, "/account/password", &fields).await.status(),
        200
    );
    // 李四 still logs in with his own password (and code).
    let _ = session(&w, LI).await;
    let li_login = w
        .server
        .client
        .get(format!("{}/account", w.server.base))
        .header("cookie", &li)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        li_login.contains("李四"),
        "李四's session and password stand"
    );
    // An authority 赵六 sets up is his own, for 王五: never one of 李四's.
    let sent = offer(&w, &zhao, "王五", WANG, &["matter_sign_in"]).await;
    assert_eq!(sent.status(), 200);
    let li_page = page(&w, &li, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(!li_page.contains("王五"), "李四 authorised nobody but 赵六");
    let mut conn = w.server.store().conn().await.unwrap();
    let principals: Vec<String> = sqlx::query_scalar(
        "SELECT p.resident_id FROM delegations d JOIN subjects p ON p.id = d.principal_id \
         JOIN subjects r ON r.id = d.delegate_id WHERE r.resident_id = $1",
    )
    .bind(WANG)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(principals, vec![ZHAO.to_owned()]);
}

#[tokio::test]
async fn a_portal_may_refuse_delegated_logins() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    authorised(&w, &li, &zhao).await;
    let (answer, _) = login_at(&w, &p.strict.0, STRICT, ZHAO).await;
    assert_eq!(answer.status(), 303, "no choice: straight back");
    let code = query_param(&location(&answer), "code").unwrap();
    let tokens = redeem(&w, &p.strict, STRICT, &code).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert!(id.get("act").is_none());
    // At a portal that allows it, a choice of an authority that is not his is refused.
    let (landed, _) = page_of(login_at(&w, &p.portal.0, PORTAL, ZHAO).await).await;
    let foreign = tongban_core::id::Uuid::now_v7().to_string();
    let posted = choose(&w, &landed, &foreign).await;
    assert_eq!(posted.status(), 303);
    assert_eq!(
        query_param(&location(&posted), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn setting_up_an_authority_is_checked() {
    let w = world::world().await;
    let _ = portals(&w).await;
    let li = session(&w, LI).await;
    // Someone unknown, or the wrong name for the number: the same answer.
    let unknown = offer(&w, &li, "赵六", WANG, &["matter_sign_in"]).await;
    assert_eq!(unknown.status(), 422);
    // No matter chosen.
    let none = offer(&w, &li, "赵六", ZHAO, &[]).await;
    assert_eq!(none.status(), 422);
    // Oneself.
    let own = offer(&w, &li, "李四", LI, &["matter_sign_in"]).await;
    assert_eq!(own.status(), 422);
    // Twice.
    assert_eq!(
        offer(&w, &li, "赵六", ZHAO, &["matter_sign_in"])
            .await
            .status(),
        200
    );
    assert_eq!(
        offer(&w, &li, "赵六", ZHAO, &["matter_sign_in"])
            .await
            .status(),
        409
    );
    // Only the relative answers an offer.
    let html = page(&w, &li, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    let id = authority_ids(&html).pop().unwrap();
    let csrf = csrf_of(&html);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", &id),
        ("answer", "accept"),
    ];
    let by_li = form(&w, &li, "/account/relatives/answer", &fields).await;
    assert_eq!(by_li.status(), 404);
    // A level-1 login cannot set one up.
    let mut tx = w.server.store().begin().await.unwrap();
    sqlx::query("UPDATE sessions SET acr = 'urn:tongban:acr:1'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let weak = offer(&w, &li, "赵六", ZHAO, &["matter_certificates"]).await;
    assert_eq!(weak.status(), 403);
}

#[tokio::test]
async fn the_choice_answers_only_the_session_it_was_shown_to_and_a_get_never_issues_a_code() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let authority = authorised(&w, &li, &zhao).await;
    // A login form's flow (nobody signed in yet) with 赵六's session cookie beside it.
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", p.portal.0.as_str()),
        ("redirect_uri", PORTAL),
        ("scope", "openid"),
        (
            "code_challenge",
            &tongban_identity::secrets::s256_challenge(PKCE_VERIFIER),
        ),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
    ])
    .unwrap();
    let start = w.server.get(&format!("/authorize?{query}")).await;
    let flow = format!(
        "__Host-tongban-flow={}",
        set_cookie(&start, "__Host-tongban-flow").unwrap()
    );
    let csrf = csrf_of(&start.text().await.unwrap());
    let cookies = format!("{flow}; {zhao}");
    let reloaded = w
        .server
        .client
        .get(format!("{}/login", w.server.base))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200, "the login form again, never a code");
    assert!(reloaded.text().await.unwrap().contains("name=\"password\""));
    let posted = w
        .server
        .client
        .post(format!("{}/authorize/act", w.server.base))
        .header("cookie", &cookies)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("choice", authority.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.status(),
        403,
        "the form was not shown to this session"
    );
    // A chooser shown to 赵六 cannot be answered with 李四's session.
    let (landed, _) = page_of(login_at(&w, &p.portal.0, PORTAL, ZHAO).await).await;
    let stolen = Landed {
        session: li.clone(),
        ..landed
    };
    assert_eq!(choose(&w, &stolen, "myself").await.status(), 403);
}

#[tokio::test]
async fn staff_are_never_acted_for_and_certificates_alone_give_no_login() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    // An authority for the certificates only offers no login for 李四.
    let sent = offer(&w, &li, "赵六", ZHAO, &["matter_certificates"]).await;
    assert_eq!(sent.status(), 200);
    let html = page(&w, &zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    let id = authority_ids(&html).pop().unwrap();
    let fields = [
        ("csrf_token", csrf_of(&html)),
        ("id", id.clone()),
        ("answer", "accept".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        form(&w, &zhao, "/account/relatives/answer", &fields)
            .await
            .status(),
        200
    );
    let (answer, _) = login_at(&w, &p.portal.0, PORTAL, ZHAO).await;
    assert_eq!(answer.status(), 303, "no one to sign in for");
    // 李四 becomes department staff: his authorities give no login, and he sets up none.
    let csrf_li = csrf(&w, &li).await;
    let end = [("csrf_token", csrf_li.as_str()), ("id", id.as_str())];
    assert_eq!(
        form(&w, &li, "/account/relatives/end", &end).await.status(),
        200
    );
    let authority = authorised(&w, &li, &zhao).await;
    let mut conn = w.server.store().conn().await.unwrap();
    let li_id: String = sqlx::query_scalar("SELECT id FROM subjects WHERE resident_id = $1")
        .bind(LI)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO staff (subject_id, department_id, staff_number, created_at) VALUES ($1, $2, 'S-1', $3)")
        .bind(&li_id)
        .bind(w.a.id.to_string())
        .bind(Timestamp::now().unix_millis())
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let (landed, _) = page_of(login_at(&w, &p.portal.0, PORTAL, ZHAO).await).await;
    let refused = choose(&w, &landed, &authority).await;
    assert_eq!(
        query_param(&location(&refused), "error").as_deref(),
        Some("access_denied")
    );
    let sent = offer(&w, &li, "王五", WANG, &["matter_sign_in"]).await;
    assert_eq!(sent.status(), 403);
}

#[tokio::test]
async fn a_relative_starts_a_signing_request_that_only_the_person_signs() {
    let w = world::world().await;
    let p = portals(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    // Without the matter, the relative's token cannot start one.
    let authority = authorised(&w, &li, &zhao).await;
    let tokens = act_for_li(&w, &p, &authority).await;
    let scope = tokens["scope"].as_str().unwrap();
    assert!(!scope.contains("sign:request"), "{scope}");
    let pdf = support::sample_pdf(1, 5_000);
    let access = tokens["access_token"].as_str().unwrap();
    let refused = world::request(
        &w,
        access,
        json!({"id_number": LI}),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_eq!(refused.status(), 403);
    // With it: a request to 李四, naming 赵六 as who started it.
    let csrf = csrf(&w, &li).await;
    let fields = [("csrf_token", csrf.as_str()), ("id", authority.as_str())];
    assert_eq!(
        form(&w, &li, "/account/relatives/end", &fields)
            .await
            .status(),
        200
    );
    let alone = offer(&w, &li, "赵六", ZHAO, &["matter_signing_requests"]).await;
    assert_eq!(
        alone.status(),
        422,
        "signing requests are started under a login"
    );
    let sent = offer(
        &w,
        &li,
        "赵六",
        ZHAO,
        &["matter_sign_in", "matter_signing_requests"],
    )
    .await;
    assert_eq!(sent.status(), 200);
    let html = page(&w, &zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    let authority = authority_ids(&html).pop().unwrap();
    let csrf = csrf_of(&html);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", authority.as_str()),
        ("answer", "accept"),
    ];
    assert_eq!(
        form(&w, &zhao, "/account/relatives/answer", &fields)
            .await
            .status(),
        200
    );
    let tokens = act_for_li(&w, &p, &authority).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["scope"].as_str().unwrap().contains("sign:request"));
    // Never to a third person.
    let other = world::request(
        &w,
        access,
        json!({"id_number": WANG}),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_eq!(other.status(), 403);
    let created = world::request(
        &w,
        access,
        json!({"id_number": LI}),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 李四's signing page says who started it; 赵六 cannot open it, let alone sign.
    let shown = page(&w, &li, &format!("/sign/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("代为发起的人") && shown.contains("赵六"),
        "{shown}"
    );
    let his = page(&w, &zhao, &format!("/sign/{id}")).await;
    assert_eq!(his.status(), 404);
    // Nor does his token read, download or collect it: that is the portal's system's.
    let read = world::get(&w, access, &format!("/api/v1/signing-requests/{id}")).await;
    assert_eq!(read.status(), 404);
    let collect = world::call(
        &w,
        access,
        &format!("/api/v1/signing-requests/{id}/collected"),
        json!({}),
    )
    .await;
    assert_eq!(collect.status(), 404);
    // An unknown number is refused like a third person's: nobody learns who is registered.
    let unknown = world::request(
        &w,
        access,
        json!({"id_number": "11010519491231002X"}),
        std::slice::from_ref(&pdf),
    )
    .await;
    assert_eq!(unknown.status(), 403);
    let started: Option<String> =
        sqlx::query_scalar("SELECT started_by FROM signing_requests WHERE id = $1")
            .bind(&id)
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    let zhao_id: String = sqlx::query_scalar("SELECT id FROM subjects WHERE resident_id = $1")
        .bind(ZHAO)
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(started, Some(zhao_id));
}
