//! At the counter (线下窗口协办) through the real router: a clerk (staff with the
//! counter role, signed in at level 3) checks a person's ID card, which makes the
//! person's identity verified even though the registry does not know them, and prints
//! a one-time code; the person types it on their own phone, lands on their account
//! page and adds their first passkey. The refusals, each a test: no counter role, a
//! clerk below level 3, an unknown person, a code used twice or mistyped too often.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use support::esign_world::{
    self as world, LI, World, ZHAO, add_passkey, csrf, form, page, session,
};
use support::{PASSWORD, resident_id, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::password::Passwords;
use tongban_identity::subjects::{self, Role};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

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

async fn enrol(w: &World, code: &str) -> reqwest::Response {
    w.server
        .client
        .post(format!("{}/enrol", w.server.base))
        .form(&[("code", code)])
        .send()
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
    // Seen at the counter: a verified identity from now on.
    assert!(level_of(&w, &person).await.starts_with("二级"));

    // On their phone: the code, typed loosely, signs them in once.
    let typed = code.to_lowercase().replace('-', " ");
    let signed = enrol(&w, &typed).await;
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/account");
    let cookie = format!(
        "__Host-tongban-session={}",
        set_cookie(&signed, "__Host-tongban-session").unwrap()
    );
    let mut phone = SoftPasskey::new(true);
    add_passkey(&w, &cookie, &mut phone).await;
    let listed = page(&w, &cookie, "/account").await.text().await.unwrap();
    assert!(listed.contains("手机"), "the passkey is listed");
    assert_eq!(enrol(&w, &code).await.status(), 401, "once only");
}

#[tokio::test]
async fn only_counter_clerks_at_level_3_verify_and_only_registered_people() {
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
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM in_person_verifications")
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing recorded for refused checks");
}

#[tokio::test]
async fn wrong_codes_are_refused_and_throttled() {
    let w = world::world().await;
    let _ = counter_world(&w).await;
    let mut last = 0;
    for _ in 0..30 {
        last = enrol(&w, "0000-0000").await.status().as_u16();
        if last == 429 {
            break;
        }
        assert_eq!(last, 401);
    }
    assert_eq!(last, 429, "guessing is throttled per address");
}
