//! The platform administration API through the real router: an administration client
//! (client_credentials, scope `admin`) builds departments, persons, agents, staff,
//! clients and registry entries; every boundary and bad input is a test.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{TestServer, assert_problem};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::identity_registry::IdentityRegistry as _;

/// A client allowed `scopes` by client_credentials; returns its access token.
async fn token_for(server: &TestServer, scopes: &[&str]) -> String {
    let mut tx = server.store().begin().await.unwrap();
    let new = NewClient {
        name: "Operations console".into(),
        confidential: true,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        grant_types: vec!["client_credentials".into()],
        ..NewClient::default()
    };
    let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let response = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(&client.id, secret)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn call(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> reqwest::Response {
    call(server, token, reqwest::Method::POST, path, Some(body)).await
}

#[tokio::test]
async fn an_admin_client_builds_the_platform() {
    let server = TestServer::start().await;
    let admin = token_for(&server, &["admin"]).await;

    let province = post(
        &server,
        &admin,
        "/api/v1/admin/departments",
        json!({"name": "浙江省市场监督管理局", "uscc": "91350100M000100Y43", "level": "province"}),
    )
    .await;
    assert_eq!(province.status(), 201);
    let province: Value = province.json().await.unwrap();
    let city = post(
        &server,
        &admin,
        "/api/v1/admin/departments",
        json!({"name": "杭州市市场监督管理局", "uscc": "11430000006122244L", "level": "city",
               "parent_id": province["id"]}),
    )
    .await;
    assert_eq!(city.status(), 201);
    let city: Value = city.json().await.unwrap();
    let listed: Value = call(
        &server,
        &admin,
        reqwest::Method::GET,
        "/api/v1/admin/departments",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["level"], "province");
    assert_eq!(listed[1]["id"], city["id"]);

    let person = post(
        &server,
        &admin,
        "/api/v1/admin/persons",
        json!({"name": "张三", "resident_id": "11010519491231002X",
               "email": "zhang.san@example.cn", "phone": "+8613800138000",
               "password": "green mountains and blue seas"}),
    )
    .await;
    assert_eq!(person.status(), 201);
    let person: Value = person.json().await.unwrap();
    let company = post(
        &server,
        &admin,
        "/api/v1/admin/legal-persons",
        json!({"name": "杭州某某科技有限公司", "uscc": "11100000000013338W"}),
    )
    .await;
    assert_eq!(company.status(), 201);
    let company: Value = company.json().await.unwrap();
    let agent = post(
        &server,
        &admin,
        "/api/v1/admin/agents",
        json!({"agent_id": person["id"], "legal_person_id": company["id"], "role": "legal-representative"}),
    )
    .await;
    assert_eq!(agent.status(), 204);
    let staff_path = format!(
        "/api/v1/admin/departments/{}/staff",
        city["id"].as_str().unwrap()
    );
    let staff_body = json!({"subject_id": person["id"], "staff_number": "HZ-0001",
                            "roles": ["issuer", "seal-user"]});
    let staff = post(&server, &admin, &staff_path, staff_body.clone()).await;
    assert_eq!(staff.status(), 204);
    let again = post(&server, &admin, &staff_path, staff_body).await;
    assert_problem(again, 409, "conflict").await;

    let portal = post(
        &server,
        &admin,
        "/api/v1/admin/clients",
        json!({"name": "Portal", "confidential": true, "redirect_uris": ["https://portal.example.gov.cn/cb"],
               "scopes": ["openid", "profile"], "grant_types": ["authorization_code", "refresh_token"],
               "first_party": true}),
    )
    .await;
    assert_eq!(portal.status(), 201);
    let portal: Value = portal.json().await.unwrap();
    let secret = portal["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "≥ 256 bits in base64url");
    let listed: Value = call(
        &server,
        &admin,
        reqwest::Method::GET,
        "/api/v1/admin/clients",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none()),
        "secrets are never listed: {listed}"
    );

    let imported = post(
        &server,
        &admin,
        "/api/v1/admin/registry",
        json!({"entries": [{"name": "张三", "resident_id": "11010519491231002X"}]}),
    )
    .await;
    assert_eq!(imported.json::<Value>().await.unwrap()["imported"], 1);

    let reset = post(
        &server,
        &admin,
        &format!(
            "/api/v1/admin/persons/{}/password-reset",
            person["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(reset.status(), 200);
    let temporary: Value = reset.json().await.unwrap();
    assert!(temporary["temporary_password"].as_str().unwrap().len() >= 16);

    // Every change has its audit record, with the admin client as actor and no
    // resident ID number in it.
    let mut conn = server.store().conn().await.unwrap();
    let events = tongban_store::audit::for_target(&mut conn, person["id"].as_str().unwrap())
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["person.created", "person.password_reset"]);
    assert!(events.iter().all(|e| e.actor.starts_with("client:")));
    assert!(
        events
            .iter()
            .all(|e| !e.details.contains("11010519491231002X"))
    );
    drop(conn);
    server.stop().await;
}

#[tokio::test]
async fn without_the_admin_scope_or_a_valid_token_nothing_is_changed() {
    let server = TestServer::start().await;
    let body = json!({"name": "浙江省大数据局", "uscc": "91350100M000100Y43", "level": "province"});
    let no_token = server
        .client
        .post(format!("{}/api/v1/admin/departments", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(no_token, 401, "unauthorized").await;
    let forged = post(
        &server,
        "eyJhbGciOiJub25lIn0.e30.",
        "/api/v1/admin/departments",
        body.clone(),
    )
    .await;
    assert_problem(forged, 401, "unauthorized").await;
    let issuer = token_for(&server, &["ecert:issue"]).await;
    let refused = post(&server, &issuer, "/api/v1/admin/departments", body).await;
    let problem = assert_problem(refused, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("admin"));
    let mut conn = server.store().conn().await.unwrap();
    let admin = tongban_identity::caller::Caller {
        subject: "x".into(),
        client_id: "x".into(),
        scopes: vec!["admin".into()],
        request_id: None,
        acr: None,
        delegation: None,
    }
    .admin()
    .unwrap();
    let departments = tongban_identity::admin::departments(&mut conn, &admin)
        .await
        .unwrap();
    assert!(departments.is_empty(), "nothing was created");
    drop(conn);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let server = TestServer::start().await;
    let admin = token_for(&server, &["admin"]).await;
    let cases = [
        (
            "/api/v1/admin/persons",
            json!({"name": "李四", "resident_id": "110105194912310021"}),
            "resident_id",
        ),
        (
            "/api/v1/admin/persons",
            json!({"name": "李四", "resident_id": "11010519491231002X", "phone": "call me"}),
            "phone",
        ),
        (
            "/api/v1/admin/legal-persons",
            json!({"name": "某公司", "uscc": "91330106MA2CFE5X0C"}),
            "uscc",
        ),
        (
            "/api/v1/admin/departments",
            json!({"name": "某局", "uscc": "91350100M000100Y43", "level": "village"}),
            "level",
        ),
        (
            "/api/v1/admin/departments",
            json!({"name": "某市局", "uscc": "91350100M000100Y43", "level": "city"}),
            "parent_id",
        ),
        (
            "/api/v1/admin/persons",
            json!({"name": "李四", "resident_id": "11010519491231002X", "password": "password"}),
            "password",
        ),
        (
            "/api/v1/admin/clients",
            json!({"name": "Portal", "confidential": true, "redirect_uris": ["http://evil.example/cb"],
                   "scopes": ["openid"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
        ),
        (
            "/api/v1/admin/registry",
            json!({"entries": [{"name": "王五", "resident_id": "11010519491231002X"},
                               {"name": "赵六", "resident_id": "123"}]}),
            "entries: line 1",
        ),
    ];
    for (path, body, field) in cases {
        let response = post(&server, &admin, path, body).await;
        let problem = assert_problem(response, 422, "invalid-request").await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with(field),
            "{path}: {problem}"
        );
    }
    // The registry import is all or nothing: the valid first entry was not kept.
    let id: tongban_identity::resident_id::ResidentId = "11010519491231002X".parse().unwrap();
    assert!(
        !tongban_identity::identity_registry::TableRegistry::new(server.store().clone())
            .matches("王五", &id)
            .await
            .unwrap()
    );
    let duplicate = json!({"name": "张三", "resident_id": "11010519491231002X"});
    assert_eq!(
        post(&server, &admin, "/api/v1/admin/persons", duplicate.clone())
            .await
            .status(),
        201
    );
    let taken = post(&server, &admin, "/api/v1/admin/persons", duplicate).await;
    assert_problem(taken, 409, "conflict").await;
    let unknown = post(
        &server,
        &admin,
        "/api/v1/admin/persons/not-an-id/password-reset",
        json!({}),
    )
    .await;
    assert_problem(unknown, 422, "invalid-request").await;
    let missing = post(
        &server,
        &admin,
        &format!(
            "/api/v1/admin/persons/{}/password-reset",
            tongban_identity::subjects::SubjectId::new()
        ),
        json!({}),
    )
    .await;
    assert_problem(missing, 404, "not-found").await;
    server.stop().await;
}

/// A client_credentials token of `id` with `secret`: the token endpoint's answer.
async fn credentials(server: &TestServer, id: &str, secret: &str) -> reqwest::Response {
    server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_secret_rotates_with_a_grace_period_and_a_disabled_client_gets_nothing() {
    let server = TestServer::start().await;
    let admin = token_for(&server, &["admin"]).await;
    let body = json!({"name": "部门运维系统", "confidential": true, "scopes": ["admin"],
                      "grant_types": ["client_credentials"]});
    let created: Value = post(&server, &admin, "/api/v1/admin/clients", body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let first = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(credentials(&server, &id, &first).await.status(), 200);
    // A new secret; the first keeps working for the grace period.
    let path = format!("/api/v1/admin/clients/{id}/secret");
    let rotated = post(&server, &admin, &path, json!({"grace_seconds": 3600})).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let until = rotated["previous_secret_valid_until"].as_i64().unwrap();
    assert!(until > Timestamp::now().unix_millis() + 3_500_000);
    assert_eq!(credentials(&server, &id, &second).await.status(), 200);
    assert_eq!(credentials(&server, &id, &first).await.status(), 200);
    // Another rotation with grace while the first is in its own would end the first,
    // which may be the one deployed: refused, and both secrets still work.
    assert_problem(
        post(&server, &admin, &path, json!({"grace_seconds": 3600})).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(credentials(&server, &id, &first).await.status(), 200);
    assert_eq!(credentials(&server, &id, &second).await.status(), 200);
    // Rotated again without grace: the second stops at once, the first too.
    let third: Value = post(&server, &admin, &path, json!({"grace_seconds": 0}))
        .await
        .json()
        .await
        .unwrap();
    let third = third["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(credentials(&server, &id, &second).await.status(), 401);
    assert_eq!(credentials(&server, &id, &first).await.status(), 401);
    let token: Value = credentials(&server, &id, &third)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let listed = call(
        &server,
        &token,
        reqwest::Method::GET,
        "/api/v1/admin/clients",
        None,
    )
    .await;
    assert_eq!(listed.status(), 200);
    // Bad rotations.
    let long = post(
        &server,
        &admin,
        &path,
        json!({"grace_seconds": 40 * 86_400}),
    )
    .await;
    assert_problem(long, 422, "invalid-request").await;
    let unknown = post(
        &server,
        &admin,
        "/api/v1/admin/clients/nope/secret",
        json!({}),
    )
    .await;
    assert_problem(unknown, 404, "not-found").await;
    let public: Value = post(
        &server,
        &admin,
        "/api/v1/admin/clients",
        json!({"name": "公共应用", "confidential": false, "scopes": ["openid"],
               "grant_types": ["authorization_code"], "redirect_uris": ["https://app.example.cn/cb"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let public_path = format!(
        "/api/v1/admin/clients/{}/secret",
        public["client_id"].as_str().unwrap()
    );
    assert_problem(
        post(&server, &admin, &public_path, json!({})).await,
        409,
        "conflict",
    )
    .await;
    let issuer = token_for(&server, &["ecert:issue"]).await;
    assert_problem(
        post(&server, &issuer, &path, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    // Disabled: its token stops at once and it gets no new one; enabled, it does again.
    let disable = format!("/api/v1/admin/clients/{id}/disable");
    let disabled = post(&server, &admin, &disable, json!({})).await;
    assert_eq!(disabled.status(), 200);
    assert!(disabled.json::<Value>().await.unwrap()["disabled_at"].is_i64());
    let stopped = call(
        &server,
        &token,
        reqwest::Method::GET,
        "/api/v1/admin/clients",
        None,
    )
    .await;
    assert_problem(stopped, 401, "unauthorized").await;
    assert_eq!(credentials(&server, &id, &third).await.status(), 401);
    let enable = format!("/api/v1/admin/clients/{id}/enable");
    assert_eq!(
        post(&server, &admin, &enable, json!({})).await.status(),
        200
    );
    assert_eq!(credentials(&server, &id, &third).await.status(), 200);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE target = $1 ORDER BY occurred_at, id",
    )
    .bind(&id)
    .fetch_all(&mut *server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "client.created",
            "client.secret-rotated",
            "client.secret-rotated",
            "client.disabled",
            "client.enabled"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn staff_roles_memberships_and_agent_links_are_ended() {
    let server = TestServer::start().await;
    let admin = token_for(&server, &["admin"]).await;
    let city: Value = post(
        &server,
        &admin,
        "/api/v1/admin/departments",
        json!({"name": "杭州市市场监督管理局", "uscc": "11430000006122244L", "level": "province"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let person: Value = post(
        &server,
        &admin,
        "/api/v1/admin/persons",
        json!({"name": "张三", "resident_id": "11010519491231002X",
               "password": "green mountains and blue seas"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let company: Value = post(
        &server,
        &admin,
        "/api/v1/admin/legal-persons",
        json!({"name": "杭州某某科技有限公司", "uscc": "11100000000013338W"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let (city, person, company) = (
        city["id"].as_str().unwrap().to_owned(),
        person["id"].as_str().unwrap().to_owned(),
        company["id"].as_str().unwrap().to_owned(),
    );
    let staff = format!("/api/v1/admin/departments/{city}/staff");
    let body =
        json!({"subject_id": person, "staff_number": "HZ-0001", "roles": ["issuer", "seal-user"]});
    assert_eq!(post(&server, &admin, &staff, body).await.status(), 204);
    let roles = async || -> Vec<String> {
        sqlx::query_scalar("SELECT role FROM staff_roles WHERE subject_id = $1 ORDER BY role")
            .bind(&person)
            .fetch_all(&mut *server.store().conn().await.unwrap())
            .await
            .unwrap()
    };
    let delete = async |token: &str, path: &str| {
        call(&server, token, reqwest::Method::DELETE, path, None).await
    };
    // One role, then the membership.
    let member = format!("{staff}/{person}");
    assert_eq!(
        delete(&admin, &format!("{member}?role=issuer"))
            .await
            .status(),
        204
    );
    assert_eq!(roles().await, ["seal-user"]);
    assert_problem(
        delete(&admin, &format!("{member}?role=issuer")).await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        delete(&admin, &format!("{member}?role=king")).await,
        422,
        "invalid-request",
    )
    .await;
    let issuer = token_for(&server, &["ecert:issue"]).await;
    assert_problem(delete(&issuer, &member).await, 403, "forbidden").await;
    assert_eq!(delete(&admin, &member).await.status(), 204);
    assert!(roles().await.is_empty());
    assert_problem(delete(&admin, &member).await, 404, "not-found").await;
    // The number is free again.
    let body = json!({"subject_id": person, "staff_number": "HZ-0001", "roles": ["issuer"]});
    assert_eq!(post(&server, &admin, &staff, body).await.status(), 204);
    // An agent link ends at once; the agent is signed out everywhere.
    let link =
        json!({"agent_id": person, "legal_person_id": company, "role": "legal-representative"});
    assert_eq!(
        post(&server, &admin, "/api/v1/admin/agents", link)
            .await
            .status(),
        204
    );
    let session = support::account_session(
        &server,
        "11010519491231002X",
        "green mountains and blue seas",
    )
    .await;
    let agent = format!("/api/v1/admin/agents/{company}/{person}");
    assert_problem(delete(&issuer, &agent).await, 403, "forbidden").await;
    assert_eq!(delete(&admin, &agent).await.status(), 204);
    assert_problem(delete(&admin, &agent).await, 404, "not-found").await;
    let page = server
        .client
        .get(format!("{}/account", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"identifier\""),
        "signed out: the login form"
    );
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM agent_links WHERE natural_id = $1 AND (valid_until IS NULL OR valid_until > $2)",
    )
    .bind(&person)
    .bind(Timestamp::now().unix_millis())
    .fetch_one(&mut *server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(live, 0);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action IN ('staff.removed', 'agent.ended') ORDER BY occurred_at, id",
    )
    .fetch_all(&mut *server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(actions, ["staff.removed", "staff.removed", "agent.ended"]);
    server.stop().await;
}

#[tokio::test]
async fn people_are_found_without_their_whole_number_and_a_deactivated_person_cannot_sign_in() {
    let server = TestServer::start().await;
    let admin = token_for(&server, &["admin"]).await;
    let password = "green mountains and blue seas";
    let mut ids = Vec::new();
    for (name, number, email) in [
        ("张三", "11010519491231002X", "zhang.san@example.cn"),
        ("张三丰", "110105198001010024", "zsf@example.cn"),
        ("李四", "110105197505050121", "li.si@example.cn"),
    ] {
        let created: Value = post(
            &server,
            &admin,
            "/api/v1/admin/persons",
            json!({"name": name, "resident_id": number, "email": email, "password": password}),
        )
        .await
        .json()
        .await
        .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let find = async |query: &str| -> Value {
        let path = format!("/api/v1/admin/persons?{query}");
        let answer = call(&server, &admin, reqwest::Method::GET, &path, None).await;
        assert_eq!(answer.status(), 200, "{query}");
        answer.json().await.unwrap()
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&find("q=%E5%BC%A0%E4%B8%89").await),
        ["张三", "张三丰"]
    );
    assert_eq!(names(&find("q=zsf%40example.cn").await), ["张三丰"]);
    let by_number = find("q=11010519491231002x").await;
    assert_eq!(names(&by_number), ["张三"]);
    assert_eq!(
        by_number["items"][0]["resident_id_masked"],
        "110105********002X"
    );
    assert!(
        !by_number.to_string().contains("19491231"),
        "never the whole number"
    );
    assert_eq!(names(&find("q=110105********0121").await), ["李四"]);
    assert!(
        names(&find("q=%25").await).is_empty(),
        "% is a character, not a wildcard"
    );
    // Pages.
    let first = find("limit=2").await;
    assert_eq!(names(&first).len(), 2);
    let next = first["next"].as_str().unwrap();
    let second = find(&format!("limit=2&after={next}")).await;
    assert_eq!(names(&second), ["李四"]);
    assert!(second.get("next").is_none());
    let bad = call(
        &server,
        &admin,
        reqwest::Method::GET,
        "/api/v1/admin/persons?limit=1000",
        None,
    )
    .await;
    assert_problem(bad, 422, "invalid-request").await;
    let issuer = token_for(&server, &["ecert:issue"]).await;
    let refused = call(
        &server,
        &issuer,
        reqwest::Method::GET,
        "/api/v1/admin/persons",
        None,
    )
    .await;
    assert_problem(refused, 403, "forbidden").await;
    // Deactivated: signed out, no login; reactivated: the same password works.
    let session = support::account_session(&server, "11010519491231002X", password).await;
    let deactivate = format!("/api/v1/admin/persons/{}/deactivate", ids[0]);
    assert_problem(
        post(&server, &issuer, &deactivate, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        post(&server, &admin, &deactivate, json!({})).await.status(),
        204
    );
    assert_eq!(
        post(&server, &admin, &deactivate, json!({})).await.status(),
        204
    );
    let html = server
        .client
        .get(format!("{}/account", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"identifier\""), "signed out");
    let page = server.get("/account").await;
    let (login, _, _) =
        support::password_login(&server, page, "11010519491231002X", password).await;
    assert_ne!(login.status(), 303, "no login while deactivated");
    let listed = find("q=11010519491231002X").await;
    assert!(listed["items"][0]["deactivated_at"].is_i64());
    let reactivate = format!("/api/v1/admin/persons/{}/reactivate", ids[0]);
    assert_eq!(
        post(&server, &admin, &reactivate, json!({})).await.status(),
        204
    );
    let page = server.get("/account").await;
    let (login, _, _) =
        support::password_login(&server, page, "11010519491231002X", password).await;
    assert_eq!(login.status(), 303);
    let unknown = "/api/v1/admin/persons/0190f5c2-0000-7000-8000-000000000000/deactivate";
    assert_problem(
        post(&server, &admin, unknown, json!({})).await,
        404,
        "not-found",
    )
    .await;
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE target = $1 AND action LIKE 'person.%' ORDER BY occurred_at, id",
    )
    .bind(&ids[0])
    .fetch_all(&mut *server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["person.created", "person.deactivated", "person.reactivated"]
    );
    server.stop().await;
}
