//! The audit trail's filtered pages at size: 1 000 000 events (20 departments, 5 000
//! actors, a year of days, actions as common and as rare as the service writes them)
//! in a fresh database, then the page queries the console and
//! `GET /api/v1/audit-events` make — 50 events newest first — timed over 300 runs
//! each with random parameters: p50, p99 and the range, per filter (goal: p99 < 50 ms).
//!
//! `cargo bench -p tongban --bench audit_query` (SQLite in a temporary directory);
//! `TONGBAN_BENCH_DATABASE_URL=postgres://…/fresh_db` for PostgreSQL (an empty
//! database: the bench migrates it and fills it). `TONGBAN_BENCH_QUICK=1` uses 100 000
//! events. Prints figures; asserts only that pages came back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tongban_core::audit::AuditEvent;
use tongban_core::config::DatabaseConfig;
use tongban_core::time::Timestamp;
use tongban_store::Store;
use tongban_store::audit::{self, AuditFilter};

const DEPARTMENTS: usize = 20;
const ACTORS: usize = 5_000;
const RUNS: usize = 300;
const PAGE: i64 = 50;
const DAY_MS: i64 = 86_400_000;

/// Actions with their share in 10 000: issuance and seal uses dominate; lifecycle acts
/// are rare, and one is very rare (the worst case for a filter by action).
const ACTIONS: [(&str, u32); 8] = [
    ("ecert.issued", 4_600),
    ("seal.used", 4_000),
    ("ecert.accessed", 900),
    ("ecert.revoked", 300),
    ("staff.added", 100),
    ("seal.granted", 60),
    ("ecert.type_defined", 39),
    ("client.secret-rotated", 1),
];

/// A filter made afresh for each run, from the generator.
type Case = Box<dyn Fn(&mut Rng) -> AuditFilter>;

/// A small, seeded generator: the same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn action(rng: &mut Rng) -> &'static str {
    let mut pick = (rng.next() % 10_000) as u32;
    for (name, share) in ACTIONS {
        if pick < share {
            return name;
        }
        pick -= share;
    }
    ACTIONS[0].0
}

fn department(i: usize) -> String {
    format!("0193a000-0000-7000-8000-{i:012}")
}

fn actor(i: usize) -> String {
    format!("subject:0193b000-0000-7000-8000-{i:012}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

async fn fill(store: &Store, events: usize, now: i64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    for start in (0..events).step_by(10_000) {
        let batch: Vec<AuditEvent> = (start..(start + 10_000).min(events))
            .map(|n| {
                let mut event = AuditEvent::new(
                    &actor(rng.below(ACTORS)),
                    action(&mut rng),
                    Some(&format!("target-{}", rng.below(events / 4 + 1))),
                    None,
                    serde_json::json!({ "n": n }),
                )
                .in_department(department(rng.below(DEPARTMENTS)));
                // Spread over a year, oldest first as the service writes them.
                event.occurred_at = Timestamp::from_unix_millis(
                    now - 365 * DAY_MS + (n as i64) * (365 * DAY_MS / events as i64),
                );
                event
            })
            .collect();
        let mut tx = store.begin().await.unwrap();
        audit::record_all(&mut tx, &batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    println!(
        "filled {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let quick = std::env::var("TONGBAN_BENCH_QUICK").is_ok();
    let events = if quick { 100_000 } else { 1_000_000 };
    let dir = std::env::temp_dir().join(format!("tongban-audit-bench-{}", std::process::id()));
    let url = std::env::var("TONGBAN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/audit.db", dir.display()));
    let store = Store::connect(&DatabaseConfig {
        url: url.clone(),
        max_connections: 4,
        timeout_ms: 30_000,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    println!("engine: {}", store.engine().name());
    let now = Timestamp::now().unix_millis();
    fill(&store, events, now).await;
    // A live database has its statistics (autovacuum on PostgreSQL); a freshly filled
    // one is measured after the same.
    let mut conn = store.conn().await.unwrap();
    sqlx::query("ANALYZE audit_events")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let mut rng = Rng(42);
    let cases: Vec<(&str, Case)> = vec![
        (
            "everything (platform administrator), first page",
            Box::new(|_| AuditFilter::default()),
        ),
        (
            "one department",
            Box::new(|r| AuditFilter {
                departments: Some(vec![department(r.below(DEPARTMENTS))]),
                ..AuditFilter::default()
            }),
        ),
        (
            "one department, action prefix seal.*",
            Box::new(|r| AuditFilter {
                departments: Some(vec![department(r.below(DEPARTMENTS))]),
                action: Some("seal.".into()),
                action_prefix: true,
                ..AuditFilter::default()
            }),
        ),
        (
            "one department, a rare action (ecert.type_defined)",
            Box::new(|r| AuditFilter {
                departments: Some(vec![department(r.below(DEPARTMENTS))]),
                action: Some("ecert.type_defined".into()),
                ..AuditFilter::default()
            }),
        ),
        (
            "one department, a week a month ago",
            Box::new(move |r| AuditFilter {
                departments: Some(vec![department(r.below(DEPARTMENTS))]),
                from: Some(Timestamp::from_unix_millis(now - 37 * DAY_MS)),
                until: Some(Timestamp::from_unix_millis(now - 30 * DAY_MS)),
                ..AuditFilter::default()
            }),
        ),
        (
            "one actor (all departments)",
            Box::new(|r| AuditFilter {
                actor: Some(actor(r.below(ACTORS))),
                ..AuditFilter::default()
            }),
        ),
        (
            "one target",
            Box::new(|r| AuditFilter {
                target: Some(format!("target-{}", r.below(1_000))),
                ..AuditFilter::default()
            }),
        ),
        (
            "the rarest action, all departments",
            Box::new(|_| AuditFilter {
                action: Some("client.secret-rotated".into()),
                ..AuditFilter::default()
            }),
        ),
    ];
    println!(
        "{:<55} {:>9} {:>9} {:>9} {:>9}  (ms, {RUNS} runs, {PAGE} per page)",
        "filter", "p50", "p99", "min", "max"
    );
    for (name, make) in &cases {
        let mut times = Vec::with_capacity(RUNS);
        let mut rows = 0;
        for run in 0..RUNS {
            let mut filter = make(&mut rng);
            let mut conn = store.conn().await.unwrap();
            let started = Instant::now();
            let page = audit::search(&mut conn, &filter, PAGE).await.unwrap();
            // Every other run reads the next page too, through the cursor.
            if run % 2 == 1
                && let Some(last) = page.last()
            {
                filter.before = Some((last.occurred_at, last.id));
                let next = audit::search(&mut conn, &filter, PAGE).await.unwrap();
                rows += next.len();
            }
            times.push(
                started.elapsed().as_secs_f64() * 1000.0 / if run % 2 == 1 { 2.0 } else { 1.0 },
            );
            rows += page.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<55} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  ({rows} rows read)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[0],
            times[times.len() - 1],
        );
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
