//! Issuing e-certificates through the real router, every boundary a test: another
//! department's type, an administrator without the issuer role, an unknown holder,
//! face data against the type's schema, a type with another department's seal or a
//! broken schema, a type delegated to another department (signed with that
//! department's own seal), staff of two departments naming the one they issue for,
//! lookups and revocation across departments, a credential that is genuinely signed
//! but not what the register issued, a suspended seal; and the lifecycle: suspend,
//! resume, re-issue (the new version supersedes the old), agents seeing their
//! company's certificates, certificates of another platform refused.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use support::assert_problem;
use support::ecert_world::*;
use tongban_core::time::Timestamp;
use tongban_identity::subjects::{self, Role};

#[tokio::test]
async fn issuance_boundaries_and_bad_input() {
    let w = world().await;
    let t = w.licence_type("012", "natural").await;
    let code = t["code"].as_str().unwrap();
    // Department B's system cannot issue department A's type; nothing is stored.
    assert_problem(
        w.issue(&w.system_b, code, CITIZEN, None).await,
        403,
        "forbidden",
    )
    .await;
    // The administrator has no issuer role.
    assert_problem(
        w.issue(&w.admin, code, CITIZEN, None).await,
        403,
        "forbidden",
    )
    .await;
    // The level-3 issuer may.
    assert_eq!(w.issue(&w.issuer, code, CITIZEN, None).await.status(), 201);
    // A holder the platform does not know becomes an unverified holder record.
    let stranger = "110101199003070046";
    assert_eq!(
        w.issue(&w.system_a, code, stranger, None).await.status(),
        201
    );
    {
        let mut conn = w.server.store().conn().await.unwrap();
        let row: (i64,) = sqlx::query_as("SELECT assurance FROM subjects WHERE resident_id = $1")
            .bind(stranger)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(row.0, 1);
    }
    assert_eq!(certificates_count(&w).await, 2);
    // Face data against the schema: each field named.
    let mut bad = face_request(code, CITIZEN, "JY1");
    bad["face"]["colour"] = json!("red");
    bad["face"].as_object_mut().unwrap().remove("scope");
    let refused = w.post(Some(&w.system_a), "/api/v1/certificates", bad).await;
    let problem = assert_problem(refused, 422, "invalid-request").await;
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/face/licence_no"), "{problem}");
    assert!(
        pointers.contains(&"/face/scope"),
        "the missing field, at its own pointer: {problem}"
    );
    assert!(
        pointers.contains(&"/face"),
        "the unknown field, at the object's: {problem}"
    );
    for (body, status, slug) in [
        (
            face_request(code, "110101199003070047", "JY11100000000001"),
            422,
            "invalid-request",
        ),
        (
            face_request(&format!("{HUNAN}011"), CITIZEN, "JY11100000000001"),
            404,
            "not-found",
        ),
        (json!({"type": code}), 400, "malformed-request"),
        (
            {
                let mut nul = face_request(code, "110101199003070046", "JY11100000000001");
                nul["holder"]["name"] = json!("张\u{0}三");
                nul
            },
            422,
            "invalid-request",
        ),
    ] {
        assert_problem(
            w.post(Some(&w.system_a), "/api/v1/certificates", body)
                .await,
            status,
            slug,
        )
        .await;
    }
    let not_json = w
        .server
        .client
        .post(format!("{}/api/v1/certificates", w.server.base))
        .bearer_auth(&w.system_a)
        .body("type=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, "unsupported-media-type").await;
    assert_eq!(
        certificates_count(&w).await,
        2,
        "no refusal stored anything"
    );
    // A type cannot be defined with another department's seal or a broken schema.
    let seal: Value = w
        .get(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/seals", w.a),
        )
        .await
        .json()
        .await
        .unwrap();
    let seal_id = seal[0]["id"].as_str().unwrap();
    for (schema, status) in [
        (json!({"type": "array"}), 422),
        (
            json!({"type": "object", "properties": {"x": {"type": 5}}}),
            422,
        ),
    ] {
        let r = w
            .post(
                Some(&w.admin),
                &format!("/api/v1/departments/{}/certificate-types", w.a),
                json!({"sequence": "013", "name_zh": "x", "name_en": "x", "holder_category": "natural",
                       "seal_id": seal_id, "face_schema": schema}),
            )
            .await;
        assert_eq!(r.status(), status);
    }
    let taken = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/certificate-types", w.a),
            json!({"sequence": "012", "name_zh": "x", "name_en": "x", "holder_category": "natural",
                   "seal_id": seal_id, "face_schema": {"type": "object"}}),
        )
        .await;
    assert_problem(taken, 409, "conflict").await;
    // Department A lets department B issue its type; B signs with a seal of its own,
    // which only B's administrators choose.
    let issuers = format!("/api/v1/certificate-types/{code}/issuers");
    assert_problem(
        w.post(
            Some(&w.admin_b),
            &issuers,
            json!({"department_id": w.b.to_string()}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let added = w
        .post(
            Some(&w.admin),
            &issuers,
            json!({"department_id": w.b.to_string()}),
        )
        .await;
    assert_eq!(added.status(), 204);
    assert_problem(
        w.issue(&w.system_b, code, CITIZEN, None).await,
        409,
        "conflict",
    )
    .await;
    let choose = format!("{issuers}/{}", w.b);
    // Neither A's administrators choose for B, nor B's choose A's seal.
    for admin in [&w.admin, &w.admin_b] {
        assert_problem(
            w.send(
                reqwest::Method::PUT,
                Some(admin),
                &choose,
                Some(json!({"seal_id": seal_id})),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    let seal_b: Value = w
        .post(
            Some(&w.admin_b),
            &format!("/api/v1/departments/{}/seals", w.b),
            json!({"kind": "official", "name": "湖南省市场监督管理局电子证照专用章"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let chosen = w
        .send(
            reqwest::Method::PUT,
            Some(&w.admin_b),
            &choose,
            Some(json!({"seal_id": seal_b["id"]})),
        )
        .await;
    assert_eq!(chosen.status(), 204);
    let by_b: Value = w
        .issue(&w.system_b, code, CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    let by_b_id = by_b["identifier"].as_str().unwrap();
    assert!(
        by_b_id.contains(&format!(".{HUNAN}.")),
        "B's USCC as issuer: {by_b_id}"
    );
    let report: Value = w.verify_credential(&by_b["credential"]).await;
    assert_eq!(report["valid"], true);
    assert_eq!(report["issuer_uscc"], HUNAN);
    // The verification is tallied for B, the issuing department, not for A.
    w.server.store().flush_tallies().await.unwrap();
    let tallied = async |department: String| {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM daily_tallies \
             WHERE kind = 'certificate.verified' AND department_id = $1",
        )
        .bind(department)
        .fetch_one(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap()
    };
    assert_eq!(tallied(w.b.to_string()).await, 1);
    assert_eq!(tallied(w.a.to_string()).await, 0);
    // A person on the issuing staff of both departments names the department each
    // certificate is issued for; without it, nothing is issued.
    {
        let store = w.server.store();
        let mut tx = store.begin().await.unwrap();
        let issuer = subjects::find_by_resident_id(&mut tx, &"110101199003070038".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        subjects::add_staff(
            &mut tx,
            issuer,
            w.b,
            "B1",
            &[Role::Issuer],
            Timestamp::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let before = certificates_count(&w).await;
    let ambiguous = w.issue(&w.issuer, code, CITIZEN, None).await;
    let problem = assert_problem(ambiguous, 422, "invalid-request").await;
    assert!(problem.to_string().contains("department_id"), "{problem}");
    for (department, uscc) in [(w.a, SAMR), (w.b, HUNAN)] {
        let mut body = face_request(code, CITIZEN, "JY11100000000002");
        body["department_id"] = json!(department.to_string());
        let issued = w.post(Some(&w.issuer), "/api/v1/certificates", body).await;
        assert_eq!(issued.status(), 201, "for {uscc}");
        let issued: Value = issued.json().await.unwrap();
        assert!(
            issued["identifier"]
                .as_str()
                .unwrap()
                .contains(&format!(".{uscc}.")),
            "{issued}"
        );
    }
    let mut body = face_request(code, CITIZEN, "JY11100000000002");
    body["department_id"] = json!("not an id");
    assert_problem(
        w.post(Some(&w.issuer), "/api/v1/certificates", body).await,
        422,
        "invalid-request",
    )
    .await;
    let mut body = face_request(code, CITIZEN, "JY11100000000002");
    body["department_id"] = json!(subjects::DepartmentId::new().to_string());
    assert_problem(
        w.post(Some(&w.issuer), "/api/v1/certificates", body).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(certificates_count(&w).await, before + 2);
    // So does a lookup by that person, which the holder sees under that department.
    let lookup = async |department: Option<String>| {
        let query = department
            .map(|d| format!("&department_id={d}"))
            .unwrap_or_default();
        w.get(
            Some(&w.issuer),
            &format!("/api/v1/certificates?holder={CITIZEN}&purpose=稽查{query}"),
        )
        .await
    };
    let problem = assert_problem(lookup(None).await, 422, "invalid-request").await;
    assert!(problem.to_string().contains("department_id"), "{problem}");
    assert_problem(
        lookup(Some(subjects::DepartmentId::new().to_string())).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(lookup(Some(w.b.to_string())).await.status(), 200);
    let accesses: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificate-accesses")
        .await
        .json()
        .await
        .unwrap();
    let latest = accesses.as_array().unwrap().first().unwrap();
    assert!(
        latest.to_string().contains("湖南省市场监督管理局") && latest["purpose"] == "稽查",
        "{latest}"
    );
    // A system looks up only for its own department.
    let elsewhere = w
        .get(
            Some(&w.system_b),
            &format!(
                "/api/v1/certificates?holder={CITIZEN}&purpose=audit&department_id={}",
                w.a
            ),
        )
        .await;
    assert_problem(elsewhere, 403, "forbidden").await;
    // B cannot revoke A's certificates, nor A B's.
    let a_cert: Value = w
        .issue(&w.system_a, code, CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    // B's seal signs a credential naming A's certificate: genuine signature, trusted
    // chain, but not what the register issued, so nothing of A's certificate shows.
    let key_id: (String,) = {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query_as("SELECT key_id FROM seals WHERE id = $1")
            .bind(seal_b["id"].as_str().unwrap())
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let signer = w.server.pki().keys().load(&key_id.0).await.unwrap();
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("vc+jwt"));
    header.insert(
        "x5c".into(),
        jwt_part(by_b["credential"].as_str().unwrap(), 0)["x5c"].clone(),
    );
    let payload = jwt_part(a_cert["credential"].as_str().unwrap(), 1);
    let forged = tongban_crypto::jose::sign_compact(
        signer.as_ref(),
        payload.to_string().as_bytes(),
        &header,
    )
    .unwrap();
    let report: Value = w.verify_credential(&forged).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["checks"]["signature"], true);
    assert_eq!(report["fields"], json!({}), "{report}");
    assert!(report.get("identifier").is_none() && report.get("holder_name").is_none());
    assert_problem(
        w.post(
            Some(&w.system_b),
            &format!(
                "/api/v1/certificates/{}/status",
                a_cert["identifier"].as_str().unwrap()
            ),
            json!({"status": "revoked", "reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        w.post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{by_b_id}/status"),
            json!({"status": "revoked", "reason": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // A suspended seal issues nothing.
    let suspended = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/seals/{seal_id}/status"),
            json!({"status": "suspended", "reason": "审计"}),
        )
        .await;
    assert!(suspended.status().is_success(), "{}", suspended.status());
    assert_problem(
        w.issue(&w.system_a, code, CITIZEN, None).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(certificates_count(&w).await, 6);
}

#[tokio::test]
async fn a_reissue_supersedes_and_agents_see_their_company_certificates() {
    let w = world().await;
    let t = w.licence_type("014", "legal").await;
    let code = t["code"].as_str().unwrap();
    let issued: Value = w
        .issue(&w.system_a, code, COMPANY, None)
        .await
        .json()
        .await
        .unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    // The citizen acts for the company: its certificate is in their wallet.
    let mine: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["identifier"], identifier);

    // Suspend, resume.
    let status_path = format!("/api/v1/certificates/{identifier}/status");
    let suspended: Value = w
        .post(
            Some(&w.system_a),
            &status_path,
            json!({"status": "suspended", "reason": "整改"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");
    let report: Value = w.verify_credential(&issued["credential"]).await;
    assert_eq!(
        (report["valid"].clone(), report["status"].clone()),
        (json!(false), json!("suspended"))
    );
    let resumed: Value = w
        .post(Some(&w.system_a), &status_path, json!({"status": "active"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["status"], "active");

    // Re-issue with a new address: version 002 supersedes 001.
    let mut face = issued["face"].clone();
    face["address"] = json!("北京市西城区");
    let reissued = w
        .post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{identifier}/reissue"),
            json!({"face": face}),
        )
        .await;
    assert_eq!(reissued.status(), 201);
    let reissued: Value = reissued.json().await.unwrap();
    let next = reissued["identifier"].as_str().unwrap();
    assert_eq!(&next[..next.len() - 5], &identifier[..identifier.len() - 5]);
    assert!(next.contains(".002."), "{next}");
    assert_eq!(reissued["supersedes"], identifier);
    let old: Value = w.verify_credential(&issued["credential"]).await;
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["valid"], false);
    assert!(old["messages"].to_string().contains(next));
    let new: Value = w.verify_credential(&reissued["credential"]).await;
    assert_eq!(new["valid"], true);
    assert_eq!(new["fields"]["address"], "北京市西城区");
    assert_problem(
        w.post(
            Some(&w.system_a),
            &format!("/api/v1/certificates/{identifier}/reissue"),
            json!({"face": face}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // The issued credential with its payload changed (the signature and chain left as
    // they were) is forged: its signature fails and nothing of the register is told.
    let genuine = reissued["credential"].as_str().unwrap();
    let (head, rest) = genuine.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["credentialSubject"]["name"] = json!("冒名者");
    let forged = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let report: Value = w.verify_credential(&forged).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["checks"]["signature"], false, "{report}");
    assert!(report.get("identifier").is_none(), "{report}");
    // The same credential under other headers. One naming another signing certificate:
    // not base64, not a certificate, or our issuing CA's (a certificate, with another
    // key). One whose members have another shape than a credential's: no certificate
    // to read, a type that is not a string, no chain at all (nor is the chain then
    // trusted). Its signature fails each time, and the genuine one still verifies
    // after them (the certificates read are kept by their text).
    let genuine_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    let issuing_ca = genuine_header["x5c"][1].clone();
    let mut headers = Vec::new();
    for leaf in [json!("not base64!"), json!("AAEC"), issuing_ca] {
        let mut header = genuine_header.clone();
        header["x5c"][0] = leaf;
        headers.push((header, false));
    }
    for (member, value) in [
        ("x5c", json!("AAEC")),
        ("typ", json!(1)),
        ("x5c", json!([])),
    ] {
        let mut header = genuine_header.clone();
        header[member] = value;
        headers.push((header, true));
    }
    for (header, untrusted) in headers {
        let other = format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(header.to_string())
        );
        let report: Value = w.verify_credential(&other).await;
        assert_eq!(report["valid"], false, "{header}: {report}");
        assert_eq!(report["checks"]["signature"], false, "{header}: {report}");
        assert!(report.get("identifier").is_none(), "{header}: {report}");
        if untrusted {
            assert_eq!(report["checks"]["chain"], false, "{header}: {report}");
        }
    }
    let report: Value = w.verify_credential(genuine).await;
    assert_eq!(report["valid"], true, "{report}");
    // A certificate of another platform's root, or garbage, is not valid.
    for garbage in ["", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let report: Value = w.verify_credential(garbage).await;
        assert_eq!(report["valid"], false, "{garbage}");
    }
    assert_problem(
        w.post(None, "/api/v1/certificates/verify", json!({})).await,
        422,
        "invalid-request",
    )
    .await;
}

/// A status change or a re-issue retried under its `Idempotency-Key` (a system that lost
/// the answer) answers the first answer and changes nothing again.
#[tokio::test]
async fn a_retried_status_change_or_reissue_answers_the_first_and_changes_nothing() {
    let w = world().await;
    let t = w.licence_type("015", "legal").await;
    let code = t["code"].as_str().unwrap();
    let issued: Value = w
        .issue(&w.system_a, code, COMPANY, None)
        .await
        .json()
        .await
        .unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let keyed = |path: String, key: &'static str, body: Value| {
        let w = &w;
        async move {
            let response = w
                .server
                .client
                .post(format!("{}{path}", w.server.base))
                .bearer_auth(&w.system_a)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let status = format!("/api/v1/certificates/{identifier}/status");
    let suspend = json!({"status": "suspended", "reason": "整改"});
    let first = keyed(status.clone(), "suspend-1", suspend.clone()).await;
    assert_eq!(
        (first.0, first.1["status"].clone()),
        (200, json!("suspended"))
    );
    // Without the key, suspending a suspended certificate does not apply; with it, the
    // retry gets the first answer.
    let plain = w.post(Some(&w.system_a), &status, suspend.clone()).await;
    assert_eq!(plain.status(), 409);
    assert_eq!(keyed(status.clone(), "suspend-1", suspend).await, first);
    // The key names that change: resuming under it is refused, and nothing changes.
    let resume = json!({"status": "active"});
    let refused = keyed(status.clone(), "suspend-1", resume.clone()).await;
    assert_eq!(refused.0, 409, "{}", refused.1);
    assert!(
        refused.1["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    let resumed = keyed(status.clone(), "resume-1", resume).await;
    assert_eq!(resumed.1["status"], "active");

    // One re-issue, however often it is retried.
    let mut face = issued["face"].clone();
    face["address"] = json!("北京市西城区");
    let reissue = format!("/api/v1/certificates/{identifier}/reissue");
    let body = json!({"face": face});
    let first = keyed(reissue.clone(), "reissue-1", body.clone()).await;
    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(
        keyed(reissue.clone(), "reissue-1", body.clone()).await,
        first
    );
    assert!(first.1["identifier"].as_str().unwrap().contains(".002."));
    // Without the key a second re-issue of the superseded version is refused: there was
    // only one.
    let again = w.post(Some(&w.system_a), &reissue, body).await;
    assert_eq!(again.status(), 409);
}
