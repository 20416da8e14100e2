//! Identity rules that need the database: login throttling across instances, on both
//! engines.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TestDb, test_config};
use tongban_core::time::Timestamp;
use tongban_identity::throttle::{self, ACCOUNT_THRESHOLD, ThrottleKey, WINDOW_MS};
use tongban_store::Store;

async fn store() -> (Store, TestDb) {
    let db = TestDb::new().await;
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, db)
}

#[tokio::test]
async fn repeated_failures_lock_an_account_with_growing_back_off() {
    let (store, _db) = store().await;
    let key = ThrottleKey::account(" Zhang.San@Example.cn ");
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    let mut conn = store.conn().await.unwrap();
    for _ in 0..ACCOUNT_THRESHOLD {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, t0).await.unwrap(),
            None
        );
    }
    assert_eq!(
        throttle::check(&mut conn, std::slice::from_ref(&key), t0)
            .await
            .unwrap(),
        Ok(())
    );
    let first = throttle::record_failure(&mut conn, &key, t0)
        .await
        .unwrap()
        .unwrap();
    let second = throttle::record_failure(&mut conn, &key, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.retry_after_secs, second.retry_after_secs), (1, 2));
    // The same identifier typed differently is the same key.
    let same = ThrottleKey::account("zhang.san@example.cn");
    let locked = throttle::check(&mut conn, &[same], t0)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(locked.retry_after_secs, 2);
    // The lock ends by itself; success clears the count.
    let later = Timestamp::from_unix_millis(t0.unix_millis() + 2_001);
    assert_eq!(
        throttle::check(&mut conn, std::slice::from_ref(&key), later)
            .await
            .unwrap(),
        Ok(())
    );
    throttle::clear(&mut conn, &key).await.unwrap();
    assert_eq!(
        throttle::record_failure(&mut conn, &key, later)
            .await
            .unwrap(),
        None
    );
    drop(conn);
    store.close().await;
}

#[tokio::test]
async fn failures_outside_the_window_start_a_new_count() {
    let (store, _db) = store().await;
    let key = ThrottleKey::address("203.0.113.7".parse().unwrap());
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    let mut conn = store.conn().await.unwrap();
    for _ in 0..20 {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, t0).await.unwrap(),
            None
        );
    }
    // After the window a new count starts: 20 more failures pass, the 21st locks.
    let after_window = Timestamp::from_unix_millis(t0.unix_millis() + WINDOW_MS + 1);
    for _ in 0..20 {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, after_window)
                .await
                .unwrap(),
            None
        );
    }
    assert!(
        throttle::record_failure(&mut conn, &key, after_window)
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);
    store.close().await;
}

mod subjects {
    use super::*;
    use tongban_identity::subjects::{
        self, AgentRole, Level, NewNaturalPerson, Role, SubjectError,
    };

    const NOW: Timestamp = Timestamp::from_unix_millis(1_795_800_000_000);

    #[tokio::test]
    async fn departments_form_a_hierarchy_by_level() {
        let (store, _db) = store().await;
        let mut tx = store.begin().await.unwrap();
        let province = subjects::create_department(
            &mut tx,
            "湖南省市场监督管理局",
            "11430000006122244L",
            Level::Province,
            None,
            NOW,
        )
        .await
        .unwrap();
        let city = subjects::create_department(
            &mut tx,
            "长沙市市场监督管理局",
            "91350100M000100Y43",
            Level::City,
            Some(province.id),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(city.parent_id, Some(province.id));
        // A county directly under a province skips a level.
        let err = subjects::create_department(
            &mut tx,
            "某县",
            "11100000000013338W",
            Level::County,
            Some(province.id),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                SubjectError::Invalid {
                    field: "parent_id",
                    ..
                }
            ),
            "{err:?}"
        );
        // A bad code names the field; a reused one says it is taken.
        let err = subjects::create_department(
            &mut tx,
            "某县",
            "91350100M000100Y44",
            Level::County,
            Some(city.id),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, SubjectError::Invalid { field: "uscc", .. }),
            "{err:?}"
        );
        let err = subjects::create_department(
            &mut tx,
            "某县",
            "11430000006122244L",
            Level::County,
            Some(city.id),
            NOW,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, SubjectError::Taken { field: "uscc" }),
            "{err:?}"
        );
        tx.commit().await.unwrap();
        store.close().await;
    }

    #[tokio::test]
    async fn persons_agents_and_staff_with_roles() {
        let (store, _db) = store().await;
        let mut tx = store.begin().await.unwrap();
        let person = NewNaturalPerson {
            name: "张三",
            resident_id: "11010519491231002x",
            email: Some("Zhang.San@Example.cn"),
            phone: None,
        };
        let zhang = subjects::create_natural_person(&mut tx, &person, NOW)
            .await
            .unwrap();
        let found = subjects::find_by_resident_id(&mut tx, &"11010519491231002X".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(found, Some(zhang));
        let again = subjects::create_natural_person(&mut tx, &person, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                SubjectError::Taken {
                    field: "resident_id"
                }
            ),
            "{again:?}"
        );
        let bad = NewNaturalPerson {
            name: "李四",
            resident_id: "110105194912310021",
            email: None,
            phone: None,
        };
        let err = subjects::create_natural_person(&mut tx, &bad, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SubjectError::Invalid {
                    field: "resident_id",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("check character"), "{err}");

        let company =
            subjects::create_legal_person(&mut tx, "某某科技有限公司", "91350100M000100Y43", NOW)
                .await
                .unwrap();
        let until = Timestamp::from_unix_millis(NOW.unix_millis() + 86_400_000);
        subjects::link_agent(&mut tx, zhang, company, AgentRole::Agent, NOW, Some(until))
            .await
            .unwrap();
        assert_eq!(
            subjects::represented_by(&mut tx, zhang, NOW).await.unwrap(),
            vec![company]
        );
        assert!(
            subjects::represented_by(&mut tx, zhang, until)
                .await
                .unwrap()
                .is_empty()
        );
        // Roles are checked both ways round: a company cannot be an agent.
        let err = subjects::link_agent(&mut tx, company, zhang, AgentRole::Agent, NOW, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SubjectError::Invalid {
                    field: "agent_id",
                    ..
                }
            ),
            "{err:?}"
        );

        let dept = subjects::create_department(
            &mut tx,
            "湖南省市场监督管理局",
            "11430000006122244L",
            Level::Province,
            None,
            NOW,
        )
        .await
        .unwrap();
        subjects::add_staff(
            &mut tx,
            zhang,
            dept.id,
            "HN-0001",
            &[Role::SealUser, Role::Issuer],
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            subjects::roles_in(&mut tx, zhang, dept.id).await.unwrap(),
            vec![Role::Issuer, Role::SealUser]
        );
        let other = subjects::create_department(
            &mut tx,
            "北京市某局",
            "11100000000013338W",
            Level::Province,
            None,
            NOW,
        )
        .await
        .unwrap();
        assert!(
            subjects::roles_in(&mut tx, zhang, other.id)
                .await
                .unwrap()
                .is_empty()
        );
        let err = subjects::add_staff(&mut tx, company, dept.id, "HN-0002", &[], NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SubjectError::Invalid {
                    field: "subject_id",
                    ..
                }
            ),
            "{err:?}"
        );
        tx.commit().await.unwrap();
        store.close().await;
    }
}

mod clients {
    use super::*;
    use tongban_identity::clients::{self, ClientError, NewClient};

    fn portal() -> NewClient {
        NewClient {
            name: "Social security portal".into(),
            confidential: true,
            redirect_uris: vec!["https://portal.example.gov.cn/callback".into()],
            post_logout_redirect_uris: vec!["https://portal.example.gov.cn/".into()],
            scopes: vec!["openid".into(), "profile".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            first_party: true,
            department_id: None,
            jwks: None,
            ..NewClient::default()
        }
    }

    #[tokio::test]
    async fn a_confidential_client_gets_a_secret_once_and_exact_redirects() {
        let (store, _db) = store().await;
        let mut tx = store.begin().await.unwrap();
        let (client, secret) = clients::register(&mut tx, &portal(), Timestamp::now())
            .await
            .unwrap();
        let secret = secret.unwrap();
        assert!(secret.len() >= 43, "256 bits in base64url");
        let found = clients::find(&mut tx, &client.id).await.unwrap().unwrap();
        assert_eq!(found, client);
        assert!(found.secret_matches(&secret, Timestamp::now()));
        assert!(!found.secret_matches(&format!("{secret}x"), Timestamp::now()));
        assert!(found.allows_redirect("https://portal.example.gov.cn/callback"));
        for near_miss in [
            "https://portal.example.gov.cn/callback/",
            "https://portal.example.gov.cn/callback?x=1",
            "https://PORTAL.example.gov.cn/callback",
            "https://portal.example.gov.cn.evil.example/callback",
        ] {
            assert!(!found.allows_redirect(near_miss), "{near_miss}");
        }
        // The stored row holds no secret, only its digest.
        let stored: String = sqlx::query_scalar("SELECT secret_sha256 FROM clients WHERE id = $1")
            .bind(&client.id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(!stored.contains(&secret) && stored.len() == 64);
        tx.commit().await.unwrap();
        store.close().await;
    }

    #[tokio::test]
    async fn unsafe_registrations_are_refused_by_field() {
        let (store, _db) = store().await;
        let mut tx = store.begin().await.unwrap();
        let cases: Vec<(NewClient, &str)> = vec![
            (
                NewClient {
                    redirect_uris: vec!["http://portal.example.gov.cn/cb".into()],
                    ..portal()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    redirect_uris: vec!["https://portal.example.gov.cn/cb#x".into()],
                    ..portal()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    redirect_uris: vec!["/relative".into()],
                    ..portal()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    redirect_uris: vec![],
                    ..portal()
                },
                "redirect_uris",
            ),
            (
                NewClient {
                    grant_types: vec!["password".into()],
                    ..portal()
                },
                "grant_types",
            ),
            (
                NewClient {
                    confidential: false,
                    grant_types: vec!["client_credentials".into()],
                    ..portal()
                },
                "grant_types",
            ),
            (
                NewClient {
                    name: " ".into(),
                    ..portal()
                },
                "name",
            ),
        ];
        for (client, field) in cases {
            let err = clients::register(&mut tx, &client, Timestamp::now())
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ClientError::Invalid { field: f, .. } if *f == field),
                "{field}: {err:?}"
            );
        }
        // Loopback http is allowed for native apps; a public client has no secret.
        let native = NewClient {
            confidential: false,
            redirect_uris: vec!["http://127.0.0.1:53682/callback".into()],
            ..portal()
        };
        let (client, secret) = clients::register(&mut tx, &native, Timestamp::now())
            .await
            .unwrap();
        assert!(secret.is_none() && !client.secret_matches("", Timestamp::now()));
        tx.commit().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn admin_client_create_prints_the_secret_once() {
    let db = TestDb::new().await;
    let output = support::Binary::command()
        .args([
            "admin",
            "client-create",
            "--name",
            "Tax portal",
            "--redirect-uri",
            "https://tax.example.gov.cn/cb",
            "--scope",
            "openid",
            "--scope",
            "profile",
            "--first-party",
        ])
        .env("TONGBAN_DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = shown["client_id"].as_str().unwrap();
    let secret = shown["client_secret"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("shown this once"));
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    let mut conn = store.conn().await.unwrap();
    let client = tongban_identity::clients::find(&mut conn, id)
        .await
        .unwrap()
        .unwrap();
    assert!(client.secret_matches(secret, Timestamp::now()) && client.first_party);
    assert_eq!(client.scopes, ["openid", "profile"]);
    // On a database already migrated (where PostgreSQL sends notices the log shows), the
    // answer is still the only thing on stdout: a script reads it as JSON.
    let again = support::Binary::command()
        .args(["admin", "client-create", "--name", "Second portal"])
        .args([
            "--scope",
            "openid",
            "--redirect-uri",
            "https://two.example.gov.cn/cb",
        ])
        .env("TONGBAN_DATABASE_URL", &db.url)
        .env("TONGBAN_LOG_LEVEL", "info")
        .output()
        .await
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&again.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&again.stdout)));
    assert!(shown["client_id"].is_string());
    // A refused registration names the field and exits 1.
    let output = support::Binary::command()
        .args([
            "admin",
            "client-create",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://evil.example/cb",
        ])
        .env("TONGBAN_DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("redirect_uris"));
    drop(conn);
    store.close().await;
}

#[tokio::test]
async fn admin_registry_import_is_all_or_nothing() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("tongban-registry-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.csv");
    std::fs::write(&good, "name,resident_id\n张三,11010519491231002X\n").unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "王五,440308199901011234\n赵六,not-a-number\n").unwrap();
    let run = |file: std::path::PathBuf| {
        let url = db.url.clone();
        async move {
            support::Binary::command()
                .args(["admin", "registry-import"])
                .arg(file)
                .env("TONGBAN_DATABASE_URL", url)
                .output()
                .await
                .unwrap()
        }
    };
    let output = run(good).await;
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 registry entries imported"));
    let output = run(bad).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    let mut conn = store.conn().await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM registry_entries")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 1, "the bad file imported nothing");
    drop(conn);
    store.close().await;
    std::fs::remove_dir_all(dir).ok();
}
