//! The transparency log end to end: every act in the log once, with a signed promise in
//! its answer; checkpoints that verify with the published key; inclusion and
//! consistency proofs that check; tiles that hold the entries; bad requests answered
//! with problems. Third-party judges are in `tests/interop/ledger.rs`.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde_json::{Value, json};
use support::assert_problem;
use support::seal_world::{self, *};
use tongban_ledger::merkle::{self, Hash};
use tongban_ledger::note::{Checkpoint, Note, VerifierKey};
use tongban_ledger::promise::Promise;
use tongban_ledger::tiles;
use tongban_ledger::{Entry, Kind};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn text(server: &support::TestServer, path: &str) -> String {
    let response = server.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// The latest checkpoint, its signature checked with the published key.
async fn checkpoint(server: &support::TestServer) -> (Checkpoint, String) {
    let key = VerifierKey::parse(&text(server, "/log/key").await).unwrap();
    let note_text = text(server, "/log/checkpoint").await;
    let note = Note::parse(&note_text).unwrap();
    assert!(note.signed_by(&key), "{note_text}");
    (Checkpoint::parse(&note.body).unwrap(), note_text)
}

/// Waits until the log holds at least `size` entries (the merge delay is 1 s).
async fn integrated(server: &support::TestServer, size: u64) -> Checkpoint {
    for _ in 0..50 {
        let (checkpoint, _) = checkpoint(server).await;
        if checkpoint.size >= size {
            return checkpoint;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log did not reach {size} entries");
}

/// The log once every entry appended so far is integrated (the platform's CA and TSA
/// certificates are logged at its first start).
async fn settled(server: &support::TestServer) -> Checkpoint {
    for _ in 0..50 {
        let appended: i64 = {
            let mut conn = server.store().conn().await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        };
        let (checkpoint, _) = checkpoint(server).await;
        if checkpoint.size == appended as u64 {
            return checkpoint;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log did not settle");
}

/// Every entry of the tree of `size`, from the entry tiles.
async fn entries(server: &support::TestServer, size: u64) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for index in 0..size.div_ceil(tiles::WIDTH) {
        let width = (size - index * tiles::WIDTH).min(tiles::WIDTH);
        let tile = tiles::Tile {
            level: None,
            index,
            width,
        };
        let response = server.get(&format!("/log/tile/{}", tile.path())).await;
        assert_eq!(response.status(), 200);
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            cache.contains("immutable"),
            width == tiles::WIDTH,
            "{cache}"
        );
        all.extend(tiles::unbundle(&response.bytes().await.unwrap()).unwrap());
    }
    all
}

/// The promise in an answer, its signature checked; its leaf hashes.
fn promised(response: &reqwest::Response, key: &VerifierKey) -> Vec<Hash> {
    let header = response.headers()["tongban-log-promise"].to_str().unwrap();
    let (promise, message, signature) = Promise::decode(header).unwrap();
    UnparsedPublicKey::new(&ED25519, key.public)
        .verify(&message, &signature)
        .unwrap();
    assert_eq!(promise.log, key.name);
    assert_eq!(promise.max_merge_delay_ms, 1000);
    promise
        .leaves
        .iter()
        .map(|l| B64.decode(l).unwrap().try_into().unwrap())
        .collect()
}

async fn inclusion_checks(server: &support::TestServer, leaf: &Hash, at: &Checkpoint) -> u64 {
    let hex = tongban_crypto::ca::hex(leaf);
    let response = server
        .get(&format!(
            "/api/v1/log/proofs/inclusion?leaf_hash={hex}&tree_size={}",
            at.size
        ))
        .await;
    assert_eq!(response.status(), 200);
    let proof: Value = response.json().await.unwrap();
    let path = hashes(&proof["hashes"]);
    let index = proof["index"].as_u64().unwrap();
    assert!(merkle::verify_inclusion(
        leaf, index, at.size, &path, &at.root
    ));
    assert!(!merkle::verify_inclusion(
        leaf, index, at.size, &path, &[0; 32]
    ));
    index
}

/// A JSON list of base64 hashes (a proof's path), as hashes.
fn hashes(list: &Value) -> Vec<Hash> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect()
}

#[tokio::test]
async fn seal_acts_are_logged_once_with_promises_proofs_and_tiles() {
    let w = seal_world::world().await;
    let key = VerifierKey::parse(&text(&w.server, "/log/key").await).unwrap();
    // The log began empty, and its first entries are the CA and TSA certificates.
    let empty = text(&w.server, "/api/v1/log/checkpoints/0").await;
    let empty = Checkpoint::parse(&Note::parse(&empty).unwrap().body).unwrap();
    assert_eq!(empty.root, merkle::empty_root());
    let start = settled(&w.server).await;
    let b = start.size as usize;
    let authorities: Vec<String> = entries(&w.server, start.size)
        .await
        .iter()
        .map(|e| Entry::from_bytes(e).unwrap())
        .inspect(|e| assert_eq!(e.kind, Kind::CaCertificate))
        .filter_map(|e| e.authority)
        .collect();
    for authority in ["root", "issuing", "tsa"] {
        assert!(
            authorities.iter().any(|a| a == authority),
            "{authorities:?}"
        );
    }

    let created = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "contract", "name": "合同专用章"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created_leaves = promised(&created, &key);
    assert_eq!(created_leaves.len(), 1);
    let seal: Value = created.json().await.unwrap();
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let first = integrated(&w.server, start.size + 1).await;

    let digests: Vec<String> = (0..3u8)
        .map(|i| tongban_crypto::ca::hex(&[i; 32]))
        .collect();
    let sealed = call(
        &w,
        &w.a.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": digests, "purpose": "licence"}),
    )
    .await;
    assert_eq!(sealed.status(), 200);
    let used_leaves = promised(&sealed, &key);
    assert_eq!(used_leaves.len(), 3);
    let signatures: Value = sealed.json().await.unwrap();

    // A refused use appends nothing and promises nothing.
    let refused = call(
        &w,
        &w.b.system,
        &format!("/api/v1/seals/{id}/cades"),
        json!({"digests": [digests[0]]}),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("tongban-log-promise").is_none());

    let suspended = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/status"),
        json!({"status": "suspended", "reason": "audit"}),
    )
    .await;
    assert_eq!(suspended.status(), 200);
    assert_eq!(promised(&suspended, &key).len(), 1);

    let at = integrated(&w.server, start.size + 5).await;
    assert_eq!(at.size, start.size + 5, "one entry per act, none twice");
    let all = entries(&w.server, at.size).await;
    let leaves: Vec<Hash> = all.iter().map(|e| merkle::leaf_hash(e)).collect();
    let parsed: Vec<Entry> = all.iter().map(|e| Entry::from_bytes(e).unwrap()).collect();
    let kinds: Vec<Kind> = parsed.iter().map(|e| e.kind).collect();
    assert!(kinds[..b].iter().all(|k| *k == Kind::CaCertificate));
    assert_eq!(
        kinds[b..],
        [
            Kind::SealCreated,
            Kind::SealUsed,
            Kind::SealUsed,
            Kind::SealUsed,
            Kind::SealSuspended
        ]
    );
    // The entries are the promised ones, in the order the acts committed.
    assert_eq!(leaves[b], created_leaves[0]);
    assert_eq!(&leaves[b + 1..b + 4], &used_leaves[..]);
    for (entry, (digest, signature)) in parsed[b + 1..b + 4].iter().zip(
        digests
            .iter()
            .zip(signatures["signatures"].as_array().unwrap()),
    ) {
        assert_eq!(entry.seal.as_deref(), Some(id));
        assert_eq!(
            entry.department.as_deref(),
            Some(w.a.id.to_string().as_str())
        );
        assert_eq!(
            entry.document.as_deref(),
            Some(format!("sha256:{digest}").as_str())
        );
        let p7s = B64.decode(signature["p7s"].as_str().unwrap()).unwrap();
        let signature_hash = tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&p7s));
        assert_eq!(entry.signature.as_deref(), Some(signature_hash.as_str()));
        assert_eq!(entry.format.as_deref(), Some("cades"));
        assert!(entry.holder.is_none());
    }
    // The tree the tiles hold is the checkpoint's, and the level-0 tile is its leaves.
    let tile = w
        .server
        .get(&format!("/log/tile/0/000.p/{}", at.size))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(tile.to_vec(), leaves.concat());
    for (index, leaf) in leaves.iter().enumerate() {
        assert_eq!(inclusion_checks(&w.server, leaf, &at).await, index as u64);
    }
    // The log only grew: the first checkpoint is a prefix of the last.
    let proof: Value = w
        .server
        .get(&format!(
            "/api/v1/log/proofs/consistency?first={}&second={}",
            first.size, at.size
        ))
        .await
        .json()
        .await
        .unwrap();
    let path = hashes(&proof["hashes"]);
    assert!(merkle::verify_consistency(
        first.size,
        at.size,
        &path,
        &first.root,
        &at.root
    ));
    let old = text(
        &w.server,
        &format!("/api/v1/log/checkpoints/{}", first.size),
    )
    .await;
    assert!(Note::parse(&old).unwrap().signed_by(&key));

    // The department reads its seal's entries from the log beside its own records;
    // another department cannot.
    let seal_log: Value = get(&w, &w.a.admin, &format!("/api/v1/seals/{id}/log?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let counts = (
        seal_log["logged_uses"].as_i64(),
        seal_log["recorded_uses"].as_i64(),
    );
    assert_eq!(counts, (Some(3), Some(3)), "{seal_log}");
    assert_eq!(seal_log["entries"].as_array().unwrap().len(), 2);
    assert_eq!(seal_log["entries"][0]["entry"]["kind"], "seal.created");
    let next = seal_log["next"].as_i64().unwrap();
    let rest: Value = get(
        &w,
        &w.a.admin,
        &format!("/api/v1/seals/{id}/log?after={next}"),
    )
    .await
    .json()
    .await
    .unwrap();
    let kinds: Vec<&str> = rest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["seal.used", "seal.used", "seal.suspended"]);
    assert_eq!(rest["entries"][2]["index"], b as u64 + 4);
    assert!(rest["next"].is_null());
    let path = format!("/api/v1/seals/{id}/log");
    assert_problem(get(&w, &w.b.admin, &path).await, 403, "forbidden").await;
    let path = format!("/api/v1/seals/{id}/log?limit=0");
    assert_problem(get(&w, &w.a.admin, &path).await, 422, "invalid-request").await;

    // A verification report says where the seal use stands, with a proof that checks.
    let p7s = signatures["signatures"][1]["p7s"].clone();
    let report = verify_json(&w, json!({"p7s": p7s, "digest": digests[1]})).await;
    let log = &report["signatures"][0]["log"];
    assert_eq!(log["included"], true, "{report}");
    assert_eq!(
        (log["index"].as_u64(), log["verified"].as_bool()),
        (Some(b as u64 + 2), Some(true))
    );
    assert_eq!(log["kind"], "seal.used");
    let proof = hashes(&log["proof"]);
    let reported = Checkpoint::parse(
        &Note::parse(log["checkpoint"].as_str().unwrap())
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(merkle::verify_inclusion(
        &leaves[b + 2],
        b as u64 + 2,
        reported.size,
        &proof,
        &reported.root
    ));
    // Once the tree has grown (a new seal), the same report proves the use against
    // the larger tree: a proof is kept only for the tree it was made for.
    let another = call(
        &w,
        &w.a.admin,
        &format!("/api/v1/departments/{}/seals", w.a.id),
        json!({"kind": "finance", "name": "财务专用章"}),
    )
    .await;
    assert_eq!(another.status(), 201);
    let grown = integrated(&w.server, reported.size + 1).await;
    // Past the time a proof may use the checkpoint it read last.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let report = verify_json(&w, json!({"p7s": p7s, "digest": digests[1]})).await;
    let log = &report["signatures"][0]["log"];
    assert_eq!(log["tree_size"].as_u64(), Some(grown.size), "{report}");
    assert_eq!(log["verified"], true, "{report}");
    let proof = hashes(&log["proof"]);
    assert!(merkle::verify_inclusion(
        &leaves[b + 2],
        b as u64 + 2,
        grown.size,
        &proof,
        &grown.root
    ));
    // A signature the platform never made is in no entry.
    let foreign = B64.encode(b"not a signature");
    let report = verify_json(&w, json!({"p7s": foreign, "digest": digests[1]})).await;
    assert_eq!(
        report["signatures"][0]["log"]["included"], false,
        "{report}"
    );
}

#[tokio::test]
async fn certificate_acts_are_logged_with_hashes_only_and_reports_prove_them() {
    use support::ecert_world::{self, CITIZEN};
    let w = ecert_world::world().await;
    let t = w.licence_type("031", "natural").await;
    let code = t["code"].as_str().unwrap();
    let key = VerifierKey::parse(&text(&w.server, "/log/key").await).unwrap();
    // The CA certificates and the type's seal.
    let base = settled(&w.server).await.size;
    let issued = w.issue(&w.issuer, code, CITIZEN, None).await;
    assert_eq!(issued.status(), 201);
    assert_eq!(promised(&issued, &key).len(), 1);
    let certificate: Value = issued.json().await.unwrap();
    let identifier = certificate["identifier"].as_str().unwrap();
    let credential = certificate["credential"].as_str().unwrap();
    let revoked = w
        .post(
            Some(&w.issuer),
            &format!("/api/v1/certificates/{identifier}/status"),
            json!({"status": "revoked", "reason": "obtained by fraud"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(promised(&revoked, &key).len(), 1);
    // The seal creation, the issuance and the revocation.
    let at = integrated(&w.server, base + 2).await;
    let all = entries(&w.server, at.size).await;
    let parsed: Vec<Entry> = all.iter().map(|e| Entry::from_bytes(e).unwrap()).collect();
    let credential_hash =
        tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(credential.as_bytes()));
    let issued_entry = parsed
        .iter()
        .find(|e| e.kind == Kind::CertificateIssued)
        .unwrap();
    let revoked_entry = parsed
        .iter()
        .find(|e| e.kind == Kind::CertificateRevoked)
        .unwrap();
    for entry in [issued_entry, revoked_entry] {
        assert_eq!(entry.credential.as_deref(), Some(credential_hash.as_str()));
        assert_eq!(entry.certificate_type.as_deref(), Some(code));
    }
    // The holder only as a keyed hash, one per certificate: a second certificate of
    // the same person is not linked to the first; no name, number or reason anywhere.
    let second = w.issue(&w.issuer, code, CITIZEN, None).await;
    assert_eq!(second.status(), 201);
    let at = integrated(&w.server, base + 3).await;
    let all = entries(&w.server, at.size).await;
    let holders: Vec<String> = all
        .iter()
        .filter_map(|e| Entry::from_bytes(e).unwrap().holder)
        .collect();
    assert_eq!(holders.len(), 2);
    assert_ne!(holders[0], holders[1]);
    assert!(holders.iter().all(|h| h.len() == 64));
    for entry in &all {
        let text = String::from_utf8_lossy(entry);
        for personal in [
            CITIZEN,
            "张三",
            "reason",
            "fraud",
            "预包装食品销售",
            "北京市东城区",
        ] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
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
    assert_eq!(report["log"]["kind"], "certificate.issued", "{report}");
    assert_eq!(report["log"]["verified"], true, "{report}");

    // The holder's account page lists both acts with their places in the log.
    let session = support::account_session(&w.server, CITIZEN, support::PASSWORD).await;
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
    assert!(account.contains("公开日志中的您的证照"), "{account}");
    let issued_at = parsed
        .iter()
        .position(|e| e.kind == Kind::CertificateIssued)
        .unwrap();
    let revoked_at = parsed
        .iter()
        .position(|e| e.kind == Kind::CertificateRevoked)
        .unwrap();
    for (act, index) in [("签发", issued_at), ("注销", revoked_at)] {
        let line = format!(
            "<strong>{act}</strong> · <bdi>{identifier}</bdi> · 第 \u{2068}{index}\u{2069} 条"
        );
        assert!(account.contains(&line), "{line} in {account}");
    }
}

#[tokio::test]
async fn bad_log_requests_get_problems() {
    let w = seal_world::world().await;
    let s = &w.server;
    for (path, status, slug) in [
        (
            "/api/v1/log/proofs/inclusion?leaf_hash=xyz&tree_size=0",
            422,
            "invalid-request",
        ),
        (
            "/api/v1/log/proofs/inclusion?tree_size=0",
            422,
            "invalid-request",
        ),
        (
            "/api/v1/log/proofs/inclusion?leaf_hash=0000000000000000000000000000000000000000000000000000000000000000&tree_size=999999",
            422,
            "invalid-request",
        ),
        (
            "/api/v1/log/proofs/inclusion?leaf_hash=0000000000000000000000000000000000000000000000000000000000000000&tree_size=0",
            404,
            "not-found",
        ),
        (
            "/api/v1/log/proofs/consistency?first=1&second=0",
            422,
            "invalid-request",
        ),
        (
            "/api/v1/log/proofs/consistency?first=0&second=999999",
            422,
            "invalid-request",
        ),
        (
            "/api/v1/log/proofs/consistency?first=-1&second=0",
            422,
            "invalid-request",
        ),
        ("/api/v1/log/checkpoints/999999", 404, "not-found"),
        ("/api/v1/log/checkpoints/x", 404, "not-found"),
        ("/log/tile/0/000", 404, "not-found"),
        ("/log/tile/0/5", 404, "not-found"),
        ("/log/tile/entries/x001/000.p/0", 404, "not-found"),
        ("/log/tile/9/000", 404, "not-found"),
    ] {
        assert_problem(s.get(path).await, status, slug).await;
    }
    let empty: Value = s
        .get("/api/v1/log/proofs/consistency?first=0&second=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["hashes"], json!([]));
}

/// `tongban log <args>`: its exit code and the JSON line it prints.
async fn log_cli(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let output = support::Binary::command()
        .arg("log")
        .args(args)
        .output()
        .await
        .unwrap();
    let line = String::from_utf8_lossy(&output.stdout).to_string();
    (
        output.status.code().unwrap(),
        serde_json::from_str(&line).unwrap_or(json!({"raw": line})),
    )
}

/// `tongban log verify` against the server.
async fn monitor(base: &str, key: &str, state: &std::path::Path) -> (i32, Value) {
    let args = ["verify", "--url", base, "--key", key, "--state"];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.push(state.as_os_str());
    log_cli(&args).await
}

#[tokio::test]
async fn the_monitor_rebuilds_the_tree_and_catches_a_rewritten_past() {
    let w = seal_world::world().await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let base = settled(&w.server).await.size;
    let digests: Vec<String> = (0..300u32)
        .map(|i| tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(&i.to_be_bytes())))
        .collect();
    let path = format!("/api/v1/seals/{id}/cades");
    assert_eq!(
        call(&w, &w.a.system, &path, json!({"digests": digests}))
            .await
            .status(),
        200
    );
    integrated(&w.server, base + 300).await;
    let key = text(&w.server, "/log/key").await;
    let dir = std::env::temp_dir().join(format!("tongban-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let (code, out) = monitor(&w.server.base, key.trim(), &state).await;
    assert_eq!((code, out["size"].as_u64()), (0, Some(base + 300)), "{out}");
    let more: Vec<String> = digests.iter().map(|d| format!("{}0", &d[..63])).collect();
    assert_eq!(
        call(&w, &w.a.system, &path, json!({"digests": more}))
            .await
            .status(),
        200
    );
    integrated(&w.server, base + 600).await;
    let (code, out) = monitor(&w.server.base, key.trim(), &state).await;
    assert_eq!(
        (code, out["checkpoints_checked"].as_u64()),
        (0, Some(1)),
        "{out}"
    );
    // A checkpoint seen before with another root: the past was rewritten, or the
    // monitor was shown a split view.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let mut forged = saved.clone();
    forged["checkpoints"][0]["root"] = json!(B64.encode([7u8; 32]));
    std::fs::write(&state, forged.to_string()).unwrap();
    let (code, out) = monitor(&w.server.base, key.trim(), &state).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out["fault"].as_str().unwrap().contains("split view"),
        "{out}"
    );
    // Another key: the checkpoint is refused.
    std::fs::write(&state, saved.to_string()).unwrap();
    let other = VerifierKey::log(&VerifierKey::parse(&key).unwrap().name, [3; 32]).encode();
    let (code, out) = monitor(&w.server.base, &other, &state).await;
    assert_eq!(code, 1, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn witness(
    base: &str,
    key: &str,
    file: &std::path::Path,
    state: &std::path::Path,
) -> (i32, Value) {
    let args = [
        "witness",
        "--url",
        base,
        "--key",
        key,
        "--name",
        "witness.example/w",
    ];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.extend([
        std::ffi::OsStr::new("--witness-key"),
        file.as_os_str(),
        std::ffi::OsStr::new("--state"),
        state.as_os_str(),
    ]);
    log_cli(&args).await
}

#[tokio::test]
async fn a_witness_cosigns_only_checkpoints_that_extend_what_it_saw_and_the_log_shows_them() {
    let dir = std::env::temp_dir().join(format!("tongban-witness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key_file, state) = (dir.join("witness.key"), dir.join("witness.json"));
    let made = support::Binary::command()
        .args([
            "log",
            "witness-key",
            "--name",
            "witness.example/w",
            "--witness-key",
        ])
        .arg(&key_file)
        .output()
        .await
        .unwrap();
    let witness_key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let witness_vkey = VerifierKey::parse(&witness_key).unwrap();
    let vkey = witness_key.clone();
    let w = seal_world::world_with(move |c| c.ledger.witnesses = vec![vkey]).await;
    let seal = new_seal(&w, &w.a).await;
    let id = seal["id"].as_str().unwrap();
    grant_all(&w, &w.a, id, false).await;
    let base = settled(&w.server).await.size;
    let path = format!("/api/v1/seals/{id}/cades");
    let digest = |i: u8| tongban_crypto::ca::hex(&[i; 32]);
    assert_eq!(
        call(&w, &w.a.system, &path, json!({"digests": [digest(1)]}))
            .await
            .status(),
        200
    );
    let at = integrated(&w.server, base + 1).await;
    let log_key = text(&w.server, "/log/key").await;
    let (code, out) = witness(&w.server.base, log_key.trim(), &key_file, &state).await;
    assert_eq!((code, out["size"].as_u64()), (0, Some(at.size)), "{out}");
    let cosigned = text(&w.server, &format!("/api/v1/log/checkpoints/{}", at.size)).await;
    let note = Note::parse(&cosigned).unwrap();
    assert!(note.signed_by(&VerifierKey::parse(&log_key).unwrap()));
    assert!(note.cosigned_by(&witness_vkey).is_some(), "{cosigned}");
    assert_eq!(text(&w.server, "/log/checkpoint").await, cosigned);

    assert_eq!(
        call(&w, &w.a.system, &path, json!({"digests": [digest(2)]}))
            .await
            .status(),
        200
    );
    let later = integrated(&w.server, at.size + 1).await;
    let (code, _) = witness(&w.server.base, log_key.trim(), &key_file, &state).await;
    assert_eq!(code, 0);
    let cosigned = text(
        &w.server,
        &format!("/api/v1/log/checkpoints/{}", later.size),
    )
    .await;
    assert!(
        Note::parse(&cosigned)
            .unwrap()
            .cosigned_by(&witness_vkey)
            .is_some()
    );
    // A witness that remembers another tree of that size refuses: a split view.
    let mut remembered: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    remembered["root"] = json!(B64.encode([9u8; 32]));
    std::fs::write(&state, remembered.to_string()).unwrap();
    let (code, out) = witness(&w.server.base, log_key.trim(), &key_file, &state).await;
    assert_eq!(code, 1, "{out}");
    // The log takes cosignatures only of its witnesses, only valid ones.
    let line = note
        .signatures
        .iter()
        .find(|l| l.name == "witness.example/w")
        .unwrap()
        .encode();
    for (body, status, slug) in [
        (
            json!({"size": at.size + 100, "line": line}),
            404,
            "not-found",
        ),
        (
            json!({"size": later.size, "line": line}),
            422,
            "invalid-request",
        ),
        (
            json!({"size": at.size, "line": "— nobody AAAA"}),
            422,
            "invalid-request",
        ),
        (
            json!({"size": at.size, "line": format!("{line}{line}")}),
            422,
            "invalid-request",
        ),
    ] {
        let response = w
            .server
            .post(
                "/api/v1/log/cosignatures",
                "application/json",
                body.to_string(),
            )
            .await;
        assert_problem(response, status, slug).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
