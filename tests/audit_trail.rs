//! Reading the audit trail through the real router: a platform administrator reads all
//! of it, a department administrator only their department's (never another's, and
//! not with a token of other scopes), with filters, cursor pages and a CSV export.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::seal_world::{self, PORTAL, World, get, grant_all, new_seal, subject_of};
use support::{PASSWORD, assert_problem};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;

/// A department administrator of A (registered here, made staff by the platform
/// administrator through the API); returns their token with scope `audit:read`.
async fn department_admin_of_a(w: &World, admin: &str) -> String {
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    let mut tx = w.server.store().begin().await.unwrap();
    let (person, _) = support::person_with_login(&mut tx, "110105197505050121", &hash, None).await;
    let (portal, secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "Department console".into(),
            confidential: true,
            redirect_uris: vec![PORTAL.into()],
            scopes: vec!["openid".into(), "audit:read".into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..NewClient::default()
        },
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let added = w
        .server
        .client
        .post(format!(
            "{}/api/v1/admin/departments/{}/staff",
            w.server.base, w.a.id
        ))
        .bearer_auth(admin)
        .json(&json!({"subject_id": person.to_string(), "staff_number": "DA1", "roles": ["dept-admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 204);
    support::login_token(
        &w.server,
        &(portal.id, secret.unwrap()),
        PORTAL,
        "openid audit:read",
        "110105197505050121",
        PASSWORD,
        None,
    )
    .await
}

async fn admin_token(w: &World) -> String {
    let mut tx = w.server.store().begin().await.unwrap();
    let (client, secret) = clients::register(
        &mut tx,
        &NewClient {
            name: "Operations".into(),
            confidential: true,
            scopes: vec!["admin".into()],
            grant_types: vec!["client_credentials".into()],
            ..NewClient::default()
        },
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    support::client_token(&w.server, &client.id, &secret.unwrap()).await
}

async fn page(w: &World, token: &str, query: &str) -> Value {
    let response = get(w, token, &format!("/api/v1/audit-events?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_administrator_reads_what_is_theirs() {
    let w = seal_world::world().await;
    let admin = admin_token(&w).await;
    let seal_a = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    let seal_b = new_seal(&w, &w.b).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &seal_a, false).await;
    let reader = department_admin_of_a(&w, &admin).await;

    // The department administrator: A's seal changes and staff, nothing of B's.
    let mine = page(&w, &reader, "limit=200").await;
    let items = mine["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|e| e["department"] == json!(w.a.id.to_string()))
    );
    let targets: Vec<&str> = items.iter().filter_map(|e| e["target"].as_str()).collect();
    assert!(targets.contains(&seal_a.as_str()));
    assert!(!targets.contains(&seal_b.as_str()));
    let mine_actions = actions(&mine);
    for action in ["seal.created", "seal.granted", "staff.added"] {
        assert!(mine_actions.iter().any(|a| a == action), "{action}");
    }
    // Newest first (compared as instants: RFC 3339 text drops trailing zeros).
    let times: Vec<Timestamp> = items
        .iter()
        .map(|e| Timestamp::parse_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|t| t[0] >= t[1]), "{times:?}");

    // Another department's trail is refused, asked for by name.
    let theirs = get(
        &w,
        &reader,
        &format!("/api/v1/audit-events?department={}", w.b.id),
    )
    .await;
    assert_problem(theirs, 403, "forbidden").await;
    let theirs = get(
        &w,
        &reader,
        &format!("/api/v1/audit-events/export?department={}", w.b.id),
    )
    .await;
    assert_problem(theirs, 403, "forbidden").await;
    // A seal administrator (not a department administrator) reads nothing, and
    // neither does a department system.
    for token in [&w.a.admin, &w.a.system] {
        let refused = get(&w, token, "/api/v1/audit-events").await;
        assert_problem(refused, 403, "forbidden").await;
    }
    let anonymous = w
        .server
        .client
        .get(format!("{}/api/v1/audit-events", w.server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // The platform administrator: both departments, and each one by filter.
    let all = page(&w, &admin, "limit=200").await;
    let all_targets: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert!(all_targets.contains(&seal_a.as_str()) && all_targets.contains(&seal_b.as_str()));
    let only_b = page(&w, &admin, &format!("department={}&limit=200", w.b.id)).await;
    assert!(!only_b["items"].as_array().unwrap().is_empty());
    assert!(
        only_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["department"] == json!(w.b.id.to_string()))
    );

    // Filters: an action prefix, an exact action, an actor, a target, a time range.
    let seals = page(&w, &admin, "action=seal.*&limit=200").await;
    assert!(actions(&seals).iter().all(|a| a.starts_with("seal.")));
    assert!(actions(&seals).len() >= 4, "two created, two granted");
    let granted = page(&w, &admin, "action=seal.granted").await;
    assert_eq!(actions(&granted), ["seal.granted", "seal.granted"]);
    let by_b = format!("subject:{}", subject_of(&w.b.admin));
    let by_b_page = page(&w, &admin, &format!("actor={by_b}")).await;
    assert_eq!(actions(&by_b_page), ["seal.created"]);
    let about_b = page(&w, &admin, &format!("target={seal_b}")).await;
    assert_eq!(actions(&about_b), ["seal.created"]);
    let future = page(&w, &admin, "from=2099-01-01T00:00:00%2B08:00").await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let past = page(&w, &admin, "until=2000-01-01T00:00:00Z").await;
    assert!(past["items"].as_array().unwrap().is_empty());
    let now = page(
        &w,
        &admin,
        "from=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00Z&limit=200",
    )
    .await;
    assert_eq!(now["items"], all["items"]);
}

#[tokio::test]
async fn pages_follow_one_another_without_gaps_and_the_export_matches() {
    let w = seal_world::world().await;
    let admin = admin_token(&w).await;
    for _ in 0..3 {
        let seal = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
        grant_all(&w, &w.a, &seal, false).await;
    }
    let whole = page(&w, &admin, "limit=200").await;
    assert!(whole.get("next").is_none());
    let mut walked = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let part = page(&w, &admin, &query).await;
        let items = part["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        walked.extend(items.iter().cloned());
        match part["next"].as_str() {
            Some(next) => query = format!("limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(Value::Array(walked), whole["items"]);

    let export = get(&w, &admin, "/api/v1/audit-events/export?action=seal.*").await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = export.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "id",
            "occurred_at",
            "actor",
            "action",
            "target",
            "department",
            "request_id",
            "details"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let seals = page(&w, &admin, "action=seal.*&limit=200").await;
    let ids: Vec<&str> = seals["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let row_ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(row_ids, ids);
    for row in &rows {
        let details: Value = serde_json::from_str(row.get(7).unwrap()).unwrap();
        assert!(details.is_object());
        assert!(row.get(3).unwrap().starts_with("seal."));
    }
}

#[tokio::test]
async fn bad_filters_and_cursors_are_clear_problems() {
    let w = seal_world::world().await;
    let admin = admin_token(&w).await;
    for query in [
        "limit=0",
        "limit=201",
        "after=garbage",
        "after=1.not-an-id",
        "from=yesterday",
        "until=2026-13-01T00:00:00Z",
        "from=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z",
        "department=not-a-department",
    ] {
        let response = get(&w, &admin, &format!("/api/v1/audit-events?{query}")).await;
        let problem = assert_problem(response, 422, "invalid-request").await;
        assert!(problem["detail"].as_str().is_some(), "{query}");
    }
    let response = get(&w, &admin, "/api/v1/audit-events?limit=many").await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = get(&w, &admin, "/api/v1/audit-events/export?from=soon").await;
    assert_problem(response, 422, "invalid-request").await;
}
