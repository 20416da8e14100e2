//! Exactly once under retries: every way of sealing that answers with a signature (OFD
//! packages included) takes
//! an `Idempotency-Key`; the same request under the same key is answered with the first
//! signature and nothing is signed or recorded again, whichever instance answers it,
//! even when the instance that sealed was killed (SIGKILL) after its commit, or before.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::documents::{ofd_document, sample_pdf};
use support::seal_world::*;
use support::{Instance, assert_problem};
use tokio::io::AsyncWriteExt;

/// `POST path` by `token` with `body` as `content_type`, under `key`: status and body.
async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    (content_type, body): (&str, &[u8]),
    key: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut request = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_vec());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// A sealing call: the seal, the call with its query, the content type, the body, and
/// another body to send under the same key.
type Call<'a> = (&'a str, &'a str, &'a str, &'a [u8], &'a [u8]);

async fn uses(w: &World, id: &str) -> usize {
    usage_log(w, &w.a.admin, id).await.len()
}

#[tokio::test]
async fn a_retry_under_the_same_key_gets_the_first_signature_and_signs_nothing() {
    let w = world().await;
    let p256 = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &p256, false).await;
    let sm2 = new_sm2_seal(&w).await["id"].as_str().unwrap().to_owned();
    set_image(&w, &sm2).await;
    grant_all(&w, &w.a, &sm2, false).await;
    let (pdf, other_pdf) = (sample_pdf(2, 2_000), sample_pdf(3, 2_000));
    let (ofd, other_ofd) = (ofd_document(2), ofd_document(3));
    let digests = json!({"digests": [DIGEST]}).to_string();
    let other_digests = json!({"digests": [DIGEST], "purpose": "another"}).to_string();
    let sm3 = json!({"digests": [{"sm3": DIGEST, "property_info": "a.pdf"}]}).to_string();
    let other_sm3 = json!({"digests": [{"sm3": DIGEST, "property_info": "b.pdf"}]}).to_string();
    let (json_, octets, pdf_) = (
        "application/json",
        "application/octet-stream",
        "application/pdf",
    );
    // Each call, its body, and another request under the same key.
    let calls: [Call; 8] = [
        (
            &p256,
            "cades",
            json_,
            digests.as_bytes(),
            other_digests.as_bytes(),
        ),
        (
            &p256,
            "cades/file?purpose=a",
            octets,
            b"a contract",
            b"another",
        ),
        (&p256, "jws", octets, b"{\"notice\":1}", b"{\"notice\":2}"),
        (&p256, "pades?page=1", pdf_, &pdf, &other_pdf),
        (&sm2, "ses", json_, sm3.as_bytes(), other_sm3.as_bytes()),
        (
            &sm2,
            "ses/file?name=a.txt",
            octets,
            b"a contract",
            b"another",
        ),
        (&sm2, "ses/pdf?page=1", pdf_, &pdf, &other_pdf),
        (&sm2, "ofd?page=1", "application/ofd", &ofd, &other_ofd),
    ];
    let http = &w.server.client;
    for (seal, call, content_type, body, other) in calls {
        let url = format!("{}/api/v1/seals/{seal}/{call}", w.server.base);
        let key = format!("order-7-{call}");
        let before = uses(&w, seal).await;
        let first = post(http, &url, &w.a.system, (content_type, body), Some(&key)).await;
        assert_eq!(
            first.0,
            200,
            "{call}: {}",
            String::from_utf8_lossy(&first.1)
        );
        let again = post(http, &url, &w.a.system, (content_type, body), Some(&key)).await;
        assert_eq!(again, first, "{call}: the retry gets the first answer");
        assert_eq!(uses(&w, seal).await, before + 1, "{call}: one use recorded");

        // The key names that request: another under it is refused, and does nothing.
        let refused = post(http, &url, &w.a.system, (content_type, other), Some(&key)).await;
        assert_eq!(
            refused.0,
            409,
            "{call}: {}",
            String::from_utf8_lossy(&refused.1)
        );
        let problem: Value = serde_json::from_slice(&refused.1).unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
        // So is the same body at another place (a query changed, or added).
        let separator = if url.contains('?') { '&' } else { '?' };
        let moved = post(
            http,
            &format!("{url}{separator}x=1"),
            &w.a.system,
            (content_type, body),
            Some(&key),
        )
        .await;
        assert_eq!(
            moved.0,
            409,
            "{call}: {}",
            String::from_utf8_lossy(&moved.1)
        );
        assert_eq!(
            uses(&w, seal).await,
            before + 1,
            "{call}: nothing more recorded"
        );

        // A key is the caller's own: the same key from another caller is its own request.
        let theirs = post(http, &url, &w.a.user, (content_type, body), Some(&key)).await;
        assert_eq!(theirs.0, 200, "{call}");
        assert_ne!(
            theirs.1, first.1,
            "{call}: a new signature for the other caller"
        );
        // Without a key, each call is a use.
        post(http, &url, &w.a.system, (content_type, body), None).await;
        assert_eq!(uses(&w, seal).await, before + 3, "{call}");
    }

    // Two copies sent at once: the second waits for the seal's lock, then finds the
    // first's answer.
    let url = format!("{}/api/v1/seals/{p256}/jws", w.server.base);
    let before = uses(&w, &p256).await;
    let twice = (octets, &b"at once"[..]);
    let (a, b) = tokio::join!(
        post(http, &url, &w.a.system, twice, Some("at-once")),
        post(http, &url, &w.a.system, twice, Some("at-once")),
    );
    assert_eq!((a.0, &a), (200, &b));
    assert_eq!(uses(&w, &p256).await, before + 1);

    // A seal suspended by a retried call is suspended once: one change in its history.
    let status = format!("{}/api/v1/seals/{p256}/status", w.server.base);
    let suspend = json!({"status": "suspended", "reason": "盘点"}).to_string();
    let json_body = (json_, suspend.as_bytes());
    let first = post(http, &status, &w.a.admin, json_body, Some("suspend-1")).await;
    assert_eq!(first.0, 200, "{}", String::from_utf8_lossy(&first.1));
    assert_eq!(
        post(http, &status, &w.a.admin, json_body, Some("suspend-1")).await,
        first
    );
    let history: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{p256}/history"))
        .await
        .json()
        .await
        .unwrap();
    let suspensions = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["change"] == "suspended");
    assert_eq!(suspensions.count(), 1, "{history}");
    let resume = json!({"status": "active"}).to_string();
    let refused = post(
        http,
        &status,
        &w.a.admin,
        (json_, resume.as_bytes()),
        Some("suspend-1"),
    )
    .await;
    assert_eq!(refused.0, 409);
    let resumed = post(
        http,
        &status,
        &w.a.admin,
        (json_, resume.as_bytes()),
        Some("resume-1"),
    )
    .await;
    assert_eq!(resumed.0, 200);

    // A retried sealed PDF is the one the use recorded: whole, valid, in the log.
    let url = format!("{}/api/v1/seals/{p256}/pades?page=1", w.server.base);
    let (_, sealed) = post(
        http,
        &url,
        &w.a.system,
        (pdf_, &pdf),
        Some("order-7-pades?page=1"),
    )
    .await;
    let report = verify_pdf(&w, sealed).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        report["signatures"][0]["log"]["kind"], "seal.used",
        "{report}"
    );

    // A malformed key is refused before anything is done.
    for key in ["", "with space", &"k".repeat(256)] {
        let response = w
            .server
            .client
            .post(format!("{}/api/v1/seals/{p256}/jws", w.server.base))
            .bearer_auth(&w.a.system)
            .header("idempotency-key", key)
            .body("x")
            .send()
            .await
            .unwrap();
        assert_problem(response, 422, "invalid-request").await;
    }
}

/// A request sent as raw bytes, so that it can stop half-way.
async fn half_a_request(base: &str, path: &str, token: &str, key: &str, pdf: &[u8]) {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/pdf\r\nidempotency-key: {key}\r\ncontent-length: {}\r\n\r\n",
        pdf.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&pdf[..pdf.len() / 2]).await.unwrap();
    stream.flush().await.unwrap();
    // The instance dies with the request half read: the caller never hears back.
    std::mem::forget(stream);
}

#[tokio::test]
async fn an_instance_killed_after_its_commit_or_before_leaves_exactly_one_signature() {
    let w = world().await;
    let id = new_seal(&w, &w.a).await["id"].as_str().unwrap().to_owned();
    grant_all(&w, &w.a, &id, false).await;
    let (token, admin) = (w.a.system.clone(), w.a.admin.clone());
    // Two instances of the service on the world's database, as behind a load balancer.
    // Both keep the test configuration's public URL, which the tokens were issued for.
    let http = w.server.client.clone();
    let World { server, .. } = w;
    let db = server.stop_keeping_db().await;
    let env = [];
    let one = Instance::start(&db.url, &http, &env).await;
    let two = Instance::start(&db.url, &http, &env).await;
    let uses = |base: String| {
        let (http, admin, id) = (http.clone(), admin.clone(), id.clone());
        async move {
            let log: Value = http
                .get(format!("{base}/api/v1/seals/{id}/usages"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            log.as_array().unwrap_or_else(|| panic!("{log}")).len()
        }
    };
    let path = format!("/api/v1/seals/{id}/pades");
    let verify = |base: String, pdf: Vec<u8>| {
        let http = http.clone();
        async move {
            let report: Value = http
                .post(format!("{base}/api/v1/verify"))
                .header("content-type", "application/pdf")
                .body(pdf)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            report
        }
    };

    // Killed before its commit: the first instance dies while the document arrives. Nothing
    // was signed; the retry to the other instance seals it, once.
    let pdf = sample_pdf(2, 4_000_000);
    half_a_request(&one.base, &path, &token, "before-commit", &pdf).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    one.kill_9().await;
    assert_eq!(uses(two.base.clone()).await, 0, "nothing recorded");
    let url = format!("{}{path}", two.base);
    let retried = post(
        &http,
        &url,
        &token,
        ("application/pdf", &pdf),
        Some("before-commit"),
    )
    .await;
    assert_eq!(retried.0, 200);
    let again = post(
        &http,
        &url,
        &token,
        ("application/pdf", &pdf),
        Some("before-commit"),
    )
    .await;
    assert_eq!(again, retried);
    assert_eq!(uses(two.base.clone()).await, 1, "one use");
    let report = verify(two.base.clone(), retried.1).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");

    // Killed after its commit: the first instance answers 200 (it committed before its
    // headers) and dies while the sealed PDF is on its way, larger than the sockets hold.
    // The retry to the other instance gets the same signature; nothing is signed again.
    let one = Instance::start(&db.url, &http, &env).await;
    let pdf = sample_pdf(2, 24_000_000);
    let first = http
        .post(format!("{}{path}", one.base))
        .bearer_auth(&token)
        .header("content-type", "application/pdf")
        .header("idempotency-key", "after-commit")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    one.kill_9().await;
    let lost = first.bytes().await;
    assert!(
        lost.as_ref().map_or(true, |body| body.len() < pdf.len()),
        "the answer did not arrive whole"
    );
    assert_eq!(
        uses(two.base.clone()).await,
        2,
        "the killed instance's use was recorded"
    );
    let retried = post(
        &http,
        &url,
        &token,
        ("application/pdf", &pdf),
        Some("after-commit"),
    )
    .await;
    assert_eq!(retried.0, 200);
    assert_eq!(uses(two.base.clone()).await, 2, "the retry signs nothing");
    assert_eq!(
        &retried.1[..pdf.len()],
        &pdf[..],
        "the document, then the update"
    );
    // The answer's signature is the one the use recorded: it is in the log.
    let report = verify(two.base.clone(), retried.1).await;
    assert_eq!(report["overall"], "TOTAL-PASSED", "{report}");
    assert_eq!(
        report["signatures"][0]["log"]["kind"], "seal.used",
        "{report}"
    );
    two.kill_9().await;
    drop(db);
}
