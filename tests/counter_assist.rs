//! Assisted sessions at the counter (窗口协办) through the real router: 李四, a counter
//! clerk, asks to help 赵六, who is at the counter; 赵六 types the code 李四 reads to him
//! on the account page of his own phone; for 30 minutes 李四 signs in at a portal for
//! 赵六 and the tokens name 李四 as `act`. The boundaries, each a test: a request the
//! person never confirmed gives nothing (the clerk cannot accept it, confirm it or act
//! under it), a session after its 30 minutes stops everything it gave, wrong codes
//! withdraw a request, and only clerks ask — never for staff or themselves.

#![allow(clippy::unwrap_used)]

mod support;

use support::esign_world::{self as world, LI, WANG, World, ZHAO, csrf, form, page, session};
use support::portal_logins::*;
use support::{location, query_param};
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{self, Role};

const HALL: &str = "鼓楼区政务服务中心 5号窗口";

/// Makes 李四 a counter clerk of department A.
async fn clerk(w: &World) {
    let mut tx = w.server.store().begin().await.unwrap();
    let li = subjects::find_by_resident_id(&mut tx, &LI.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    subjects::add_staff(
        &mut tx,
        li,
        w.a.id,
        "C-005",
        &[Role::Counter],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn subject_of(w: &World, resident_id: &str) -> String {
    sqlx::query_scalar("SELECT id FROM subjects WHERE resident_id = $1")
        .bind(resident_id)
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap()
}

/// The clerk of `session` asks to help `id`/`name`; returns the answer.
async fn ask(w: &World, session: &str, id: &str, name: &str) -> reqwest::Response {
    let csrf = csrf(w, session).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("hall", HALL),
        ("resident_id", id),
        ("name", name),
        ("matter_sign_in", "yes"),
        ("matter_certificates", "yes"),
    ];
    form(w, session, "/counter/assist", &fields).await
}

/// The id and the code on the clerk's page.
fn id_and_code(html: &str) -> (String, String) {
    let id = html
        .split("href=\"/counter/assist/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let code = html
        .split("<p class=\"code\" lang=\"en\"><strong>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .replace(' ', "");
    (id, code)
}

/// The person of `session` types `code` for the request `id` on their account page.
async fn confirm(w: &World, session: &str, id: &str, code: &str) -> reqwest::Response {
    let csrf = csrf(w, session).await;
    let fields = [("csrf_token", csrf.as_str()), ("id", id), ("code", code)];
    form(w, session, "/account/assist", &fields).await
}

async fn status(w: &World, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM delegations WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap()
}

/// The clerk's login at the portal offers nobody to act for: straight back, as himself.
async fn clerk_signs_in_as_himself(w: &World, p: &Portals) {
    let (answer, _) = login_at(w, &p.portal.0, PORTAL, LI).await;
    assert_eq!(
        answer.status(),
        303,
        "no choice: straight back to the portal"
    );
    let code = query_param(&location(&answer), "code").unwrap();
    let tokens = redeem(w, &p.portal, PORTAL, &code).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], subject_of(w, LI).await);
    assert!(id.get("act").is_none());
}

#[tokio::test]
async fn a_clerk_helps_a_person_who_confirms_on_their_own_phone_for_thirty_minutes() {
    let w = world::world().await;
    let p = portals(&w).await;
    clerk(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let asked = ask(&w, &li, ZHAO, "赵六").await;
    assert_eq!(asked.status(), 200);
    let html = asked.text().await.unwrap();
    assert!(
        html.contains("赵六") && html.contains("等待办事人"),
        "{html}"
    );
    let (id, code) = id_and_code(&html);
    assert_eq!(code.len(), 6);
    // On 赵六's phone: the request, naming the clerk and the hall.
    let account = page(&w, &zhao, "/account").await.text().await.unwrap();
    assert!(
        account.contains("窗口工作人员请求协助您")
            && account.contains("李四")
            && account.contains(HALL),
        "{account}"
    );
    let wrong = confirm(&w, &zhao, &id, "000000").await;
    assert_eq!(wrong.status(), 422);
    let agreed = confirm(&w, &zhao, &id, &code).await;
    assert_eq!(agreed.status(), 200);
    assert!(agreed.text().await.unwrap().contains("接下来30分钟内"));
    assert_eq!(status(&w, &id).await, "active");
    // The clerk's page says so.
    let follow = page(&w, &li, &format!("/counter/assist/{id}")).await;
    assert!(follow.text().await.unwrap().contains("协办进行中"));
    // At the portal 李四 chooses 赵六; the tokens name 赵六 and, as the actor, 李四.
    let (landed, choice) = page_of(login_at(&w, &p.portal.0, PORTAL, LI).await).await;
    assert!(choice.contains("赵六"), "{choice}");
    let chosen = choose(&w, &landed, &id).await;
    assert_eq!(chosen.status(), 303);
    let code = query_param(&location(&chosen), "code").expect("a code");
    let tokens = redeem(&w, &p.portal, PORTAL, &code).await;
    let claims = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], subject_of(&w, ZHAO).await);
    assert_eq!(claims["act"]["sub"], subject_of(&w, LI).await);
    assert_eq!(claims["act"]["name"], "李四");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(wallet(&w, access).await.status(), 200);
    // 赵六's account page lists the help, and his relatives page what 李四 did.
    let account = page(&w, &zhao, "/account").await.text().await.unwrap();
    assert!(
        account.contains("窗口协办，工作人员：<bdi>李四</bdi>"),
        "{account}"
    );
    let relatives = page(&w, &zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(relatives.contains("李四") && relatives.contains("窗口协办"));
    // The 30 minutes are over: the token, its refresh and the next choice stop.
    sqlx::query("UPDATE delegations SET valid_until = $1 WHERE id = $2")
        .bind(Timestamp::now().unix_millis() - 1)
        .bind(&id)
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(wallet(&w, access).await.status(), 401);
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&w, &p.portal, refresh_token).await.status(), 400);
    clerk_signs_in_as_himself(&w, &p).await;
    let follow = page(&w, &li, &format!("/counter/assist/{id}")).await;
    assert!(follow.text().await.unwrap().contains("协办已结束"));
    // The background round ends it for the portal too (here called at once, in case the
    // server's own round has not come yet): a back-channel logout for the login made
    // for 赵六, once, however often it is ended.
    for _ in 0..2 {
        let mut tx = w.server.store().begin().await.unwrap();
        tongban_identity::delegation::end_expired(&mut tx, 20, Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (state, by): (String, String) =
        sqlx::query_as("SELECT status, ended_by FROM delegations WHERE id = $1")
            .bind(&id)
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert_eq!((state.as_str(), by.as_str()), ("ended", "expiry"));
    let queued: Vec<String> =
        sqlx::query_scalar("SELECT sub FROM logout_deliveries WHERE client_id = $1")
            .bind(&p.portal.0)
            .fetch_all(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert!(queued[0].contains(&subject_of(&w, ZHAO).await));
    let account = page(&w, &zhao, "/account").await.text().await.unwrap();
    assert!(
        account.contains("已过期"),
        "shown as expired, not as ended by someone"
    );
}

#[tokio::test]
async fn a_request_for_a_person_who_never_came_gives_the_clerk_nothing() {
    let w = world::world().await;
    let p = portals(&w).await;
    clerk(&w).await;
    let li = session(&w, LI).await;
    let html = ask(&w, &li, ZHAO, "赵六").await.text().await.unwrap();
    let (id, code) = id_and_code(&html);
    // Nobody to act for yet.
    clerk_signs_in_as_himself(&w, &p).await;
    // The clerk cannot accept it as if it were a relative's offer…
    let csrf = csrf(&w, &li).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("id", id.as_str()),
        ("answer", "accept"),
    ];
    let accepted = form(&w, &li, "/account/relatives/answer", &fields).await;
    assert_eq!(accepted.status(), 404);
    // …nor confirm it with the code he knows: only the person does.
    let own = confirm(&w, &li, &id, &code).await;
    assert_eq!(own.status(), 404);
    // Someone else signed in, with the code, cannot either.
    let wang = session(&w, WANG).await;
    assert_eq!(confirm(&w, &wang, &id, &code).await.status(), 404);
    assert_eq!(status(&w, &id).await, "offered");
    clerk_signs_in_as_himself(&w, &p).await;
    // After ten minutes it lapses: 赵六, signed in later, no longer can.
    sqlx::query("UPDATE delegations SET valid_until = $1 WHERE id = $2")
        .bind(Timestamp::now().unix_millis() - 1)
        .bind(&id)
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    let zhao = session(&w, ZHAO).await;
    let account = page(&w, &zhao, "/account").await.text().await.unwrap();
    assert!(!account.contains("窗口工作人员请求协助您"));
    assert_eq!(confirm(&w, &zhao, &id, &code).await.status(), 404);
    clerk_signs_in_as_himself(&w, &p).await;
    // Nothing was done for 赵六.
    let acts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delegation_acts")
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(acts, 0);
}

#[tokio::test]
async fn five_wrong_codes_withdraw_the_request_and_the_person_may_refuse() {
    let w = world::world().await;
    let _ = portals(&w).await;
    clerk(&w).await;
    let (li, zhao) = (session(&w, LI).await, session(&w, ZHAO).await);
    let html = ask(&w, &li, ZHAO, "赵六").await.text().await.unwrap();
    let (id, code) = id_and_code(&html);
    let wrong = if code == "999999" { "111111" } else { "999999" };
    for _ in 0..4 {
        assert_eq!(confirm(&w, &zhao, &id, wrong).await.status(), 422);
    }
    let last = confirm(&w, &zhao, &id, wrong).await;
    assert_eq!(last.status(), 422);
    assert!(last.text().await.unwrap().contains("已经取消"));
    assert_eq!(status(&w, &id).await, "ended");
    assert_eq!(confirm(&w, &zhao, &id, &code).await.status(), 404);
    // A new request; 赵六 refuses it.
    let html = ask(&w, &li, ZHAO, "赵六").await.text().await.unwrap();
    let (id, _) = id_and_code(&html);
    let csrf = csrf(&w, &zhao).await;
    let fields = [("csrf_token", csrf.as_str()), ("id", id.as_str())];
    let refused = form(&w, &zhao, "/account/relatives/end", &fields).await;
    assert_eq!(refused.status(), 200);
    assert_eq!(status(&w, &id).await, "ended");
}

#[tokio::test]
async fn only_clerks_ask_and_never_for_staff_or_themselves() {
    let w = world::world().await;
    let _ = portals(&w).await;
    // 赵六 is no clerk.
    let zhao = session(&w, ZHAO).await;
    assert_eq!(ask(&w, &zhao, LI, "李四").await.status(), 403);
    clerk(&w).await;
    let li = session(&w, LI).await;
    // Not for himself, not for an unknown name.
    assert_eq!(ask(&w, &li, LI, "李四").await.status(), 422);
    assert_eq!(ask(&w, &li, ZHAO, "王五").await.status(), 422);
    // Not for staff: 王五 becomes an issuer of department B.
    let mut tx = w.server.store().begin().await.unwrap();
    let wang = subjects::find_by_resident_id(&mut tx, &WANG.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    subjects::add_staff(
        &mut tx,
        wang,
        w.b.id,
        "B-009",
        &[Role::Issuer],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ask(&w, &li, WANG, "王五").await.status(), 403);
    // Nothing was asked.
    let asked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delegations")
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(asked, 0);
    // A clerk's session below level 3 (a password alone) is refused.
    sqlx::query("UPDATE sessions SET acr = 'urn:tongban:acr:2'")
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(ask(&w, &li, ZHAO, "赵六").await.status(), 403);
}
