//! Certificates in the console through the real server, as staff use it in a browser:
//! a department administrator defines a type with the field editor; an issuer issues
//! one from the generated form (errors beside the fields, a resubmitted form issuing
//! nothing twice), a CSV batch whose refused rows come back as a file that, corrected,
//! is issued on upload, looks a certificate up with a purpose, revokes it after a
//! confirmation with the reason, and re-issues another. Another department's issuer
//! reaches none of it.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::esign_world::{self as world, LI, WANG, World, ZHAO, form, page, session};
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{self, Role, SubjectId};

async fn subject(w: &World, resident_id: &str) -> SubjectId {
    let mut conn = w.server.store().conn().await.unwrap();
    subjects::find_by_resident_id(&mut conn, &resident_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// The value of the hidden field `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle).unwrap_or_else(|| panic!("no {name}")) + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Uploads `csv` as a batch form.
async fn upload(
    w: &World,
    session: &str,
    code: &str,
    fields: &[(&str, &str)],
    csv: &str,
) -> reqwest::Response {
    let path = format!("/console/certificates/batch/{code}");
    let file = ("csv", "rows.csv", "text/csv", csv.as_bytes());
    world::upload(w, session, &path, fields, file).await
}

async fn wait_done(w: &World, session: &str, job: &str) -> Value {
    for _ in 0..600 {
        let progress = page(
            w,
            session,
            &format!("/console/certificates/jobs/{job}/progress"),
        )
        .await;
        assert_eq!(progress.status(), 200);
        let progress: Value = progress.json().await.unwrap();
        if progress["done"] == true {
            return progress;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the batch did not finish");
}

async fn certificates_count(w: &World) -> i64 {
    let mut conn = w.server.store().conn().await.unwrap();
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ecerts")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_department_defines_issues_batches_and_revokes_certificates_in_the_console() {
    let w = world::world().await;
    let (li, zhao) = (subject(&w, LI).await, subject(&w, ZHAO).await);
    let now = Timestamp::now();
    let mut tx = w.server.store().begin().await.unwrap();
    subjects::add_staff(
        &mut tx,
        li,
        w.a.id,
        "A-1",
        &[Role::DeptAdmin, Role::Issuer],
        now,
    )
    .await
    .unwrap();
    subjects::add_staff(&mut tx, zhao, w.b.id, "B-1", &[Role::Issuer], now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let a = w.a.id.to_string();

    // 李四 makes the seal that will sign, then defines a type with the field editor.
    let li_s = session(&w, LI).await;
    let desk = page(&w, &li_s, "/console").await.text().await.unwrap();
    assert!(desk.contains("href=\"/console/certificates\""));
    let token = world::csrf(&w, &li_s).await;
    let seal = form(
        &w,
        &li_s,
        "/console/seals",
        &[
            ("csrf_token", &token),
            ("department", &a),
            ("kind", "official"),
            ("name", "浙江省市场监督管理局电子证照专用章"),
            ("algorithm", "ES256"),
        ],
    )
    .await;
    assert_eq!(seal.status(), 303);
    let seal_id = seal.headers()["location"].to_str().unwrap()[15..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let editor = page(
        &w,
        &li_s,
        &format!("/console/certificates/types/new?department={a}"),
    )
    .await;
    assert_eq!(editor.status(), 200);
    let editor = editor.text().await.unwrap();
    assert!(editor.contains(&seal_id) && editor.contains("name=\"field_name_4\""));
    let type_fields = |step: &'static str, sequence: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("department", a.clone()),
            ("step", step.to_owned()),
            ("rows", "5".to_owned()),
            ("name_zh", "食品经营许可证".to_owned()),
            ("name_en", "Food business licence".to_owned()),
            ("sequence", sequence.to_owned()),
            ("holder_category", "natural".to_owned()),
            ("validity_days", "1825".to_owned()),
            ("seal_id", seal_id.clone()),
            ("field_name_0", "licence_no".to_owned()),
            ("field_title_0", "许可证编号".to_owned()),
            ("field_kind_0", "text".to_owned()),
            ("field_required_0", "yes".to_owned()),
            ("field_name_1", "issued_on".to_owned()),
            ("field_title_1", "发证日期".to_owned()),
            ("field_kind_1", "date".to_owned()),
            ("field_required_1", "yes".to_owned()),
            ("field_name_2", "grade".to_owned()),
            ("field_title_2", "等级".to_owned()),
            ("field_kind_2", "choice".to_owned()),
            ("field_options_2", "A级，B级".to_owned()),
        ]
    };
    let as_refs =
        |fields: &[(&'static str, String)]| -> Vec<(&'static str, String)> { fields.to_vec() };
    let post_type = async |fields: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form(&w, &li_s, "/console/certificates/types", &refs).await
    };
    let checked = post_type(as_refs(&type_fields("check", "201"))).await;
    assert_eq!(checked.status(), 200);
    let checked = checked.text().await.unwrap();
    assert!(checked.contains("&#34;licence_no&#34;") || checked.contains("&quot;licence_no&quot;"));
    let more = post_type(as_refs(&type_fields("more", "201")))
        .await
        .text()
        .await
        .unwrap();
    assert!(more.contains("name=\"field_name_9\""), "five more rows");
    let mut bad_name = type_fields("define", "201");
    bad_name[10].1 = "Licence No".into();
    let refused = post_type(bad_name).await;
    assert_eq!(refused.status(), 422);
    let defined = post_type(as_refs(&type_fields("define", "201"))).await;
    assert_eq!(defined.status(), 303);
    let again = post_type(as_refs(&type_fields("define", "201"))).await;
    assert_eq!(again.status(), 409, "the code is taken");
    let code = "91350100M000100Y43201";
    let list = page(&w, &li_s, "/console/certificates")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(code) && list.contains("食品经营许可证"));

    // One from the generated form: a bad date is shown beside its field; the same form
    // sent twice issues once.
    let issue_path = format!("/console/certificates/issue/{code}");
    let blank = page(&w, &li_s, &format!("{issue_path}?department={a}")).await;
    assert_eq!(blank.status(), 200);
    let blank = blank.text().await.unwrap();
    assert!(blank.contains("name=\"face.issued_on\" type=\"date\""));
    assert!(blank.contains("A级") && blank.contains("B级"));
    let key = hidden(&blank, "idempotency_key");
    let holder = support::resident_id(1);
    let issue = |date: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("department", a.clone()),
            ("idempotency_key", key.clone()),
            ("holder.id_number", holder.clone()),
            ("holder.name", "张三".to_owned()),
            ("face.licence_no", "JY13301000000001".to_owned()),
            ("face.issued_on", date.to_owned()),
            ("face.grade", "A级".to_owned()),
        ]
    };
    let post_issue = async |fields: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form(&w, &li_s, &issue_path, &refs).await
    };
    let wrong = post_issue(issue("2026-13-40")).await;
    assert_eq!(wrong.status(), 422);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("id=\"f-issued_on-error\"") && wrong.contains("aria-invalid=\"true\""));
    assert!(
        wrong.contains("value=\"JY13301000000001\""),
        "what was typed stays"
    );
    let before = certificates_count(&w).await;
    let issued = post_issue(issue("2026-12-04")).await;
    assert_eq!(issued.status(), 200);
    let issued = issued.text().await.unwrap();
    let identifier = issued
        .split("<code><bdi>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let resent = post_issue(issue("2026-12-04")).await.text().await.unwrap();
    assert!(resent.contains(&identifier), "the same certificate");
    assert_eq!(certificates_count(&w).await, before + 1);

    // A batch of 30 rows, 3 of them with an impossible date.
    let batch_path = format!("/console/certificates/batch/{code}?department={a}");
    let batch_page = page(&w, &li_s, &batch_path).await.text().await.unwrap();
    let batch_key = hidden(&batch_page, "idempotency_key");
    let template = page(
        &w,
        &li_s,
        &format!("/console/certificates/batch/{code}/template.csv"),
    )
    .await;
    assert_eq!(template.status(), 200);
    let header = template.text().await.unwrap();
    let header = header
        .strip_prefix('\u{feff}')
        .expect("a BOM, for spreadsheets")
        .to_owned();
    let columns: Vec<&str> = header.trim().split(',').collect();
    assert_eq!(&columns[..2], ["id_number", "name"]);
    let mut csv = header.clone();
    for i in 10..40 {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                "id_number" => support::resident_id(i),
                "name" => format!("持证人{i}"),
                "licence_no" => format!("JY{:014}", i),
                "issued_on" if i % 10 == 3 => "2026-02-30x".to_owned(),
                "issued_on" => "2026-12-01".to_owned(),
                _ => "B级".to_owned(),
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let batch_fields = [
        ("csrf_token", token.as_str()),
        ("department", a.as_str()),
        ("idempotency_key", batch_key.as_str()),
    ];
    let submitted = upload(&w, &li_s, code, &batch_fields, &csv).await;
    assert_eq!(submitted.status(), 303);
    let job_path = submitted.headers()["location"].to_str().unwrap().to_owned();
    let job = job_path.rsplit('/').next().unwrap().to_owned();
    let retried = upload(&w, &li_s, code, &batch_fields, &csv).await;
    assert_eq!(
        retried.headers()["location"],
        job_path.as_str(),
        "the same job"
    );
    let done = wait_done(&w, &li_s, &job).await;
    assert_eq!(
        (done["settled"].as_i64(), done["total"].as_i64()),
        (Some(30), Some(30))
    );
    let job_html = page(&w, &li_s, &job_path).await.text().await.unwrap();
    assert!(job_html.contains("value=\"30\"") && job_html.contains("退回 3 行"));
    let errors = page(&w, &li_s, &format!("{job_path}/errors.csv")).await;
    assert_eq!(errors.status(), 200);
    let errors = errors.text().await.unwrap();
    assert_eq!(errors.lines().count(), 4, "{errors}");
    assert!(errors.lines().next().unwrap().ends_with("#errors"));
    assert!(errors.contains("issued_on"));
    // Corrected and uploaded again (a fresh form): the three are issued.
    let fixed = errors.replace("2026-02-30x", "2026-02-28");
    let fresh = hidden(
        &page(&w, &li_s, &batch_path).await.text().await.unwrap(),
        "idempotency_key",
    );
    let again = [
        ("csrf_token", token.as_str()),
        ("department", a.as_str()),
        ("idempotency_key", fresh.as_str()),
    ];
    let resubmitted = upload(&w, &li_s, code, &again, &fixed).await;
    assert_eq!(resubmitted.status(), 303);
    let second = resubmitted.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(second, job);
    wait_done(&w, &li_s, &second).await;
    let second_html = page(&w, &li_s, &format!("/console/certificates/jobs/{second}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        second_html.contains("签发 3 张，退回 0 行"),
        "{second_html}"
    );
    assert_eq!(certificates_count(&w).await, before + 1 + 30);
    let empty = upload(&w, &li_s, code, &again, "").await;
    assert_eq!(empty.status(), 422);

    // Found with a purpose, revoked after a confirmation with the reason.
    let lookup = |q: &str, purpose: &str| {
        format!("/console/certificates?department={a}&q={q}&purpose={purpose}&csrf_token={token}")
    };
    // A lookup is logged for the holder to see: a link from elsewhere (no token) makes
    // none.
    let forged = format!("/console/certificates?department={a}&q={identifier}&purpose=x");
    assert_eq!(page(&w, &li_s, &forged).await.status(), 403);
    let unexplained = page(&w, &li_s, &lookup(&identifier, "")).await;
    assert_eq!(unexplained.status(), 422);
    let found = page(&w, &li_s, &lookup(&identifier, "核验"))
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains(&identifier) && found.contains("value=\"revoke\""));
    let by_holder = page(&w, &li_s, &lookup(&holder, "核验"))
        .await
        .text()
        .await
        .unwrap();
    assert!(by_holder.contains(&identifier));
    let status_path = format!("/console/certificates/{identifier}/status");
    let ask = form(
        &w,
        &li_s,
        &status_path,
        &[("csrf_token", &token), ("change", "revoke")],
    )
    .await;
    assert_eq!(ask.status(), 200);
    assert!(ask.text().await.unwrap().contains("name=\"reason\""));
    let reasonless = form(
        &w,
        &li_s,
        &status_path,
        &[
            ("csrf_token", &token),
            ("change", "revoke"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(reasonless.status(), 422);

    // 赵六 issues for department B: none of A's certificates are his.
    let zhao_s = session(&w, ZHAO).await;
    let zhao_token = world::csrf(&w, &zhao_s).await;
    let theirs = page(&w, &zhao_s, &format!("{issue_path}?department={a}")).await;
    assert_eq!(theirs.status(), 403);
    let unnamed = page(&w, &zhao_s, &issue_path).await;
    assert_eq!(unnamed.status(), 403, "not a type B issues");
    for path in [
        job_path.clone(),
        format!("{job_path}/errors.csv"),
        format!("{job_path}/progress"),
    ] {
        assert_eq!(page(&w, &zhao_s, &path).await.status(), 403, "{path}");
    }
    let foreign = form(
        &w,
        &zhao_s,
        &status_path,
        &[
            ("csrf_token", &zhao_token),
            ("change", "revoke"),
            ("confirm", "yes"),
            ("reason", "x"),
        ],
    )
    .await;
    assert_eq!(foreign.status(), 403);
    let foreign_batch = upload(
        &w,
        &zhao_s,
        code,
        &[
            ("csrf_token", &zhao_token),
            ("department", &a),
            ("idempotency_key", "k-1"),
        ],
        &csv,
    )
    .await;
    assert_eq!(foreign_batch.status(), 403);
    let wang_s = session(&w, WANG).await;
    assert_eq!(
        page(&w, &wang_s, "/console/certificates").await.status(),
        403
    );

    let revoked = form(
        &w,
        &li_s,
        &status_path,
        &[
            ("csrf_token", &token),
            ("change", "revoke"),
            ("confirm", "yes"),
            ("reason", "许可证已注销"),
        ],
    )
    .await;
    assert_eq!(revoked.status(), 303);
    let after = page(&w, &li_s, &lookup(&identifier, "核验"))
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("已撤销") && !after.contains("value=\"revoke\""));
    let twice = form(
        &w,
        &li_s,
        &status_path,
        &[
            ("csrf_token", &token),
            ("change", "revoke"),
            ("confirm", "yes"),
            ("reason", "再次"),
        ],
    )
    .await;
    assert_eq!(twice.status(), 409);

    // Another, re-issued with a corrected field: a new version.
    let other = support::resident_id(11);
    let theirs = page(&w, &li_s, &lookup(&other, "换证"))
        .await
        .text()
        .await
        .unwrap();
    let old = theirs
        .split("href=\"/verify/i/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let reissue_path = format!("/console/certificates/{old}/reissue");
    let prefilled = page(&w, &li_s, &reissue_path).await.text().await.unwrap();
    assert!(prefilled.contains("value=\"JY00000000000011\""));
    let reissued = form(
        &w,
        &li_s,
        &reissue_path,
        &[
            ("csrf_token", &token),
            ("face.licence_no", "JY00000000000099"),
            ("face.issued_on", "2026-12-04"),
            ("face.grade", "A级"),
        ],
    )
    .await;
    assert_eq!(reissued.status(), 200);
    let reissued = reissued.text().await.unwrap();
    let new = reissued
        .split("<code><bdi>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_ne!(new, old);
    let history = page(&w, &li_s, &lookup(&other, "换证"))
        .await
        .text()
        .await
        .unwrap();
    assert!(history.contains("已被新版本替代") && history.contains(new));
}
