//! At the counter (线下窗口协办) through the real router: a clerk (staff with the
//! counter role, signed in at level 3) checks a person's ID card, which makes the
//! person's identity verified even though the registry does not know them, and prints
//! a one-time code; the person types it with their ID number on their own phone and
//! adds their first passkey — no session is made. The refusals, each a test: no
//! counter role, a clerk below level 3, an unknown person, staff as the person, a
//! person with a passkey already, a code used twice, for another ID number, replaced
//! by a newer one, or mistyped too often, and a form from another site.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::esign_world::{self as world, LI, ORIGIN, World, ZHAO, csrf, form, page, session};
use support::{PASSWORD, csrf_of, resident_id, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, Role};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::CreationChallengeResponse;

/// 李四 becomes a counter clerk of department A; 孙七 registers (a password, unknown to
/// the identity registry). Returns 孙七's ID number.
async fn counter_world(w: &World) -> String {
    let mut tx = w.server.store().begin().await.unwrap();
    let li = subjects::find_by_resident_id(&mut tx, &LI.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = Timestamp::now();
    subjects::add_staff(&mut tx, li, w.a.id, "C-001", &[Role::Counter], now)
        .await
        .unwrap();
    let id = resident_id(4242);
    let person = subjects::create_natural_person(
        &mut tx,
        &subjects::NewNaturalPerson {
            name: "孙七",
            resident_id: &id,
            email: None,
            phone: None,
        },
        now,
    )
    .await
    .unwrap();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    tongban_identity::sso::set_password_hash(&mut tx, person, &hash)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn verify(w: &World, clerk: &str, id: &str, name: &str) -> reqwest::Response {
    let csrf = csrf(w, clerk).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("hall", "鼓楼区政务服务中心 3号窗口"),
        ("resident_id", id),
        ("name", name),
        ("method", "id-card-seen"),
    ];
    form(w, clerk, "/counter/verify", &fields).await
}

fn code_of(html: &str) -> String {
    let start = html.find("<p class=\"code\" lang=\"en\"><strong>").unwrap() + 34;
    html[start..start + 9].to_owned()
}

/// Posts `id` and `code` on the `/enrol` form of a browser that opened it.
async fn enrol(w: &World, id: &str, code: &str) -> reqwest::Response {
    let opened = w.server.get("/enrol").await;
    let cookie = format!(
        "__Host-tongban-enrol={}",
        set_cookie(&opened, "__Host-tongban-enrol").unwrap()
    );
    let csrf = csrf_of(&opened.text().await.unwrap());
    w.server
        .client
        .post(format!("{}/enrol", w.server.base))
        .header("cookie", cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("resident_id", id),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// Adds the first passkey on the enrolment page `html` with `phone`.
async fn add_first_passkey(w: &World, html: &str, phone: &mut SoftPasskey) -> reqwest::Response {
    let token = csrf_of(html);
    let post = |path: &str, fields: Vec<(&str, String)>| {
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .form(&fields)
            .send()
    };
    let options = post(
        "/enrol/passkey/options",
        vec![("csrf_token", token.clone())],
    )
    .await
    .unwrap();
    if options.status() != 200 {
        return options;
    }
    let mut options: Value = options.json().await.unwrap();
    let ceremony = options["ceremony"].as_str().unwrap().to_owned();
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = phone.do_registration(ORIGIN.parse().unwrap(), ccr).unwrap();
    let fields = vec![
        ("csrf_token", token),
        ("ceremony", ceremony),
        ("name", "我的手机".to_owned()),
        ("credential", serde_json::to_string(&credential).unwrap()),
    ];
    post("/enrol/passkey", fields).await.unwrap()
}

async fn passkeys_of(w: &World, id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM passkeys p JOIN subjects s ON s.id = p.subject_id WHERE s.resident_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap()
}

async fn level_of(w: &World, id: &str) -> String {
    let session = support::account_session(&w.server, id, PASSWORD).await;
    let html = page(w, &session, "/account").await.text().await.unwrap();
    let dt = "<dt>本次登录的实名等级</dt><dd>";
    let start = html.find(dt).unwrap() + dt.len();
    html[start..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_clerk_verifies_a_person_who_then_adds_their_first_passkey_with_the_printed_code() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    assert!(
        level_of(&w, &person).await.starts_with("一级"),
        "not in the registry"
    );
    let clerk = session(&w, LI).await;
    assert_eq!(page(&w, &clerk, "/counter").await.status(), 200);

    let slip = verify(&w, &clerk, &person, "孙七").await;
    assert_eq!(slip.status(), 200);
    let html = slip.text().await.unwrap();
    assert!(html.contains("孙七") && html.contains("/enrol"));
    let code = code_of(&html);
    // Recorded with the clerk, the hall and the method.
    let details: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'counter.verified-in-person'",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert!(
        details.contains("3号窗口") && details.contains("id-card-seen"),
        "{details}"
    );
    // Seen at the counter: a verified identity from now on, and listed on their page.
    assert!(level_of(&w, &person).await.starts_with("二级"));
    let own = support::account_session(&w.server, &person, PASSWORD).await;
    let listed = page(&w, &own, "/account").await.text().await.unwrap();
    assert!(listed.contains("窗口办理记录") && listed.contains("3号窗口"));

    // On their phone: the code, typed loosely, opens their passkey enrolment (no
    // session), on a page that names whose account it is.
    let typed = code.to_lowercase().replace('-', " ");
    let opened = enrol(&w, &person, &typed).await;
    assert_eq!(opened.status(), 200);
    assert!(
        set_cookie(&opened, "__Host-tongban-session").is_none(),
        "no session"
    );
    let html = opened.text().await.unwrap();
    assert!(html.contains("孙七") && html.contains("/enrol/passkey"));
    let mut phone = SoftPasskey::new(true);
    assert_eq!(add_first_passkey(&w, &html, &mut phone).await.status(), 200);
    assert_eq!(passkeys_of(&w, &person).await, 1);
    // The enrolment and the code are spent.
    let mut other = SoftPasskey::new(true);
    assert_eq!(add_first_passkey(&w, &html, &mut other).await.status(), 403);
    assert_eq!(enrol(&w, &person, &code).await.status(), 401, "once only");
    assert_eq!(passkeys_of(&w, &person).await, 1);
    // With a passkey, a new check prints no code: they sign in with it.
    let again = verify(&w, &clerk, &person, "孙七")
        .await
        .text()
        .await
        .unwrap();
    assert!(!again.contains("class=\"code\""));
}

#[tokio::test]
async fn a_code_works_only_with_its_id_number_and_a_newer_code_cancels_it() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    let clerk = session(&w, LI).await;
    let first = code_of(
        &verify(&w, &clerk, &person, "孙七")
            .await
            .text()
            .await
            .unwrap(),
    );
    let second = code_of(
        &verify(&w, &clerk, &person, "孙七")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        enrol(&w, LI, &second).await.status(),
        401,
        "another ID number"
    );
    assert_eq!(enrol(&w, &person, &first).await.status(), 401, "replaced");
    // A form posted from another site (no matching cookie) is refused.
    let forged = w
        .server
        .client
        .post(format!("{}/enrol", w.server.base))
        .form(&[
            ("csrf_token", "x"),
            ("resident_id", person.as_str()),
            ("code", second.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(enrol(&w, &person, &second).await.status(), 200);
}

#[tokio::test]
async fn only_counter_clerks_at_level_3_verify_and_never_for_staff() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    // 赵六 has no counter role.
    let other = session(&w, ZHAO).await;
    assert_eq!(page(&w, &other, "/counter").await.status(), 403);
    assert_eq!(verify(&w, &other, &person, "孙七").await.status(), 403);
    // A clerk whose login is below level 3.
    let clerk = session(&w, LI).await;
    sqlx::query("UPDATE sessions SET acr = 'urn:tongban:acr:2'")
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(verify(&w, &clerk, &person, "孙七").await.status(), 403);
    let clerk = session(&w, LI).await;
    // The name must go with the number; a clerk does not verify themself.
    assert_eq!(verify(&w, &clerk, &person, "孙八").await.status(), 422);
    assert_eq!(verify(&w, &clerk, LI, "职员").await.status(), 422);
    assert_eq!(verify(&w, &clerk, "123", "孙七").await.status(), 422);
    // Staff are not helped at the counter: an administrator recovers their accounts.
    let mut tx = w.server.store().begin().await.unwrap();
    let zhao = subjects::find_by_resident_id(&mut tx, &ZHAO.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    subjects::add_staff(
        &mut tx,
        zhao,
        w.b.id,
        "B-7",
        &[Role::Issuer],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(verify(&w, &clerk, ZHAO, "职员").await.status(), 403);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM in_person_verifications")
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing recorded for refused checks");
}

#[tokio::test]
async fn wrong_codes_are_refused_and_throttled() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    let mut last = 0;
    for _ in 0..30 {
        last = enrol(&w, &person, "0000-0000").await.status().as_u16();
        if last == 429 {
            break;
        }
        assert_eq!(last, 401);
    }
    assert_eq!(last, 429, "guessing is throttled per ID number and address");
}

/// Registers 小明, born 2015-06-01, and returns his ID number.
async fn minor(w: &World) -> String {
    let id = "110105201506010139".to_owned();
    let mut tx = w.server.store().begin().await.unwrap();
    subjects::create_natural_person(
        &mut tx,
        &subjects::NewNaturalPerson {
            name: "小明",
            resident_id: &id,
            email: None,
            phone: None,
        },
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Sets up an authority at the counter: `principal` for `delegate`, a guardianship
/// when `basis` is given.
async fn authority(
    w: &World,
    clerk: &str,
    principal: (&str, &str),
    delegate: (&str, &str),
    basis: &str,
) -> reqwest::Response {
    let csrf = csrf(w, clerk).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("hall", "鼓楼区政务服务中心 3号窗口"),
        ("principal_id", principal.0),
        ("principal_name", principal.1),
        ("delegate_id", delegate.0),
        ("delegate_name", delegate.1),
        ("matter_sign_in", "yes"),
        ("days", "90"),
        ("legal_basis", basis),
    ];
    form(w, clerk, "/counter/authority", &fields).await
}

async fn open_authorities(w: &World) -> Vec<(String, String, i64)> {
    sqlx::query_as("SELECT kind, status, valid_until FROM delegations ORDER BY created_at")
        .fetch_all(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn at_the_counter_a_relative_is_authorised_at_once_and_a_guardianship_ends_at_eighteen() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    let child = minor(&w).await;
    let clerk = session(&w, LI).await;
    // A relative's authority, both present: in force at once, no acceptance needed.
    let set = authority(&w, &clerk, (&person, "孙七"), (ZHAO, "职员"), "").await;
    assert_eq!(set.status(), 200);
    // A guardianship needs a minor and the document seen; it ends at eighteen.
    let adult = authority(&w, &clerk, (&person, "孙七"), (ZHAO, "职员"), "户口簿").await;
    assert_eq!(adult.status(), 422, "an adult has no guardian");
    let guardian = authority(
        &w,
        &clerk,
        (&child, "小明"),
        (&person, "孙七"),
        "出生医学证明",
    )
    .await;
    assert_eq!(guardian.status(), 200);
    let rows = open_authorities(&w).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("relative", "active")
    );
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("guardian", "active")
    );
    assert_eq!(
        rows[1].2, 2_001_168_000_000,
        "2033-06-01 00:00 Beijing time"
    );
    // Recorded with the clerk and the hall; both see it on their relatives page.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'delegation.set-up-at-counter' AND details LIKE '%3号窗口%'",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let zhao = session(&w, ZHAO).await;
    let his = page(&w, &zhao, "/account/relatives")
        .await
        .text()
        .await
        .unwrap();
    assert!(his.contains("孙七") && his.contains("relatives/end"));
}

#[tokio::test]
async fn only_a_clerk_sets_up_authorities_at_the_counter_and_never_for_staff() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    let other = session(&w, ZHAO).await;
    let refused = authority(&w, &other, (&person, "孙七"), (LI, "职员"), "").await;
    assert_eq!(refused.status(), 403, "no counter role");
    let clerk = session(&w, LI).await;
    let wrong = authority(&w, &clerk, (&person, "孙八"), (ZHAO, "职员"), "").await;
    assert_eq!(wrong.status(), 422, "the name goes with the number");
    let same = authority(&w, &clerk, (&person, "孙七"), (&person, "孙七"), "").await;
    assert_eq!(same.status(), 422, "two different people");
    // A clerk never sets one up for himself, as either of the two.
    let himself = authority(&w, &clerk, (&person, "孙七"), (LI, "职员"), "").await;
    assert_eq!(himself.status(), 422, "not the clerk as the relative");
    let himself = authority(&w, &clerk, (LI, "职员"), (&person, "孙七"), "").await;
    assert_eq!(himself.status(), 422, "not the clerk as the person");
    // Staff are not acted for: 赵六 becomes an issuer of department B.
    let mut tx = w.server.store().begin().await.unwrap();
    let zhao = subjects::find_by_resident_id(&mut tx, &ZHAO.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    subjects::add_staff(
        &mut tx,
        zhao,
        w.b.id,
        "B-002",
        &[Role::Issuer],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let staff = authority(&w, &clerk, (ZHAO, "职员"), (&person, "孙七"), "").await;
    assert_eq!(staff.status(), 403, "staff are not acted for");
    assert!(open_authorities(&w).await.is_empty());
}

/// The clerk prints a code for a new password for `id`; returns the code.
async fn password_code(w: &World, clerk: &str, id: &str, name: &str) -> String {
    let csrf = csrf(w, clerk).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("hall", "鼓楼区政务服务中心 3号窗口"),
        ("resident_id", id),
        ("name", name),
        ("method", "id-card-reader"),
        ("new_password", "yes"),
    ];
    let slip = form(w, clerk, "/counter/verify", &fields).await;
    assert_eq!(slip.status(), 200);
    let html = slip.text().await.unwrap();
    assert!(html.contains("设置新密码"), "{html}");
    code_of(&html)
}

async fn set_password(w: &World, token: &str, new: &str, confirm: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/enrol/password", w.server.base))
        .form(&[
            ("csrf_token", token),
            ("new_password", new),
            ("confirm_password", confirm),
        ])
        .send()
        .await
        .unwrap()
}

async fn password_works(w: &World, id: &str, password: &str) -> bool {
    let page = w.server.get("/account").await;
    let (login, _, _) = support::password_login(&w.server, page, id, password).await;
    login.status() == 303
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_a_printed_code_and_every_session_ends() {
    let w = world::world().await;
    let person = counter_world(&w).await;
    let clerk = session(&w, LI).await;
    let old_session = support::account_session(&w.server, &person, PASSWORD).await;
    // Even with a passkey, a person may get a code for a new password.
    let code = code_of(
        &verify(&w, &clerk, &person, "孙七")
            .await
            .text()
            .await
            .unwrap(),
    );
    let html = enrol(&w, &person, &code).await.text().await.unwrap();
    let mut phone = SoftPasskey::new(true);
    assert_eq!(add_first_passkey(&w, &html, &mut phone).await.status(), 200);
    // A new password hands the account over: only on the card's chip, read.
    let csrf = csrf(&w, &clerk).await;
    let seen = [
        ("csrf_token", csrf.as_str()),
        ("hall", "鼓楼区政务服务中心 3号窗口"),
        ("resident_id", person.as_str()),
        ("name", "孙七"),
        ("method", "id-card-seen"),
        ("new_password", "yes"),
    ];
    assert_eq!(
        form(&w, &clerk, "/counter/verify", &seen).await.status(),
        422
    );
    let code = password_code(&w, &clerk, &person, "孙七").await;
    let opened = enrol(&w, &person, &code).await;
    assert_eq!(opened.status(), 200);
    assert!(set_cookie(&opened, "__Host-tongban-session").is_none());
    let html = opened.text().await.unwrap();
    assert!(html.contains("孙七") && html.contains("/enrol/password"));
    let token = csrf_of(&html);
    // Typed differently twice, or against the policy: the form again, nothing spent.
    let new = "长沙的春天2026来了";
    assert_eq!(
        set_password(&w, &token, new, "other-words-2026")
            .await
            .status(),
        422
    );
    assert_eq!(
        set_password(&w, &token, &person, &person).await.status(),
        422
    );
    let done = set_password(&w, &token, new, new).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("新密码已设置"));
    // The old password and the old session are gone; the new password works; the
    // passkey stays; the token is spent.
    assert!(!password_works(&w, &person, PASSWORD).await);
    assert!(password_works(&w, &person, new).await);
    assert_eq!(page(&w, &old_session, "/counter").await.status(), 303);
    assert_eq!(passkeys_of(&w, &person).await, 1);
    assert_eq!(set_password(&w, &token, new, new).await.status(), 403);
    // A passkey code does not open the password form, nor the other way round.
    let posted = w
        .server
        .client
        .post(format!("{}/enrol/passkey/options", w.server.base))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 403);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'person.password_chosen'",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(audited, 1);
}
