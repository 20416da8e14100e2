//! SM2 seals beside P-256 ones: a department may hold both; an SM2 seal's certificate
//! comes from the SM2 hierarchy and validates until the seal is revoked; the P-256
//! formats refuse it (after the right to use it is checked); certificates cannot be
//! signed with it.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::assert_problem;
use support::seal_world::*;
use tongban_core::time::Timestamp;
use tongban_crypto::path::{PathError, Usage, validate};

/// Department A's seals, as its administrator lists them.
async fn seals_of(w: &World) -> Vec<Value> {
    let path = format!("/api/v1/departments/{}/seals", w.a.id);
    let listed: Value = get(w, &w.a.admin, &path).await.json().await.unwrap();
    listed.as_array().unwrap().clone()
}

/// Validates the SM2 certificate `serial` against the served SM2 chain and CRL.
async fn validate_sm2(w: &World, serial: &str) -> Result<usize, PathError> {
    let mut conn = w.server.store().conn().await.unwrap();
    let row = tongban_store::pki::certificate(&mut conn, serial)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(row.issuer, "sm2-issuing");
    let fetch = |path: &'static str| async move {
        let response = w.server.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap().to_vec()
    };
    let issuing = fetch("/pki/ca/sm2-issuing.crt").await;
    let root = fetch("/pki/ca/sm2-root.crt").await;
    let crl = fetch("/pki/crl/sm2-issuing.crl").await;
    validate(
        &row.der,
        &[issuing],
        &[root],
        &[crl],
        Usage::Seal,
        Timestamp::now(),
    )
    .map(|path| path.chain.len())
}

#[tokio::test]
async fn a_department_holds_an_sm2_seal_beside_a_p256_one() {
    let w = world().await;
    let p256 = new_seal(&w, &w.a).await;
    assert_eq!(p256["algorithm"], "ES256");
    let sm2 = new_sm2_seal(&w).await;
    assert_eq!(sm2["algorithm"], "SM2");
    let serial = sm2["certificate_serial"].as_str().unwrap();
    assert_eq!(validate_sm2(&w, serial).await, Ok(3));

    let listed = seals_of(&w).await;
    let algorithms: Vec<&str> = listed
        .iter()
        .map(|s| s["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algorithms.len(), 2);
    assert!(algorithms.contains(&"SM2") && algorithms.contains(&"ES256"));

    // Revoking the seal revokes its SM2 certificate on the SM2 CRL.
    let id = sm2["id"].as_str().unwrap();
    let revoked = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "revoked", "reason": "the seal was replaced"}),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert!(matches!(
        validate_sm2(&w, serial).await,
        Err(PathError::Revoked { .. })
    ));
}

#[tokio::test]
async fn the_p256_formats_refuse_an_sm2_seal_after_the_right_to_use_it() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let digests = json!({"digests": [DIGEST]});
    let cades = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        digests.clone(),
    )
    .await;
    let problem = assert_problem(cades, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("GB/T 38540"));
    let pdf = support::sample_pdf(1, 1_000);
    let pades = post_pdf(&w, &w.a.system, id, "", "application/pdf", pdf).await;
    assert_problem(pades, 409, "conflict").await;
    // Another department's system hears that it may not, not what kind of seal it is.
    let foreign = call(
        &w,
        &w.b.system,
        &format!("/api/v1/seals/{id}/cades"),
        digests,
    )
    .await;
    assert_problem(foreign, 403, "forbidden").await;
}

#[tokio::test]
async fn a_seal_of_an_unknown_algorithm_is_not_made() {
    let w = world().await;
    let created = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "official", "name": "公章", "algorithm": "RSA"}),
    )
    .await;
    let problem = assert_problem(created, 422, "invalid-request").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("algorithm"));
    let listed = seals_of(&w).await;
    assert!(listed.is_empty());
}

#[tokio::test]
async fn certificates_are_not_signed_with_an_sm2_seal() {
    use support::ecert_world;
    let w = ecert_world::world().await;
    let seal: Value = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/seals", w.a),
            json!({"kind": "official", "name": "电子证照专用章", "algorithm": "SM2"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seal["algorithm"], "SM2");
    let define = |sequence: &str, seal: &Value| {
        json!({
            "sequence": sequence, "name_zh": "测试证照", "name_en": "Test licence",
            "holder_category": "natural", "validity_days": 365, "seal_id": seal["id"],
            "face_schema": {"type": "object", "properties": {"name": {"type": "string"}}}
        })
    };
    let types = format!("/api/v1/departments/{}/certificate-types", w.a);
    let defined = w.post(Some(&w.admin), &types, define("099", &seal)).await;
    let problem = assert_problem(defined, 422, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("SM2"),
        "{problem}"
    );
    // The same type with a P-256 seal of the department is defined.
    let p256: Value = w
        .post(
            Some(&w.admin),
            &format!("/api/v1/departments/{}/seals", w.a),
            json!({"kind": "official", "name": "电子证照专用章"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let defined = w.post(Some(&w.admin), &types, define("099", &p256)).await;
    assert_eq!(defined.status(), 201);
}

fn hex(bytes: &[u8]) -> String {
    tongban_crypto::ca::hex(bytes)
}

fn ses_body(digest: &[u8; 32], name: &str) -> Value {
    json!({"digests": [{"sm3": hex(digest), "property_info": name}]})
}

/// The first signature of a `/ses` answer, decoded.
async fn first_signature(response: reqwest::Response) -> tongban_crypto::ses::Signature {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        body["signatures"][0]["ses"].as_str().unwrap(),
    )
    .unwrap();
    tongban_crypto::ses::Signature::decode(&der).unwrap()
}

#[tokio::test]
async fn an_sm2_seal_gets_its_eseal_with_its_image_and_signs_sm3_digests() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    let eseal_path = format!("/api/v1/seals/{id}/eseal");
    // No image, no electronic seal: it carries the image.
    let problem = assert_problem(get(&w, &w.a.admin, &eseal_path).await, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("image"));
    set_image(&w, id).await;
    let served = get(&w, &w.a.user, &eseal_path).await;
    assert_eq!(served.status(), 200);
    let eseal = served.bytes().await.unwrap().to_vec();
    let seal = tongban_crypto::ses::Seal::decode(&eseal).unwrap();
    assert_eq!(seal.es_id, sm2["code"].as_str().unwrap());
    assert_eq!(seal.name, "某市市场监督管理局");
    assert_eq!((seal.picture.width_mm, seal.picture.height_mm), (42, 21));
    assert!(seal.maker_signature_valid());
    // The seal maker's certificate chains to the SM2 root; the seal lists the seal's
    // own certificate.
    let serial = sm2["certificate_serial"].as_str().unwrap();
    let mut conn = w.server.store().conn().await.unwrap();
    let certificate = tongban_store::pki::certificate(&mut conn, serial)
        .await
        .unwrap()
        .unwrap()
        .der;
    drop(conn);
    assert!(seal.lists(&certificate));
    let pki = w.server.pki();
    let maker = pki
        .validate(&seal.maker_certificate, Usage::Seal, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(maker.map(|path| path.chain.len()), Ok(3));
    // Another department's staff do not see it.
    assert_problem(get(&w, &w.b.admin, &eseal_path).await, 403, "forbidden").await;

    grant_all(&w, &w.a, id, false).await;
    let digest = tongban_crypto::shangmi::sm3(b"contract");
    let path = format!("/api/v1/seals/{id}/ses");
    let signature =
        first_signature(call(&w, &w.a.system, &path, ses_body(&digest, "contract.pdf")).await)
            .await;
    assert_eq!(signature.data_hash, digest);
    assert_eq!(signature.property_info, "contract.pdf");
    assert_eq!(signature.seal_der, eseal);
    assert_eq!(signature.signer_certificate, certificate);
    assert!(signature.value_valid());
    // A file: the SM3 of the body.
    let file_path = format!("{path}/file?name=notice.txt");
    let octets = "application/octet-stream";
    let file = post_document(&w, &w.a.user, &file_path, octets, b"notice".to_vec()).await;
    assert_eq!(file.status(), 200);
    let der = file.bytes().await.unwrap();
    let signature = tongban_crypto::ses::Signature::decode(&der).unwrap();
    assert_eq!(signature.data_hash, tongban_crypto::shangmi::sm3(b"notice"));
    assert!(signature.value_valid());

    let log = usage_log(&w, &w.a.admin, id).await;
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|u| u["format"] == "ses" && u["digest_sha256"].is_null())
    );
    assert!(log.iter().any(|u| u["digest_sm3"] == hex(&digest)));
}

#[tokio::test]
async fn ses_signing_keeps_the_seal_boundaries() {
    let w = world().await;
    let sm2 = new_sm2_seal(&w).await;
    let id = sm2["id"].as_str().unwrap();
    set_image(&w, id).await;
    grant_all(&w, &w.a, id, false).await;
    let path = format!("/api/v1/seals/{id}/ses");
    let body = ses_body(&[7; 32], "a.pdf");
    // Department B's system may not use A's seal: refused and audited.
    assert_problem(
        call(&w, &w.b.system, &path, body.clone()).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(refusals(&w, id).await, 1);
    // A P-256 seal makes no GB/T 38540 signature.
    let p256 = new_seal(&w, &w.a).await;
    let p256_id = p256["id"].as_str().unwrap();
    grant_all(&w, &w.a, p256_id, false).await;
    let refused = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{p256_id}/ses"),
        body.clone(),
    )
    .await;
    assert_problem(refused, 409, "conflict").await;
    // Nor has it an SESeal to serve.
    let eseal = get(&w, &w.a.admin, &format!("/api/v1/seals/{p256_id}/eseal")).await;
    assert_problem(eseal, 409, "conflict").await;
    // A file upload with no file.
    let file_path = format!("/api/v1/seals/{id}/ses/file?name=empty.txt");
    let octets = "application/octet-stream";
    let empty = post_document(&w, &w.a.system, &file_path, octets, Vec::new()).await;
    assert_problem(empty, 422, "invalid-request").await;
    // Malformed input, each a 422 naming the field.
    for (bad, field) in [
        (
            json!({"digests": [{"sm3": "00", "property_info": "a"}]}),
            "digests[0].sm3",
        ),
        (
            json!({"digests": [{"sm3": hex(&[1; 32]), "property_info": "合同.pdf"}]}),
            "property_info",
        ),
        (
            json!({"digests": [{"sm3": hex(&[1; 32]), "property_info": ""}]}),
            "property_info",
        ),
        (json!({"digests": []}), "digests"),
    ] {
        let problem = assert_problem(
            call(&w, &w.a.system, &path, bad).await,
            422,
            "invalid-request",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().starts_with(field),
            "{problem}"
        );
    }
    assert!(usage_log(&w, &w.a.admin, id).await.is_empty());
    // Suspended, it signs nothing; revoked, its certificate (the one its SESeal lists)
    // is on the SM2 CRL.
    for (status, reason) in [("suspended", "audit"), ("revoked", "replaced")] {
        let changed = call(
            &w,
            &w.a.admin,
            &format!("/api/v1/seals/{id}/status"),
            json!({"status": status, "reason": reason}),
        )
        .await;
        assert_eq!(changed.status(), 200);
        assert_problem(
            call(&w, &w.a.system, &path, body.clone()).await,
            409,
            "conflict",
        )
        .await;
    }
    let serial = sm2["certificate_serial"].as_str().unwrap();
    assert!(matches!(
        validate_sm2(&w, serial).await,
        Err(PathError::Revoked { .. })
    ));
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

/// A new SM2 seal of A with its image, granted to A's user and system: its id.
async fn ready_sm2_seal(w: &World) -> String {
    let sm2 = new_sm2_seal(w).await;
    let id = sm2["id"].as_str().unwrap().to_owned();
    set_image(w, &id).await;
    grant_all(w, &w.a, &id, false).await;
    id
}

/// A's system's SES signature over `data`, DER.
async fn ses_of(w: &World, id: &str, data: &[u8]) -> Vec<u8> {
    let body = ses_body(&tongban_crypto::shangmi::sm3(data), "data.bin");
    let answer: Value = call(w, &w.a.system, &format!("/api/v1/seals/{id}/ses"), body)
        .await
        .json()
        .await
        .unwrap();
    base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        answer["signatures"][0]["ses"].as_str().unwrap(),
    )
    .unwrap()
}

/// The certificate serial of seal `id`, as its administrator reads it.
async fn serial_of(w: &World, id: &str) -> String {
    let seals = seals_of(w).await;
    let seal = seals.iter().find(|s| s["id"] == id).unwrap();
    seal["certificate_serial"].as_str().unwrap().to_owned()
}

fn verdict(report: &Value) -> (&str, Option<&str>) {
    let signature = &report["signatures"][0];
    (
        signature["indication"].as_str().unwrap(),
        signature["sub_indication"].as_str(),
    )
}

#[tokio::test]
async fn ses_signatures_and_eseals_verify_and_their_changes_are_named() {
    let w = world().await;
    let id = ready_sm2_seal(&w).await;
    let der = ses_of(&w, &id, b"data").await;
    let report = verify_json(&w, json!({"ses": b64(&der), "file": b64(b"data")})).await;
    assert_eq!(verdict(&report), ("TOTAL-PASSED", None), "{report}");
    let signature = &report["signatures"][0];
    assert_eq!(signature["format"], "ses");
    assert_eq!(signature["field"], "data.bin");
    assert_eq!(signature["integrity"], true);
    assert_eq!(signature["trusted"], true);
    assert_eq!(signature["seal"]["name"], "某市市场监督管理局");
    let sm3 = hex(&tongban_crypto::shangmi::sm3(b"data"));
    let report = verify_json(&w, json!({"ses": b64(&der), "sm3": sm3})).await;
    assert_eq!(verdict(&report), ("TOTAL-PASSED", None));
    // Another file.
    let report = verify_json(&w, json!({"ses": b64(&der), "file": b64(b"other")})).await;
    assert_eq!(verdict(&report), ("TOTAL-FAILED", Some("HASH_FAILURE")));
    // The seal on its own.
    let eseal = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/eseal")).await;
    let eseal = eseal.bytes().await.unwrap().to_vec();
    let report = verify_json(&w, json!({"eseal": b64(&eseal)})).await;
    assert_eq!(verdict(&report), ("TOTAL-PASSED", None), "{report}");
    assert_eq!(report["signatures"][0]["format"], "eseal");
    assert!(
        report["signatures"][0]["signer"]
            .as_str()
            .unwrap()
            .contains("Seal Maker")
    );

    // Bad input: truncated, trailing bytes, another version, another algorithm.
    let mut longer = der.clone();
    longer.push(0);
    let mut version = der.clone();
    let at = 4 + der[4..].windows(3).position(|w| w == [2, 1, 4]).unwrap();
    version[at + 2] = 2;
    let sm2_with_sm3 = [0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
    let ecdsa_with_sha256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    // The SES_Signature's own signatureAlgID: the last bare OID (certificates, and the
    // time-stamp token after it, wrap theirs in an AlgorithmIdentifier SEQUENCE).
    let last = (2..der.len() - 10)
        .rev()
        .find(|&i| der[i..i + 10] == sm2_with_sm3 && der[i - 2..i] != [0x30, 0x0a])
        .unwrap();
    let mut mixed = der.clone();
    mixed[last..last + 10].copy_from_slice(&ecdsa_with_sha256);
    for (bad, expected) in [
        (
            der[..der.len() - 3].to_vec(),
            ("TOTAL-FAILED", Some("FORMAT_FAILURE")),
        ),
        (longer, ("TOTAL-FAILED", Some("FORMAT_FAILURE"))),
        (version, ("TOTAL-FAILED", Some("FORMAT_FAILURE"))),
        (
            mixed,
            ("INDETERMINATE", Some("CRYPTO_CONSTRAINTS_FAILURE_NO_POE")),
        ),
        (
            b"not DER".to_vec(),
            ("TOTAL-FAILED", Some("FORMAT_FAILURE")),
        ),
    ] {
        let report = verify_json(&w, json!({"ses": b64(&bad)})).await;
        assert_eq!(verdict(&report), expected, "{report}");
        assert!(
            !report["signatures"][0]["messages"][0]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    // A changed seal name: the maker's signature fails (and the signer's, over it).
    let name = "某市".as_bytes();
    let at = eseal.windows(name.len()).position(|w| w == name).unwrap();
    let mut renamed = eseal.clone();
    renamed[at..at + name.len()].copy_from_slice("某县".as_bytes());
    let report = verify_json(&w, json!({"eseal": b64(&renamed)})).await;
    assert_eq!(
        verdict(&report),
        ("TOTAL-FAILED", Some("SIG_CRYPTO_FAILURE"))
    );
    assert_eq!(report["signatures"][0]["integrity"], false);
    // Both at once is refused; neither too.
    for body in [
        json!({"ses": b64(&der), "eseal": b64(&eseal)}),
        json!({"sm3": sm3}),
    ] {
        let response = w
            .server
            .client
            .post(format!("{}/api/v1/verify", w.server.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 422, "invalid-request").await;
    }

    // Revoked later: the SM2 TSA's time-stamp proves the signature older, and it
    // stands. (A revocation in the time-stamp's second would count as before it.)
    let stamped = verify_json(&w, json!({"ses": b64(&der), "sm3": sm3})).await;
    assert!(
        stamped["signatures"][0]["timestamp_time"].is_string(),
        "{stamped}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let revoked = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "revoked", "reason": "replaced"}),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    let report = verify_json(&w, json!({"ses": b64(&der), "sm3": sm3})).await;
    assert_eq!(verdict(&report), ("TOTAL-PASSED", None), "{report}");
    assert_eq!(
        report["signatures"][0]["revocation"],
        "revoked-after-signing"
    );
    // Without the file or its digest, what it signed is unchecked: nothing passes.
    let report = verify_json(&w, json!({"ses": b64(&der)})).await;
    assert_eq!(
        verdict(&report),
        ("INDETERMINATE", Some("SIGNED_DATA_NOT_FOUND"))
    );
    // Without its time-stamp (the signature as an older client made it), nothing
    // proves it older than the revocation.
    let signature = tongban_crypto::ses::Signature::decode(&der).unwrap();
    let eseal = signature.seal_der.clone();
    let pki = w.server.pki();
    let key = {
        let mut conn = w.server.store().conn().await.unwrap();
        let sealed = tongban_store::pki::certificate(&mut conn, &serial_of(&w, &id).await)
            .await
            .unwrap()
            .unwrap();
        pki.certified_in(&mut conn, &sealed.key_id, &sealed.serial)
            .await
            .unwrap()
    };
    let unstamped = tongban_crypto::ses::sign(
        &tongban_crypto::ses::ToSign {
            eseal: &eseal,
            time: Timestamp::now(),
            data_hash: [3; 32],
            property_info: "x",
        },
        key.certificate(),
        key.signer.as_ref(),
        |_| Ok(None),
    )
    .unwrap();
    let report = verify_json(&w, json!({"ses": b64(&unstamped), "sm3": hex(&[3; 32])})).await;
    assert_eq!(verdict(&report), ("INDETERMINATE", Some("REVOKED_NO_POE")));
}

#[tokio::test]
async fn a_signer_the_seal_does_not_list_or_a_seal_out_of_its_validity_fails() {
    use tongban_crypto::ses::{self, Picture, SealContent, SealType, ToSign};
    let w = world().await;
    let first = ready_sm2_seal(&w).await;
    let second = new_sm2_seal(&w).await;
    let eseal = get(&w, &w.a.admin, &format!("/api/v1/seals/{first}/eseal")).await;
    let eseal = eseal.bytes().await.unwrap().to_vec();
    // The second seal's key signs with the first seal's SESeal.
    let pki = w.server.pki();
    // The seal's key id is not in the API's answer: it is the certificate's.
    let serial = second["certificate_serial"].as_str().unwrap();
    let mut conn = w.server.store().conn().await.unwrap();
    let row = tongban_store::pki::certificate(&mut conn, serial)
        .await
        .unwrap()
        .unwrap();
    let key = pki
        .certified_in(&mut conn, &row.key_id, serial)
        .await
        .unwrap();
    drop(conn);
    let now = Timestamp::now();
    let sign_with = |eseal: &[u8]| {
        ses::sign(
            &ToSign {
                eseal,
                time: now,
                data_hash: [1; 32],
                property_info: "x",
            },
            key.certificate(),
            key.signer.as_ref(),
            |_| Ok(None),
        )
        .unwrap()
    };
    let report = verify_json(&w, json!({"ses": b64(&sign_with(&eseal))})).await;
    assert_eq!(
        verdict(&report),
        ("TOTAL-FAILED", Some("SIG_CONSTRAINTS_FAILURE"))
    );
    let messages = report["signatures"][0]["messages"].to_string();
    assert!(messages.contains("may be used with"), "{report}");

    // A seal by our seal maker that ended yesterday.
    let maker = pki.seal_maker().unwrap();
    let day = 86_400_000;
    let picture = Picture {
        format: "PNG".into(),
        data: vec![1, 2, 3],
        width_mm: 40,
        height_mm: 40,
    };
    let listed = [key.certificate().to_vec()];
    let expired = ses::make_seal(
        &SealContent {
            vendor: "Tongban",
            es_id: "expired",
            kind: SealType::Organisation,
            name: "过期印章",
            signer_certificates: &listed,
            created: Timestamp::from_unix_millis(now.unix_millis() - 3 * day),
            valid_start: Timestamp::from_unix_millis(now.unix_millis() - 3 * day),
            valid_end: Timestamp::from_unix_millis(now.unix_millis() - day),
            picture: &picture,
        },
        &maker.certificate,
        maker.signer.as_ref(),
    )
    .unwrap();
    let report = verify_json(&w, json!({"ses": b64(&sign_with(&expired))})).await;
    assert_eq!(
        verdict(&report),
        ("TOTAL-FAILED", Some("SIG_CONSTRAINTS_FAILURE"))
    );
    assert!(
        report
            .to_string()
            .contains("outside the electronic seal's validity")
    );
    let report = verify_json(&w, json!({"eseal": b64(&expired)})).await;
    assert_eq!(
        verdict(&report),
        ("INDETERMINATE", Some("OUT_OF_BOUNDS_NO_POE"))
    );

    // A seal certificate of ours posing as the seal maker: same key usage, not the
    // platform's seal maker.
    let valid_until = Timestamp::from_unix_millis(now.unix_millis() + day);
    let posing = ses::make_seal(
        &SealContent {
            vendor: "Tongban",
            es_id: "posing",
            kind: SealType::Organisation,
            name: "冒充印章",
            signer_certificates: &listed,
            created: now,
            valid_start: Timestamp::from_unix_millis(now.unix_millis() - day),
            valid_end: valid_until,
            picture: &picture,
        },
        key.certificate(),
        key.signer.as_ref(),
    )
    .unwrap();
    let report = verify_json(&w, json!({"eseal": b64(&posing)})).await;
    assert_eq!(
        verdict(&report),
        ("TOTAL-FAILED", Some("SIG_CONSTRAINTS_FAILURE")),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("not this platform's seal maker")
    );
}

#[tokio::test]
async fn a_pdf_carries_pades_then_ses_then_pades_and_each_verifies() {
    let w = world().await;
    let p256 = new_seal(&w, &w.a).await;
    let p256 = p256["id"].as_str().unwrap();
    grant_all(&w, &w.a, p256, false).await;
    let sm2 = ready_sm2_seal(&w).await;
    let pdf = support::sample_pdf(2, 20_000);
    let once = sealed_pdf(&w, p256, pdf).await;
    let twice = ses_sealed_pdf(&w, &sm2, "page=2&x=100&y=100&size=100", once.clone()).await;
    assert!(twice.starts_with(&once), "an incremental update");
    let text = String::from_utf8_lossy(&twice[once.len()..]).into_owned();
    assert!(text.contains("/Filter/Tongban.SES/SubFilter/GBT38540.SES"));
    let thrice = sealed_pdf(&w, p256, twice.clone()).await;
    let report = verify_pdf(&w, thrice).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    let formats: Vec<&str> = signatures
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["pades", "ses", "pades"]);
    assert_eq!(signatures[1]["later_changes_only_signatures"], true);
    assert_eq!(signatures[1]["seal"]["name"], "某市市场监督管理局");
    assert_eq!(signatures[2]["covers_whole_document"], true);
    // A byte changed inside what the SES signature covers breaks it (and the first).
    let mut changed = twice;
    let at = changed.len() - 40;
    changed[at] ^= 0x20;
    let report = verify_pdf(&w, changed).await;
    assert_eq!(report["signatures"][1]["format"], "ses");
    assert_eq!(
        report["signatures"][1]["indication"], "TOTAL-FAILED",
        "{report}"
    );
    // The use is in the SM2 seal's log, with the SM3 of the document as it came.
    let log = usage_log(&w, &w.a.admin, &sm2).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["format"], "ses");
    assert_eq!(
        log[0]["digest_sm3"],
        hex(&tongban_crypto::shangmi::sm3(&once))
    );
    // A P-256 seal cannot make it.
    let pdf = support::sample_pdf(1, 1_000);
    let refused = post_ses_pdf(&w, &w.a.system, p256, "", pdf).await;
    assert_problem(refused, 409, "conflict").await;
    // Not a PDF, or nothing: refused before anything is signed or recorded.
    for bad in [b"not a pdf".to_vec(), Vec::new()] {
        let refused = post_ses_pdf(&w, &w.a.system, &sm2, "", bad).await;
        assert_problem(refused, 422, "invalid-request").await;
    }
    assert_eq!(usage_log(&w, &w.a.admin, &sm2).await.len(), 1);
}

#[tokio::test]
async fn the_verify_page_reads_ses_signatures_with_their_files_and_eseals() {
    let w = world().await;
    let id = ready_sm2_seal(&w).await;
    let der = ses_of(&w, &id, b"data").await;
    let eseal = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/eseal")).await;
    let eseal = eseal.bytes().await.unwrap().to_vec();
    let upload = async |parts: &[(&str, &[u8])]| {
        let response = verify_page(&w, parts).await;
        (response.status(), response.text().await.unwrap())
    };
    let (status, html) = upload(&[("document", &der), ("signed_file", b"data")]).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("TOTAL-PASSED") && html.contains("某市市场监督管理局"),
        "{html}"
    );
    let (status, html) = upload(&[("document", &der), ("signed_file", b"changed")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("TOTAL-FAILED / HASH_FAILURE"), "{html}");
    let (status, html) = upload(&[("document", &eseal)]).await;
    assert_eq!(status, 200);
    assert!(html.contains("TOTAL-PASSED"), "{html}");
    // Neither a PDF nor DER: the form again, saying so.
    let (status, html) = upload(&[("document", b"plain text")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("role=\"alert\""));
}
