//! An e-certificate's life through the real router: a department defines a type and
//! issues a certificate (idempotently) as a VC-JWT that chains to our root; the holder
//! sees it in the wallet and as a sealed PDF, shares fields of it (single- and
//! multi-use, by link and short code, revocable, expiring), sees every lookup (which
//! needs a purpose) and share on the account page; verifiers check shares and
//! presented credentials; and the status list follows revocation.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use support::ecert_world::*;
use support::{PASSWORD, assert_problem};

#[tokio::test]
async fn a_department_issues_and_a_holder_shares_and_a_verifier_checks() {
    let w = world().await;
    let t = w.licence_type("011", "natural").await;
    let code = t["code"].as_str().unwrap();
    assert_eq!(code, format!("{SAMR}011"));
    let catalogue: Value = w
        .get(None, "/api/v1/certificate-types")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalogue[0]["code"], code);

    // Issued by the department's system, idempotently.
    let issued = w.issue(&w.system_a, code, CITIZEN, Some("order-1")).await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    assert!(
        identifier.starts_with(&format!(
            "1.2.156.3005.2.{SAMR}011.{SAMR}.{year}0000001.001."
        )),
        "{identifier}"
    );
    let parsed: tongban_ecert::identifier::Identifier = identifier.parse().unwrap();
    assert_eq!(parsed.to_string(), identifier);
    let again: Value = w
        .issue(&w.system_a, code, CITIZEN, Some("order-1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["identifier"], identifier);
    assert_eq!(certificates_count(&w).await, 1, "a retry creates nothing");
    let mut other = w
        .server
        .client
        .post(format!("{}/api/v1/certificates", w.server.base))
        .bearer_auth(&w.system_a)
        .header("idempotency-key", "order-1")
        .json(&face_request(code, CITIZEN, "JY11100000000002"))
        .send()
        .await
        .unwrap();
    assert_problem(other, 409, "conflict").await;

    // The credential: a VC-JWT whose x5c chains to our root and verifies.
    let credential = issued["credential"].as_str().unwrap();
    let header = jwt_part(credential, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "vc+jwt");
    let chain: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| B64.decode(c.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[2], w.server.pki().root());
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    let key = tongban_crypto::PublicKey::from_spki_der(leaf.public_key().raw).unwrap();
    let keys = tongban_crypto::jose::Jwks {
        keys: vec![tongban_crypto::jose::Jwk::from_public_key(&key, None)],
    };
    tongban_crypto::jose::verify_compact(credential, None, &keys).unwrap();
    let vc = jwt_part(credential, 1);
    assert_eq!(vc["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(
        vc["credentialSubject"]["certificate"]["identifier"],
        identifier
    );
    assert_eq!(
        vc["credentialSubject"]["face"]["licence_no"],
        "JY11100000000001"
    );
    assert_eq!(
        vc["credentialStatus"][0]["type"],
        "BitstringStatusListEntry"
    );
    assert_eq!(vc["credentialStatus"][0]["statusPurpose"], "revocation");
    assert!(vc["validUntil"].is_string());

    // The holder sees it.
    let mine: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["identifier"], identifier);
    let id = mine[0]["id"].as_str().unwrap();
    // The sealed PDF rendition verifies with the seal verification API, and its QR
    // code's status page says it is in force, without the holder's data.
    let pdf = w
        .get(
            Some(&w.citizen),
            &format!("/api/v1/me/certificates/{id}/pdf"),
        )
        .await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    let checked: Value = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(checked["overall"], "TOTAL-PASSED", "{checked}");
    let status_page = w.get(None, &format!("/verify/i/{identifier}")).await;
    assert_eq!(status_page.status(), 200);
    let html = status_page.text().await.unwrap();
    assert!(
        html.contains("此证照目前有效") && html.contains("国家市场监督管理总局"),
        "{html}"
    );
    assert!(
        !html.contains("张三") && !html.contains("JY11100000000001"),
        "no holder data"
    );
    let wrong_page = w
        .get(
            None,
            &format!("/verify/i/{}", identifier.replace(".001.", ".002.")),
        )
        .await;
    assert_eq!(wrong_page.status(), 400);
    // A system's token has no wallet.
    assert_problem(
        w.get(Some(&w.system_a), "/api/v1/me/certificates").await,
        403,
        "forbidden",
    )
    .await;

    // A single-use share of two fields.
    let share_path = format!("/api/v1/me/certificates/{id}/shares");
    let created = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "中国银行", "purpose": "开立对公账户", "expires_in": 3600,
                   "fields": ["name", "scope"], "single_use": true}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(created["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        created["link"]
            .as_str()
            .unwrap()
            .ends_with(created["token"].as_str().unwrap())
    );
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": created["token"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["checks"]["signature"], true);
    assert_eq!(report["checks"]["chain"], true);
    assert_eq!(report["issuer_uscc"], SAMR);
    assert_eq!(report["identifier"], identifier);
    assert_eq!(
        report["fields"],
        json!({"name": "张三", "scope": "预包装食品销售"})
    );
    assert_eq!(report["share"]["audience"], "中国银行");
    // Used up.
    let used = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": created["token"]}),
        )
        .await;
    assert_problem(used, 403, "forbidden").await;

    // A multi-use share, verified by its short code as a person types it.
    let multi: Value = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "某某公司人事部", "purpose": "入职核验", "expires_in": 86400}),
        )
        .await
        .json()
        .await
        .unwrap();
    let typed = multi["code"]
        .as_str()
        .unwrap()
        .replace('-', " ")
        .to_lowercase();
    for _ in 0..2 {
        let report: Value = w
            .post(None, "/api/v1/certificates/verify", json!({"share": typed}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["valid"], true);
        assert_eq!(
            report["fields"]["licence_no"], "JY11100000000001",
            "all fields"
        );
    }
    // Through the public page: opening the link uses nothing, pressing the button does.
    let page = w
        .get(
            None,
            &format!("/verify/c/{}", multi["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<button"));
    let shown = w
        .server
        .client
        .post(format!(
            "{}/verify/c/{}",
            w.server.base,
            multi["token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(
        html.contains("证照真实") && html.contains("预包装食品销售"),
        "{html}"
    );
    // The holder revokes it; it stops working.
    let revoked = w
        .send(
            reqwest::Method::DELETE,
            Some(&w.citizen),
            &format!(
                "/api/v1/me/shares/{}",
                multi["share"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    assert_problem(
        w.post(None, "/api/v1/certificates/verify", json!({"share": typed}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let gone = w
        .server
        .client
        .post(format!(
            "{}/verify/c/{}",
            w.server.base,
            multi["token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 403);

    // An expired share is refused.
    let short: Value = w
        .post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "房东", "purpose": "租房", "expires_in": 60}),
        )
        .await
        .json()
        .await
        .unwrap();
    {
        let mut conn = w.server.store().conn().await.unwrap();
        sqlx::query("UPDATE ecert_shares SET expires_at = 0 WHERE id = $1")
            .bind(short["share"]["id"].as_str().unwrap())
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let expired = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": short["token"]}),
        )
        .await;
    assert!(
        assert_problem(expired, 403, "forbidden").await["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    // Bad share requests.
    for bad in [
        json!({"audience": "", "purpose": "x", "expires_in": 3600}),
        json!({"audience": "x", "purpose": "x", "expires_in": 31 * 86400}),
        json!({"audience": "x", "purpose": "x", "expires_in": 3600, "fields": ["salary"]}),
    ] {
        assert_problem(
            w.post(Some(&w.citizen), &share_path, bad).await,
            422,
            "invalid-request",
        )
        .await;
    }
    assert_problem(
        w.post(
            None,
            "/api/v1/certificates/verify",
            json!({"share": "no-such-share"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // Department B looks the holder up: only with a purpose; the holder sees it.
    let lookup = format!("/api/v1/certificates?holder={CITIZEN}");
    assert_problem(
        w.get(Some(&w.system_b), &lookup).await,
        400,
        "malformed-request",
    )
    .await;
    let found: Value = w
        .get(Some(&w.system_b), &format!("{lookup}&purpose=%E5%AE%A1%E6%89%B9%E5%88%86%E5%BA%97%E8%AE%BE%E7%AB%8B&type={code}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["identifier"], identifier);
    assert_problem(
        w.get(Some(&w.citizen), &format!("{lookup}&purpose=x"))
            .await,
        403,
        "forbidden",
    )
    .await;
    let wrong_check = format!(
        "{}{}",
        &identifier[..identifier.len() - 1],
        if identifier.ends_with('0') { '1' } else { '0' }
    );
    let wrong = w
        .get(
            Some(&w.system_b),
            &format!("/api/v1/certificates/{wrong_check}?purpose=x"),
        )
        .await;
    assert!(
        assert_problem(wrong, 400, "malformed-request").await["detail"]
            .as_str()
            .unwrap()
            .contains("check character")
    );
    let one: Value = w
        .get(
            Some(&w.system_b),
            &format!("/api/v1/certificates/{identifier}?purpose=%E6%A0%B8%E9%AA%8C"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["identifier"], identifier);
    let accesses: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificate-accesses")
        .await
        .json()
        .await
        .unwrap();
    let accesses = accesses.as_array().unwrap();
    let shares = accesses.iter().filter(|a| a["channel"] == "share").count();
    let lookups: Vec<&Value> = accesses
        .iter()
        .filter(|a| a["channel"] == "lookup")
        .collect();
    assert_eq!(
        shares, 4,
        "one single-use, two by code, one through the page"
    );
    assert_eq!(lookups.len(), 2);
    assert!(lookups.iter().any(|a| a["purpose"] == "审批分店设立"));
    assert!(
        lookups[0]["accessor"]
            .as_str()
            .unwrap()
            .contains("湖南省市场监督管理局")
    );
    assert!(
        accesses
            .iter()
            .any(|a| a["accessor"] == "中国银行" && a["purpose"] == "开立对公账户")
    );

    // The account page shows the certificate and who looked at it.
    let session = support::account_session(&w.server, CITIZEN, PASSWORD).await;
    let account = w
        .server
        .client
        .get(format!("{}/account", w.server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("我的电子证照") && account.contains(identifier),
        "{account}"
    );
    assert!(account.contains("中国银行") && account.contains("审批分店设立"));
    // The holder shares it from the account page too: a single-use link.
    let form_value = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = account.find(&marker).unwrap() + marker.len();
        account[at..at + account[at..].find('"').unwrap()].to_owned()
    };
    let (csrf, certificate_id) = (form_value("csrf_token"), form_value("certificate_id"));
    let share_form = async |csrf: &str, days: &str| {
        w.server
            .client
            .post(format!("{}/account/certificates/share", w.server.base))
            .header("cookie", &session)
            .form(&[
                ("csrf_token", csrf),
                ("certificate_id", certificate_id.as_str()),
                ("audience", "中国工商银行"),
                ("purpose", "个人贷款"),
                ("days", days),
                ("single_use", "1"),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(share_form("forged", "3").await.status(), 403);
    assert_eq!(share_form(&csrf, "31").await.status(), 422);
    let shared = share_form(&csrf, "3").await;
    assert_eq!(shared.status(), 201);
    let shared = shared.text().await.unwrap();
    assert!(
        shared.contains("<svg") && shared.contains("分享码"),
        "{shared}"
    );
    let link_at = shared.find("/verify/c/").unwrap() + "/verify/c/".len();
    let token = &shared[link_at..link_at + shared[link_at..].find('"').unwrap()];
    let once = w
        .post(None, "/api/v1/certificates/verify", json!({"share": token}))
        .await;
    assert_eq!(once.status(), 200);
    let again = w
        .post(None, "/api/v1/certificates/verify", json!({"share": token}))
        .await;
    assert_problem(again, 403, "forbidden").await;
    // And downloads the sealed PDF there; without the session, nothing.
    let pdf_path = format!(
        "{}/account/certificates/{certificate_id}/pdf",
        w.server.base
    );
    assert!(account.contains(&format!("/account/certificates/{certificate_id}/pdf")));
    assert!(account.contains(&format!("/account/certificates/{certificate_id}/ofd")));
    let pdf = w
        .server
        .client
        .get(&pdf_path)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let anonymous = w.server.client.get(&pdf_path).send().await.unwrap();
    assert_eq!(anonymous.status(), 403);
    let foreign = w
        .server
        .client
        .get(format!(
            "{}/account/certificates/not-mine/pdf",
            w.server.base
        ))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);

    // Revocation: the status list's bit follows, with a new ETag.
    let list_url = vc["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .unwrap();
    let index: usize = vc["credentialStatus"][0]["statusListIndex"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = list_url.strip_prefix(&w.server.base).unwrap_or(list_url);
    let path = &path[path.find("/api/").unwrap()..];
    let before = w.get(None, path).await;
    assert_eq!(before.headers()["content-type"], "application/vc+jwt");
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();
    assert!(!status_bit(&before.text().await.unwrap(), index));
    let cached = w
        .server
        .client
        .get(format!("{}{path}", w.server.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let status_path = format!("/api/v1/certificates/{identifier}/status");
    assert_problem(
        w.post(
            Some(&w.system_b),
            &status_path,
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
            &status_path,
            json!({"status": "revoked"}),
        )
        .await,
        422,
        "invalid-request",
    )
    .await;
    let revoked = w
        .post(
            Some(&w.system_a),
            &status_path,
            json!({"status": "revoked", "reason": "吊销许可"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let after = w.get(None, path).await;
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let list = after.text().await.unwrap();
    assert!(status_bit(&list, index));
    assert_eq!(jwt_part(&list, 0)["typ"], "vc+jwt");
    assert_eq!(
        jwt_part(&list, 1)["credentialSubject"]["statusPurpose"],
        "revocation"
    );
    let report: Value = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": credential}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["status"], "revoked");
    assert_eq!(report["checks"]["signature"], true);
    assert_problem(
        w.post(Some(&w.system_a), &status_path, json!({"status": "active"}))
            .await,
        409,
        "conflict",
    )
    .await;
    // Nor be had as a freshly sealed PDF.
    assert_problem(
        w.get(
            Some(&w.citizen),
            &format!("/api/v1/me/certificates/{id}/pdf"),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // A revoked certificate cannot be shared.
    assert_problem(
        w.post(
            Some(&w.citizen),
            &share_path,
            json!({"audience": "x", "purpose": "y", "expires_in": 3600}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    other = w
        .post(
            None,
            "/api/v1/certificates/verify",
            json!({"credential": credential.replace('.', "x")}),
        )
        .await;
    let forged: Value = other.json().await.unwrap();
    assert_eq!(forged["valid"], false);
    assert_eq!(forged["checks"]["signature"], false);
}

#[tokio::test]
async fn the_holder_gets_an_ofd_copy_sealed_by_the_sm2_seal_the_issuer_chose() {
    let w = world().await;
    let t = w.licence_type("012", "natural").await;
    let code = t["code"].as_str().unwrap();
    let issued: Value = w
        .issue(&w.system_a, code, CITIZEN, None)
        .await
        .json()
        .await
        .unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let mine: Value = w
        .get(Some(&w.citizen), "/api/v1/me/certificates")
        .await
        .json()
        .await
        .unwrap();
    let id = mine[0]["id"].as_str().unwrap();
    let ofd_path = format!("/api/v1/me/certificates/{id}/ofd");
    // No SM2 seal chosen yet: no OFD copy, and a clear reason.
    let refused = w.get(Some(&w.citizen), &ofd_path).await;
    let problem = assert_problem(refused, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("SM2 seal"));
    // Only an active SM2 seal of the issuing department, chosen by its administrator.
    let choose = format!("/api/v1/certificate-types/{code}/issuers/{}/ofd-seal", w.a);
    let p256: Value = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/seals", w.a),
            json!({"kind": "contract", "name": "合同专用章"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let body = json!({ "seal_id": p256["id"] });
    let wrong = w
        .send(
            reqwest::Method::PUT,
            Some(&w.admin),
            &choose,
            Some(body.clone()),
        )
        .await;
    assert_problem(wrong, 422, "invalid-request").await;
    let stranger = w
        .send(reqwest::Method::PUT, Some(&w.admin_b), &choose, Some(body))
        .await;
    assert_problem(stranger, 403, "forbidden").await;
    let seal = w.ofd_seal(code).await;

    let ofd = w.get(Some(&w.citizen), &ofd_path).await;
    assert_eq!(ofd.status(), 200);
    assert_eq!(ofd.headers()["content-type"], "application/ofd");
    let ofd = ofd.bytes().await.unwrap().to_vec();
    let package = tongban_seal::ofd::Package::read(&ofd).unwrap();
    let page = String::from_utf8(
        package
            .get("Doc_0/Pages/Page_0/Content.xml")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for text in ["食品经营许可证", "张三", "JY11100000000001", identifier] {
        assert!(page.contains(text), "{text} is not on the page");
    }
    let report: Value = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/ofd")
        .body(ofd)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(report["signatures"][0]["pages"], json!([1]));
    assert_eq!(
        report["signatures"][0]["seal"]["name"],
        "国家市场监督管理总局电子证照专用章"
    );
    // The copy is a use of the seal, recorded with what it was for.
    let log: Value = w
        .get(Some(&w.admin), &format!("/api/v1/seals/{seal}/usages"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["format"], "ses");
    assert_eq!(
        log[0]["purpose"],
        format!("e-certificate rendition {identifier}")
    );

    // The issuing department's system gets a copy too: the type's rendition (PDF
    // here) by default, or the one it asks for; another department's does not.
    let copy = async |token: &str, query: &str| {
        let path = format!("/api/v1/certificates/{identifier}/rendition{query}");
        w.get(Some(token), &path).await
    };
    let pdf = copy(&w.system_a, "").await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let ofd = copy(&w.system_a, "?format=ofd").await;
    assert_eq!(ofd.status(), 200);
    assert_eq!(ofd.headers()["content-type"], "application/ofd");
    assert_problem(
        copy(&w.system_a, "?format=doc").await,
        422,
        "invalid-request",
    )
    .await;
    assert_problem(copy(&w.system_b, "").await, 403, "forbidden").await;
    assert_problem(copy(&w.citizen, "").await, 403, "forbidden").await;
    // A type whose departments get OFD by default.
    let defined = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/certificate-types", w.a),
            json!({"sequence": "013", "name_zh": "营业执照", "name_en": "Business licence",
                   "holder_category": "natural", "seal_id": p256["id"], "rendition": "ofd",
                   "face_schema": {"type": "object", "properties": {"name": {"type": "string"}}}}),
        )
        .await;
    assert_eq!(defined.status(), 201);
    let defined: Value = defined.json().await.unwrap();
    assert_eq!(defined["rendition"], "ofd");
    let code = defined["code"].as_str().unwrap();
    w.ofd_seal(code).await;
    let issued = w
        .post(
            Some(&w.system_a),
            "/api/v1/certificates",
            json!({"type": code, "holder": {"id_number": CITIZEN, "name": "张三"}, "face": {"name": "张三"}}),
        )
        .await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    let identifier = issued["identifier"].as_str().unwrap();
    let path = format!("/api/v1/certificates/{identifier}/rendition");
    let ofd = w.get(Some(&w.system_a), &path).await;
    assert_eq!(ofd.headers()["content-type"], "application/ofd");
    let bad = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/certificate-types", w.a),
            json!({"sequence": "014", "name_zh": "x", "name_en": "x", "holder_category": "natural",
                   "seal_id": p256["id"], "rendition": "docx",
                   "face_schema": {"type": "object", "properties": {}}}),
        )
        .await;
    assert_problem(bad, 422, "invalid-request").await;
}
