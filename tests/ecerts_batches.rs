//! Batch issuance through the real router: ten thousand rows with ten invalid ones,
//! issued once however often they are sent (the same idempotency key is the same job,
//! which another department cannot see), with status-list entries that tell nothing of
//! their neighbours, from JSON or CSV, bad batches refused at submission; and a batch
//! survives the instance working on it being killed: another instance finishes it without
//! issuing twice.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::assert_problem;
use support::ecert_world::*;

/// Rows for a batch: `count` holders, with the rows in `bad` made invalid (even ones in
/// their face data, odd ones in their holder's number).
fn batch_rows(count: usize, bad: &[usize]) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut row = json!({
                "holder": {"id_number": support::resident_id(i), "name": format!("持证人{i}")},
                "face": {"name": format!("持证人{i}"), "licence_no": format!("JY{:014}", i), "scope": "餐饮服务"}
            });
            if let Some(k) = bad.iter().position(|b| *b == i) {
                if k % 2 == 0 {
                    row["face"]["licence_no"] = json!("not a licence number");
                } else {
                    let id = support::resident_id(i);
                    let wrong = if id.ends_with('1') { "2" } else { "1" };
                    row["holder"]["id_number"] = json!(format!("{}{wrong}", &id[..17]));
                }
            }
            row
        })
        .collect()
}

async fn wait_done(client: &reqwest::Client, base: &str, token: &str, job: &str) -> Value {
    for _ in 0..3000 {
        let state: Value = client
            .get(format!("{base}/api/v1/certificate-jobs/{job}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["state"] == "done" {
            return state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the job did not finish");
}

#[tokio::test]
async fn a_batch_of_ten_thousand_with_ten_invalid_rows_is_idempotent() {
    let w = world().await;
    let t = w.licence_type("015", "natural").await;
    let code = t["code"].as_str().unwrap();
    let bad: Vec<usize> = (0..10).map(|k| k * 1000 + 500).collect();
    let body = json!({"type": code, "rows": batch_rows(10_000, &bad)});
    let submit = || {
        w.server
            .client
            .post(format!("{}/api/v1/certificate-jobs", w.server.base))
            .bearer_auth(&w.system_a)
            .header("idempotency-key", "batch-2026-12-01")
            .json(&body)
            .send()
    };
    let accepted = submit().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = accepted.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/certificate-jobs/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["total"], 10_000);
    let id = job["id"].as_str().unwrap();
    let done = wait_done(&w.server.client, &w.server.base, &w.system_a, id).await;
    assert_eq!(
        (done["issued"].clone(), done["failed"].clone()),
        (json!(9990), json!(10))
    );
    assert_eq!(certificates_count(&w).await, 9990);
    // Status-list entries are not handed out in issuance order: a certificate's index
    // tells nothing of its neighbours in the batch.
    let indexes: Vec<(i64,)> = {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query_as("SELECT status_index FROM ecerts ORDER BY serial LIMIT 100")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    let in_order = indexes.windows(2).filter(|p| p[1].0 == p[0].0 + 1).count();
    assert!(in_order < 10, "{in_order} of 99 neighbours in order");
    let failed: Value = w
        .get(
            Some(&w.system_a),
            &format!("/api/v1/certificate-jobs/{id}/rows?state=failed"),
        )
        .await
        .json()
        .await
        .unwrap();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 10);
    for (k, row) in failed.iter().enumerate() {
        assert_eq!(row["row"], bad[k] + 1, "rows are numbered from 1");
        let pointer = row["errors"][0]["pointer"].as_str().unwrap();
        let expected = if k % 2 == 0 {
            "/face/licence_no"
        } else {
            "/holder/id_number"
        };
        assert_eq!(pointer, expected, "{row}");
    }
    let issued: Value = w
        .get(
            Some(&w.system_a),
            &format!("/api/v1/certificate-jobs/{id}/rows?state=issued&limit=3"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued[0]["row"], 1);
    let first: tongban_ecert::identifier::Identifier =
        issued[0]["identifier"].as_str().unwrap().parse().unwrap();
    assert_eq!(first.version, 1);
    // The same key again: the same job, nothing new.
    let again: Value = submit().await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], job["id"]);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(certificates_count(&w).await, 9990);
    // Another department's job is not visible to department B.
    assert_problem(
        w.get(Some(&w.system_b), &format!("/api/v1/certificate-jobs/{id}"))
            .await,
        403,
        "forbidden",
    )
    .await;

    // CSV: the header names the face fields; an empty cell is left out.
    let csv = format!(
        "id_number,name,name,licence_no,scope,address\n\
         {},甲,甲,JY00000000000001,餐饮服务,\n\
         {},乙,乙,JY00000000000002,\"餐饮服务,外卖\",长沙\n\
         {},丙,丙,bad,餐饮服务,\n",
        support::resident_id(20_000),
        support::resident_id(20_001),
        support::resident_id(20_002)
    );
    let accepted = w
        .server
        .client
        .post(format!(
            "{}/api/v1/certificate-jobs?type={code}",
            w.server.base
        ))
        .bearer_auth(&w.system_a)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let job: Value = accepted.json().await.unwrap();
    let done = wait_done(
        &w.server.client,
        &w.server.base,
        &w.system_a,
        job["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (done["issued"].clone(), done["failed"].clone()),
        (json!(2), json!(1))
    );
    // Refusals at submission.
    for (content_type, body, status) in [
        (
            "application/json",
            json!({"type": code, "rows": []}).to_string(),
            422,
        ),
        ("text/csv", "holder,face\n".to_owned(), 422),
        ("text/plain", "x".to_owned(), 415),
    ] {
        let refused = w
            .server
            .client
            .post(format!(
                "{}/api/v1/certificate-jobs?type={code}",
                w.server.base
            ))
            .bearer_auth(&w.system_a)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status);
    }
    let other = w
        .server
        .client
        .post(format!("{}/api/v1/certificate-jobs", w.server.base))
        .bearer_auth(&w.system_b)
        .json(&json!({"type": code, "rows": batch_rows(1, &[])}))
        .send()
        .await
        .unwrap();
    assert_problem(other, 403, "forbidden").await;
}

/// The instance working on a job is killed (SIGKILL) half-way; another instance on the
/// same database takes the job over when the lease runs out and finishes it without
/// issuing any row twice.
#[tokio::test]
async fn a_batch_survives_sigkill_and_another_instance_finishes_it_without_issuing_twice() {
    let w = world().await;
    let t = w.licence_type("016", "natural").await;
    let code = t["code"].as_str().unwrap().to_owned();
    let token = w.system_a.clone();
    let db = w.server.stop_keeping_db().await;
    let client = support::client();
    let one = support::Instance::start(&db.url, &client, &[]).await;
    let base = one.base.clone();
    let total = 6000;
    let job: Value = client
        .post(format!("{base}/api/v1/certificate-jobs"))
        .bearer_auth(&token)
        .json(&json!({"type": code, "rows": batch_rows(total, &[])}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    // Killed once at least one chunk is in and before the last.
    let mut issued_at_kill = 0;
    for _ in 0..2000 {
        let state: Value = client
            .get(format!("{base}/api/v1/certificate-jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        issued_at_kill = state["issued"].as_i64().unwrap();
        if issued_at_kill > 0 {
            assert_eq!(
                state["state"], "pending",
                "the job finished before it could be killed"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    one.kill_9().await;
    assert!(issued_at_kill > 0 && issued_at_kill < total as i64);
    let config = support::test_config(&db.url);
    let count = |store: tongban_store::Store| async move {
        let mut conn = store.conn().await.unwrap();
        let certificates: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ecerts")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let rows: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM ecert_job_rows WHERE state = 'issued'")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        drop(conn);
        store.close().await;
        (certificates.0, rows.0)
    };
    let (certificates, rows) = count(
        tongban_store::Store::connect(&config.database)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        certificates, rows,
        "after the kill, every certificate is its row's and no more"
    );
    assert!(rows < total as i64);

    // Another instance (a process of its own, on its own port) takes the job over when
    // the dead one's lease runs out, and goes on where it stopped.
    let two = support::Instance::start(&db.url, &client, &[]).await;
    let done = wait_done(&client, &two.base, &token, &id).await;
    assert_eq!(done["issued"], total);
    assert_eq!(done["failed"], 0);
    two.kill_9().await;
    let store = tongban_store::Store::connect(&config.database)
        .await
        .unwrap();
    {
        let mut conn = store.conn().await.unwrap();
        let distinct: (i64,) = sqlx::query_as(
            "SELECT COUNT(DISTINCT identifier) FROM ecert_job_rows WHERE job_id = $1 AND state = 'issued'",
        )
        .bind(&id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(distinct.0, total as i64);
        let holders: (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT holder_id) FROM ecerts")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(holders.0, total as i64, "nobody got two certificates");
    }
    assert_eq!(count(store).await, (total as i64, total as i64));
    drop(db);
}
