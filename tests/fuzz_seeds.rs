//! Writes the fuzz targets' first inputs (`tests/fuzz/corpus/<target>/seed-*`) from
//! what the service itself makes: sealed PDFs and OFD documents, CMS and JWS seals,
//! GB/T 38540 signatures and seals, the certificates and CRLs of its CA. Fuzzing grows
//! the corpus from them. Run by hand when a format changes:
//! `cargo test --test fuzz_seeds -- --ignored`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use support::documents::{ofd_document, png_image, sample_pdf, sample_pdf_in_streams};
use support::seal_world::*;

/// What joins the parts of one input (`tongban_fuzz::parts`).
const SEPARATOR: &[u8] = &[0xff, 0x00, 0xff];

fn corpus(target: &str) -> PathBuf {
    let dir = support::repo_root().join("tests/fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn seed(target: &str, name: &str, data: &[u8]) {
    std::fs::write(corpus(target).join(format!("seed-{name}")), data).unwrap();
}

fn with_kind(kind: u8, data: &[u8]) -> Vec<u8> {
    [&[kind][..], data].concat()
}

fn joined(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(SEPARATOR)
}

async fn ok_bytes(response: reqwest::Response) -> Vec<u8> {
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
#[ignore = "writes the fuzz corpus's seeds; run by hand"]
async fn write_fuzz_seeds() {
    let w = world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap().to_owned();
    set_image(&w, &id).await;
    grant_all(&w, &w.a, &id, false).await;
    let sm2 = new_sm2_seal(&w).await;
    let sm2_id = sm2["id"].as_str().unwrap().to_owned();
    set_image(&w, &sm2_id).await;
    grant_all(&w, &w.a, &sm2_id, false).await;

    // PDFs: plain, sealed (PAdES), sealed twice, with an SES signature across the edge.
    let plain = sample_pdf(3, 200);
    let sealed = sealed_pdf(&w, &id, plain.clone()).await;
    let twice = sealed_pdf(&w, &id, sealed.clone()).await;
    let riding = ses_sealed_pdf(&w, &sm2_id, "riding=right", sample_pdf(3, 100)).await;
    for (name, pdf) in [
        ("plain", &plain),
        ("pades", &sealed),
        ("pades-twice", &twice),
        ("ses-riding", &riding),
    ] {
        seed("pdf_verify", name, pdf);
        seed("pdf_seal", name, pdf);
    }
    seed("pdf_seal", "streams", &sample_pdf_in_streams(2, 100, 3));

    // CMS: a CAdES signature over a digest, with its time-stamp token.
    let cades = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [DIGEST]}),
    )
    .await;
    assert_eq!(cades.status(), 200);
    let cades: Value = cades.json().await.unwrap();
    let p7s = STANDARD
        .decode(cades["signatures"][0]["p7s"].as_str().unwrap())
        .unwrap();
    seed("cms", "cades", &p7s);
    let token = tongban_crypto::cms::signature_timestamp(&p7s)
        .unwrap()
        .unwrap();
    seed("cms", "timestamp-token", &token);

    // JOSE: a detached JWS seal, the same in JSON, the JWKS's first key, DPoP claims.
    let jws = w
        .server
        .client
        .post(format!("{}/api/v1/seals/{id}/jws", w.server.base))
        .bearer_auth(&w.a.user)
        .body(r#"{"notice":1}"#)
        .send()
        .await
        .unwrap();
    let jws = String::from_utf8(ok_bytes(jws).await).unwrap();
    seed("jose", "compact", &with_kind(0, jws.as_bytes()));
    let parts: Vec<&str> = jws.split('.').collect();
    let flattened = json!({"protected": parts[0], "payload": URL_SAFE_NO_PAD.encode(b"{\"notice\":1}"), "signature": parts[2]});
    seed(
        "jose",
        "json",
        &with_kind(1, flattened.to_string().as_bytes()),
    );
    let jwks: Value = w
        .server
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap_or_default();
    let jwk = jwks["keys"][0].clone();
    assert!(jwk.is_object(), "{jwks}");
    seed("jose", "jwk", &with_kind(2, jwk.to_string().as_bytes()));
    let claims = json!({"htm": "POST", "htu": "https://id.example.gov.cn/token", "iat": 1_800_000_000, "jti": "seed", "nonce": "$nonce"});
    seed(
        "jose",
        "dpop-claims",
        &with_kind(4, claims.to_string().as_bytes()),
    );
    let with_ath = json!({"htm": "POST", "htu": "https://id.example.gov.cn/token", "iat": 1_800_000_000, "jti": "seed", "nonce": "$nonce", "ath": "x"});
    let header = json!({"kid": "k1", "alg": "ES256"});
    seed(
        "jose",
        "dpop-claims-header",
        &with_kind(
            4,
            &joined(&[
                with_ath.to_string().as_bytes(),
                header.to_string().as_bytes(),
            ]),
        ),
    );

    // Certificates: the seal's chain from the JWS header, with the issuing CA's CRL.
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let x5c: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| STANDARD.decode(c.as_str().unwrap()).unwrap())
        .collect();
    let crl = ok_bytes(w.server.get("/pki/crl/issuing.crl").await).await;
    seed("path", "seal-chain-crl", &joined(&[&x5c[0], &x5c[1], &crl]));
    seed("path", "seal", &x5c[0]);
    seed("cms", "crl", &crl);

    // GB/T 38540: the electronic seal and a signature over an SM3 digest.
    let eseal = ok_bytes(get(&w, &w.a.user, &format!("/api/v1/seals/{sm2_id}/eseal")).await).await;
    seed("ses", "eseal", &eseal);
    let file = post_document(
        &w,
        &w.a.user,
        &format!("/api/v1/seals/{sm2_id}/ses/file?name=notice.txt"),
        "application/octet-stream",
        b"notice".to_vec(),
    )
    .await;
    seed("ses", "signature", &ok_bytes(file).await);

    // OFD: a document, the same sealed on a page and across the edge.
    let document = ofd_document(3);
    seed("ofd", "plain", &document);
    let on_page = post_document(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{sm2_id}/ofd"),
        "application/ofd",
        document.clone(),
    )
    .await;
    seed("ofd", "sealed", &ok_bytes(on_page).await);
    let across = post_document(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{sm2_id}/ofd?riding=right"),
        "application/ofd",
        document,
    )
    .await;
    seed("ofd", "riding", &ok_bytes(across).await);

    // Seal images.
    seed("png", "rgba", &png_image(200, 100, png::ColorType::Rgba));
    seed("png", "rgb", &png_image(64, 64, png::ColorType::Rgb));

    // Batches: a CSV of rows, a face, a schema.
    let csv = "id_number,name,licence_no,valid_until,scope,staff,chain,#errors\n\
               110101199003074477,张三,YJ-001,2030-01-01,批发,12,true,\n\
               \"110101199003074477\",\"李四, 二\",YJ-002,2030-13-01,零售,x,no,日期\n";
    seed("batch", "csv", &with_kind(0, csv.as_bytes()));
    let face = json!({"licence_no": "YJ-001", "valid_until": "2030-01-01", "scope": "批发", "staff": 3, "chain": false});
    seed("batch", "face", &with_kind(1, face.to_string().as_bytes()));
    let schema = json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}, "valid_until": {"type": "string", "format": "date"}}});
    seed(
        "batch",
        "schema",
        &with_kind(2, schema.to_string().as_bytes()),
    );

    // A time-stamp request (RFC 3161): version 1, a SHA-256 imprint, a nonce, certReq.
    let sha256 = der(
        0x30,
        &[
            &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    let imprint = der(
        0x30,
        &[sha256, der(0x04, &tongban_crypto::cms::sha256(b"notice"))].concat(),
    );
    let request = der(
        0x30,
        &[
            vec![0x02, 0x01, 0x01],
            imprint,
            vec![0x02, 0x01, 0x07],
            vec![0x01, 0x01, 0xff],
        ]
        .concat(),
    );
    seed("tsa_request", "sha256", &request);
}

/// A DER value of `tag` with short-form length (the seeds are small).
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    [&[tag, u8::try_from(content.len()).unwrap()][..], content].concat()
}
