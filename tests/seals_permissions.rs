//! Who may seal, through the real router: staff only after a level-3 login, a client
//! system only under a live grant, nobody with another department's seal (refusals are
//! audited, even with a body over the limit), and no seal once suspended or revoked.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::seal_world::*;
use support::{PASSWORD, assert_problem};
use tongban_core::time::Timestamp;
use tongban_identity::password::Passwords;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson, Role};

#[tokio::test]
async fn staff_seal_only_after_a_level_3_login() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    // A seal user of department A, registry-verified, with a password only (level 2).
    let resident_id = "110105199001010010";
    let person = {
        let now = Timestamp::now();
        let mut tx = w.server.store().begin().await.unwrap();
        let person = subjects::create_natural_person(
            &mut tx,
            &NewNaturalPerson {
                name: "职员",
                resident_id,
                email: None,
                phone: None,
            },
            now,
        )
        .await
        .unwrap();
        let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
        sso::set_password_hash(&mut tx, person, &hash)
            .await
            .unwrap();
        tongban_identity::identity_registry::import_csv(
            &mut tx,
            &format!("职员,{resident_id}\n"),
            now,
        )
        .await
        .unwrap();
        subjects::add_staff(&mut tx, person, w.a.id, "S-L2", &[Role::SealUser], now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        person
    };
    let granted = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": person.to_string()}),
    )
    .await;
    assert_eq!(granted.status(), 204);
    let level_2 = person_token(&w.server, &w.portal, resident_id, None).await;
    let refused = call(
        &w,
        &level_2,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    let problem = assert_problem(refused, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("level 3"),
        "{problem}"
    );
    // The level-3 seal user of the same department, granted the same seal, signs.
    let granted = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": subject_of(&w.a.user)}),
    )
    .await;
    assert_eq!(granted.status(), 204);
    let signed = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    // Only the level-3 signature is in the usage log.
    let usages: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/usages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        usages["items"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_else(|| usages.as_array().unwrap().len()),
        1,
        "{usages}"
    );
    w.server.stop().await;
}

#[tokio::test]
async fn department_a_cannot_use_or_manage_department_b_seals() {
    let w = world().await;
    let seal_b = new_seal(&w, &w.b).await;
    let id = seal_b["id"].as_str().unwrap();
    grant_all(&w, &w.b, id, false).await;
    let body = json!({"digests": [DIGEST]});
    for token in [&w.a.system, &w.a.user, &w.a.admin] {
        let refused = call(
            &w,
            token,
            &format!("/api/v1/seals/{id}/cades"),
            body.clone(),
        )
        .await;
        assert_problem(refused, 403, "forbidden").await;
    }
    // The refusals are audited; nothing was signed.
    assert_eq!(refusals(&w, id).await, 3);
    let log = usage_log(&w, &w.b.admin, id).await;
    assert!(log.is_empty());
    // Nor may A's administrator manage B's seals, list them, or grant them.
    let create = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.b.id),
        json!({"kind": "official", "name": "公章"}),
    )
    .await;
    assert_problem(create, 403, "forbidden").await;
    assert_problem(
        get(
            &w,
            &w.a.admin,
            &format!("/api/v1/departments/{}/seals", w.b.id),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let grant = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"staff_id": subject_of(&w.a.user)}),
    )
    .await;
    assert_problem(grant, 403, "forbidden").await;
    // B's own administrator cannot grant it to A's system either.
    let foreign = call(
        &w,
        &w.b.admin,
        &format!("/api/v1/seals/{id}/grants"),
        json!({"client_id": subject_of(&w.a.system)}),
    )
    .await;
    assert_problem(foreign, 422, "invalid-request").await;
    // B's seal user without a grant of another B seal is refused too.
    let other = new_seal(&w, &w.b).await;
    let ungranted = call(
        &w,
        &w.b.user,
        &format!("/api/v1/seals/{}/cades", other["id"].as_str().unwrap()),
        body,
    )
    .await;
    assert_problem(ungranted, 403, "forbidden").await;
    w.server.stop().await;
}

#[tokio::test]
async fn another_department_s_pdf_seal_is_refused_and_audited_even_with_a_body_over_the_limit() {
    let w = world_with(|c| c.http.document_limit_bytes = 50_000).await;
    let seal_b = new_seal(&w, &w.b).await;
    let id = seal_b["id"].as_str().unwrap();
    grant_all(&w, &w.b, id, false).await;
    // The right is checked while the document arrives; a refusal is what the caller
    // hears, whether the body fits or not.
    for pdf in [
        support::sample_pdf(1, 1_000),
        support::sample_pdf(1, 100_000),
    ] {
        let refused = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf).await;
        assert_problem(refused, 403, "forbidden").await;
    }
    assert_eq!(refusals(&w, id).await, 2);
    let log = usage_log(&w, &w.b.admin, id).await;
    assert!(log.is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn a_client_system_seals_only_under_a_live_grant() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    let pdf = || support::sample_pdf(1, 1_000);
    // Its own department's seal, but no grant yet.
    let ungranted = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    assert_problem(ungranted, 403, "forbidden").await;
    grant_all(&w, &w.a, id, false).await;
    let granted = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    assert_eq!(granted.status(), 200);
    // The grant has run out (grants are made for the future only: aged in place).
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query("UPDATE seal_grants SET expires_at = $1 WHERE seal_id = $2")
        .bind(Timestamp::now().unix_millis() - 1_000)
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let expired = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf()).await;
    let problem = assert_problem(expired, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    let cades = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_problem(cades, 403, "forbidden").await;
    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 1);
    w.server.stop().await;
}

#[tokio::test]
async fn suspended_and_revoked_seals_do_not_sign() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let sign = async || {
        call(
            &w,
            &w.a.system,
            &format!("/api/v1/seals/{id}/cades"),
            json!({"digests": [DIGEST]}),
        )
        .await
    };
    let status = async |status: &str| {
        call(
            &w,
            &w.a.admin,
            &format!("/api/v1/seals/{id}/status"),
            json!({"status": status, "reason": "test"}),
        )
        .await
    };
    assert_eq!(status("suspended").await.status(), 200);
    assert_problem(sign().await, 409, "conflict").await;
    // Seal users may not change the status.
    let by_user = call(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "active"}),
    )
    .await;
    assert_problem(by_user, 403, "forbidden").await;
    assert_eq!(status("active").await.status(), 200);
    assert_eq!(sign().await.status(), 200);
    assert_eq!(status("revoked").await.status(), 200);
    assert_problem(sign().await, 409, "conflict").await;
    assert_problem(status("active").await, 409, "conflict").await;
    // Its certificate is revoked and on the CRL.
    let mut conn = w.server.store().conn().await.unwrap();
    let certificate =
        tongban_store::pki::certificate(&mut conn, seal["certificate_serial"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(certificate.revocation.is_some());
    drop(conn);
    w.server.stop().await;
}

async fn delete(w: &World, token: &str, path: &str) -> reqwest::Response {
    w.server
        .client
        .delete(format!("{}{path}", w.server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revoked_grant_stops_the_next_use_and_only_its_department_revokes_it() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let body = json!({"digests": [DIGEST]});
    let cades = format!("/api/v1/seals/{id}/cades");
    assert_eq!(
        call(&w, &w.a.system, &cades, body.clone()).await.status(),
        200
    );
    let path = format!(
        "/api/v1/seals/{id}/grants/client/{}",
        subject_of(&w.a.system)
    );
    // Department B's administrator, A's seal user and A's system cannot revoke it.
    for token in [&w.b.admin, &w.a.user, &w.a.system] {
        assert_problem(delete(&w, token, &path).await, 403, "forbidden").await;
    }
    assert_eq!(
        call(&w, &w.a.system, &cades, body.clone()).await.status(),
        200
    );
    // A's administrator does; the system's next use is refused, the user's grant stays.
    assert_eq!(delete(&w, &w.a.admin, &path).await.status(), 204);
    assert_problem(
        call(&w, &w.a.system, &cades, body.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(call(&w, &w.a.user, &cades, body).await.status(), 200);
    let grants: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/grants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
    // Twice, or of a kind that does not exist.
    assert_problem(delete(&w, &w.a.admin, &path).await, 404, "not-found").await;
    let odd = format!("/api/v1/seals/{id}/grants/robot/x");
    assert_problem(delete(&w, &w.a.admin, &odd).await, 422, "invalid-request").await;
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT change FROM seal_history WHERE seal_id = $1 AND change = 'ungranted'",
    )
    .bind(id)
    .fetch_all(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(history.len(), 1);
    w.server.stop().await;
}
