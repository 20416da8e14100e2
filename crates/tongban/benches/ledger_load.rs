//! What the transparency log costs and how it holds at size, against the real `tongban`
//! binary (release) on SQLite:
//!
//! - batch issuance (jobs of 10 000 rows) and CAdES sealing (calls of 1 000 digests, 4
//!   clients) with the log on, beside the same on a second instance with it off
//!   (`ledger.enabled = false`), in the same run, in alternating rounds: medians and
//!   spread of the per-round rates, and their ratio (goal: on ≥ 0.9 × off);
//! - the merge delay (an entry's append to the first checkpoint that holds it) and the
//!   interval between checkpoints under that load;
//! - with 1 000 000 entries (the rest appended straight to the table, as acts would,
//!   and integrated by the server): integration rate, inclusion-proof latency over HTTP
//!   p50/p99, and the log's size on disk per entry.
//!
//! `cargo bench -p tongban --bench ledger_load`. Prints figures; asserts only that every
//! answer was the expected one. `TONGBAN_BENCH_QUICK=1` runs one small round and 100 000
//! entries.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

mod common;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROUNDS: usize = 5;
const JOB_ROWS: usize = 10_000;
const JOBS_PER_ROUND: usize = 2;
const CADES_CALLS: usize = 20;
const DIGESTS_PER_CALL: usize = 1_000;
const CADES_CLIENTS: usize = 4;
const ENTRIES: u64 = 1_000_000;
const PROOFS: usize = 1_000;

/// Median and (min, max) of per-round rates.
fn spread(mut rates: Vec<f64>) -> (f64, f64, f64) {
    rates.sort_by(f64::total_cmp);
    (
        common::percentile(&rates, 0.5),
        rates[0],
        rates[rates.len() - 1],
    )
}

/// One instance and what the rounds need of it.
struct Side {
    server: common::Server,
    base: String,
    token: String,
    code: String,
    seal: String,
    database: String,
}

async fn side(http: &reqwest::Client, dir: &std::path::Path, on: bool) -> Side {
    let database = format!(
        "sqlite://{}/{}.db",
        dir.display(),
        if on { "on" } else { "off" }
    );
    let extra = [("TONGBAN_LEDGER_ENABLED", on.to_string())];
    let (server, admin_id, admin_secret) =
        common::start(http, Some(database.clone()), &extra).await;
    let base = server.base.clone();
    let admin = common::access_token(http, &base, &admin_id, &admin_secret).await;
    let post = async |path: &str, body: Value| -> Value {
        common::post_json(http, &base, &admin, path, body).await
    };
    let department = post(
        "/api/v1/admin/departments",
        json!({"name": "国家市场监督管理总局", "uscc": "11100000000013338W", "level": "province"}),
    )
    .await;
    let department_id = department["id"].as_str().unwrap();
    let system = post(
        "/api/v1/admin/clients",
        json!({"name": "bench system", "confidential": true, "scopes": ["ecert:issue", "seal:use"],
               "grant_types": ["client_credentials"], "department_id": department_id}),
    )
    .await;
    let seal = post(
        &format!("/api/v1/departments/{department_id}/seals"),
        json!({"kind": "official", "name": "电子证照专用章"}),
    )
    .await;
    let seal_id = seal["id"].as_str().unwrap().to_owned();
    post(
        &format!("/api/v1/seals/{seal_id}/grants"),
        json!({"client_id": system["client_id"], "purpose_required": false}),
    )
    .await;
    let defined = post(
        &format!("/api/v1/departments/{department_id}/certificate-types"),
        json!({"sequence": "011", "name_zh": "食品经营许可证", "name_en": "Food business licence",
               "holder_category": "natural", "seal_id": seal_id, "validity_days": 1825,
               "face_schema": {"type": "object", "required": ["name", "licence_no"],
                               "properties": {"name": {"type": "string"},
                                              "licence_no": {"type": "string", "pattern": "^JY[0-9]{14}$"}}}}),
    )
    .await;
    let token = common::access_token(
        http,
        &base,
        system["client_id"].as_str().unwrap(),
        system["client_secret"].as_str().unwrap(),
    )
    .await;
    Side {
        server,
        base,
        token,
        code: defined["code"].as_str().unwrap().to_owned(),
        seal: seal_id,
        database,
    }
}

impl Side {
    /// Certificates per second of `jobs` jobs of `rows` rows from row `first`.
    async fn issue(&self, http: &reqwest::Client, first: usize, jobs: usize, rows: usize) -> f64 {
        let started = Instant::now();
        let mut ids = Vec::new();
        for j in 0..jobs {
            let rows: Vec<Value> = (first + j * rows..first + (j + 1) * rows)
                .map(|i| {
                    json!({"holder": {"id_number": support::resident_id(i), "name": format!("持证人{i}")},
                           "face": {"name": format!("持证人{i}"), "licence_no": format!("JY{i:014}")}})
                })
                .collect();
            let r = http
                .post(format!("{}/api/v1/certificate-jobs", self.base))
                .bearer_auth(&self.token)
                .json(&json!({"type": self.code, "rows": rows}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
            ids.push(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        for id in ids {
            loop {
                let job: Value = http
                    .get(format!("{}/api/v1/certificate-jobs/{id}", self.base))
                    .bearer_auth(&self.token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if job["state"] == "done" {
                    assert_eq!(job["failed"], 0, "{job}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        (jobs * rows) as f64 / started.elapsed().as_secs_f64()
    }

    /// CAdES signatures per second: `calls` calls of `per_call` digests, from
    /// `CADES_CLIENTS` clients; digests from `seed`.
    async fn seal(
        &self,
        http: &reqwest::Client,
        seed: usize,
        calls: usize,
        per_call: usize,
    ) -> f64 {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..CADES_CLIENTS {
            let (http, base, token, seal) = (
                http.clone(),
                self.base.clone(),
                self.token.clone(),
                self.seal.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for call in (client..calls).step_by(CADES_CLIENTS) {
                    let digests: Vec<String> = (0..per_call)
                        .map(|i| {
                            let text = format!("{seed}/{call}/{i}");
                            tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(text.as_bytes()))
                        })
                        .collect();
                    let r = http
                        .post(format!("{base}/api/v1/seals/{seal}/cades"))
                        .bearer_auth(&token)
                        .json(&json!({"digests": digests}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        (calls * per_call) as f64 / started.elapsed().as_secs_f64()
    }
}

async fn store_of(database: &str) -> tongban_store::Store {
    tongban_store::Store::connect(&support::test_config(database).database)
        .await
        .unwrap()
}

/// The log's latest checkpoint (its signature is the interop tests' business).
async fn checkpoint(http: &reqwest::Client, base: &str) -> tongban_ledger::note::Checkpoint {
    let note = http
        .get(format!("{base}/log/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let note = tongban_ledger::note::Note::parse(&note).unwrap();
    tongban_ledger::note::Checkpoint::parse(&note.body).unwrap()
}

async fn pending(store: &tongban_store::Store) -> i64 {
    let mut conn = store.conn().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries WHERE idx IS NULL")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// Merge delays (ms) of the entries appended since `since` (ms): from each entry's
/// append to the first checkpoint that holds it; and the intervals between those
/// checkpoints.
async fn delays(store: &tongban_store::Store, since: i64) -> (Vec<f64>, Vec<f64>) {
    let mut conn = store.conn().await.unwrap();
    let merge: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT e.created_at, (SELECT MIN(c.created_at) FROM ledger_checkpoints c WHERE c.size > e.idx) \
         FROM ledger_entries e WHERE e.created_at >= $1",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let times: Vec<i64> = sqlx::query_scalar(
        "SELECT created_at FROM ledger_checkpoints WHERE created_at >= $1 ORDER BY size",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut merge: Vec<f64> = merge.iter().map(|(a, c)| (c - a) as f64).collect();
    let mut intervals: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    merge.sort_by(f64::total_cmp);
    intervals.sort_by(f64::total_cmp);
    (merge, intervals)
}

/// Appends synthetic seal-use entries straight to the table (as acts append them),
/// `count` of them, 500 per statement.
async fn fill(store: &tongban_store::Store, count: u64) {
    use tongban_ledger::{Entry, Kind};
    let now = tongban_core::time::Timestamp::now();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(500);
        let entries: Vec<Entry> = (done..done + n)
            .map(|i| {
                let mut entry = Entry::new(Kind::SealUsed, now);
                entry.seal = Some("bench".into());
                entry.format = Some("cades".into());
                let digest = tongban_crypto::cms::sha256(&i.to_be_bytes());
                entry.document = Some(format!("sha256:{}", tongban_crypto::ca::hex(&digest)));
                entry.signature = Some(tongban_crypto::ca::hex(&tongban_crypto::cms::sha256(
                    &digest,
                )));
                entry
            })
            .collect();
        let mut tx = store.begin().await.unwrap();
        tongban_ledger::storage::append(&mut tx, &entries, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        done += n;
    }
}

fn file_bytes(database: &str) -> u64 {
    let path = database.trim_start_matches("sqlite://");
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let quick = std::env::var_os("TONGBAN_BENCH_QUICK").is_some();
    println!(
        "tongban transparency-log bench: release binary on SQLite, {cores} cores shared with the clients"
    );
    let dir = std::env::temp_dir().join(format!("tongban-ledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let on = side(&http, &dir, true).await;
    let off = side(&http, &dir, false).await;
    let started_ms = tongban_core::time::Timestamp::now().unix_millis();

    // 1. The same work on both, alternating which goes first.
    let (rounds, jobs, rows, calls) = if quick {
        (1, 1, 2_000, 4)
    } else {
        (ROUNDS, JOBS_PER_ROUND, JOB_ROWS, CADES_CALLS)
    };
    let (mut issue_on, mut issue_off, mut seal_on, mut seal_off) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let first = round * jobs * rows;
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for side_on in order {
            let (side, issued, sealed) = if side_on {
                (&on, &mut issue_on, &mut seal_on)
            } else {
                (&off, &mut issue_off, &mut seal_off)
            };
            issued.push(side.issue(&http, first, jobs, rows).await);
            sealed.push(side.seal(&http, round, calls, DIGESTS_PER_CALL).await);
        }
    }
    for (what, on_rates, off_rates) in [
        ("batch issuance, certificates/s", issue_on, issue_off),
        ("CAdES sealing, signatures/s", seal_on, seal_off),
    ] {
        let (on_median, on_min, on_max) = spread(on_rates);
        let (off_median, off_min, off_max) = spread(off_rates);
        println!(
            "{what}: log on median {on_median:.0} ({on_min:.0}–{on_max:.0}), log off median {off_median:.0} ({off_min:.0}–{off_max:.0}); on/off {:.3} (goal ≥ 0.90), {rounds} rounds",
            on_median / off_median
        );
    }
    let store = store_of(&on.database).await;
    let acted = checkpoint(&http, &on.base).await.size;
    let (merge, intervals) = delays(&store, started_ms).await;
    println!(
        "merge delay over {} entries: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (promise: 1 000 ms); checkpoint interval p50 {:.0} ms, max {:.0} ms",
        merge.len(),
        common::percentile(&merge, 0.5),
        common::percentile(&merge, 0.99),
        merge[merge.len() - 1],
        common::percentile(&intervals, 0.5),
        intervals[intervals.len() - 1]
    );
    drop(off);

    // 2. At a million entries.
    let target = if quick { 100_000 } else { ENTRIES };
    let before = file_bytes(&on.database);
    // The server integrates while the entries arrive: the figure is from the first
    // append to the last integration.
    let filling = Instant::now();
    fill(&store, target.saturating_sub(acted)).await;
    let filled = filling.elapsed().as_secs_f64();
    while pending(&store).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let integrated = filling.elapsed().as_secs_f64();
    let checkpoint = checkpoint(&http, &on.base).await;
    let (size, root) = (checkpoint.size, checkpoint.root);
    assert!(size >= target);
    let added = (size - acted) as f64;
    println!(
        "{size} entries: {added:.0} appended in {filled:.1} s and integrated by {integrated:.1} s ({:.0} entries/s appended and integrated, 500 per transaction)",
        added / integrated.max(0.001)
    );
    let after = file_bytes(&on.database);
    println!(
        "log on disk: {:.0} bytes per entry (entries, leaf hashes, indexes and tile nodes; SQLite file and WAL growth over {added:.0} entries)",
        (after.saturating_sub(before)) as f64 / added
    );
    let leaves: Vec<Vec<u8>> = {
        let mut conn = store.conn().await.unwrap();
        sqlx::query_scalar("SELECT leaf_hash FROM ledger_entries WHERE idx IS NOT NULL ORDER BY (idx * 7919) % 1000003 LIMIT $1")
            .bind(PROOFS as i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    let mut latencies = Vec::new();
    for leaf in &leaves {
        let hex = tongban_crypto::ca::hex(leaf);
        let started = Instant::now();
        let r = http
            .get(format!(
                "{}/api/v1/log/proofs/inclusion?leaf_hash={hex}&tree_size={size}",
                on.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let proof: Value = r.json().await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    h.as_str().unwrap(),
                )
                .unwrap()
                .try_into()
                .unwrap()
            })
            .collect();
        let leaf: [u8; 32] = leaf.as_slice().try_into().unwrap();
        let index = proof["index"].as_u64().unwrap();
        assert!(tongban_ledger::merkle::verify_inclusion(
            &leaf, index, size, &hashes, &root
        ));
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "inclusion proofs at {size} entries over HTTP: p50 {:.2} ms, p99 {:.2} ms ({} proofs)",
        common::percentile(&latencies, 0.5),
        common::percentile(&latencies, 0.99),
        latencies.len()
    );
    let full_tile = http
        .get(format!("{}/log/tile/entries/000", on.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "a full entry tile: {} bytes (256 entries); a full hash tile: 8 192 bytes",
        full_tile.len()
    );
    store.close().await;
    drop(on);
    let _ = std::fs::remove_dir_all(&dir);
}
