//! What the load benchmarks share: the release binary started on a fresh database with
//! an administration client, client_credentials tokens, and ring's raw ES256 rate.

#![allow(clippy::unwrap_used, dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The running binary; killed, and its scratch directory removed, when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tongban(envs: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tongban"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    for (k, v) in envs {
        command.env(k, v);
    }
    command
}

/// A memory figure of process `pid` from /proc/PID/status (`VmRSS`, resident now;
/// `VmHWM`, its peak), in MiB.
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// CPU time process `pid` has used so far (user and system, all threads), in seconds:
/// /proc counts it in USER_HZ ticks, 100 a second on Linux.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name, in parentheses, may hold spaces: fields count from after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are the 14th and 15th fields; the 3rd is the first after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// Starts the binary on `database` (a fresh SQLite file if none) with `extra`
/// settings, knowing its own URL; returns it with an admin client's id and secret.
pub async fn start(
    http: &reqwest::Client,
    database: Option<String>,
    extra: &[(&str, String)],
) -> (Server, String, String) {
    start_on(http, database, extra, None).await
}

/// Confines every thread of process `pid` to `cpus`, a CPU list as `taskset` reads it
/// ("1", "0-3"). Threads it starts later inherit it.
pub fn pin(pid: u32, cpus: &str) {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "taskset -c {cpus} {pid} failed");
}

/// As `start`, with the server confined to `cpus` (a `taskset` CPU list) from its first
/// instruction, so that its runtime starts one worker per core it may use.
pub async fn start_on(
    http: &reqwest::Client,
    database: Option<String>,
    extra: &[(&str, String)],
    cpus: Option<&str>,
) -> (Server, String, String) {
    // One scratch directory per server: a process may start several.
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tongban-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut envs = vec![
        (
            "TONGBAN_DATABASE_URL",
            database.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display())),
        ),
        ("TONGBAN_LISTEN", format!("127.0.0.1:{port}")),
        ("TONGBAN_PUBLIC_URL", base.clone()),
        ("TONGBAN_LOG_LEVEL", "warn".to_owned()),
    ];
    envs.extend(extra.iter().cloned());
    let created = tongban(&envs)
        .args([
            "admin",
            "client-create",
            "--name",
            "bench admin",
            "--grant",
            "client_credentials",
            "--scope",
            "admin",
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(created.status.success(), "client-create failed");
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    // BENCH_SERVER_WRAPPER runs the server under a profiler, e.g.
    // `heaptrack -o /tmp/heap` (what it measures then is the profiler's business);
    // `cpus` under taskset.
    let wrapper: Vec<String> = match (std::env::var("BENCH_SERVER_WRAPPER"), cpus) {
        (Ok(wrapper), _) if !wrapper.trim().is_empty() => {
            wrapper.split_whitespace().map(str::to_owned).collect()
        }
        (_, Some(cpus)) => vec!["taskset".to_owned(), "-c".to_owned(), cpus.to_owned()],
        _ => Vec::new(),
    };
    let mut serve = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(env!("CARGO_BIN_EXE_tongban"));
            command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
            command.envs(envs.iter().map(|(k, v)| (k, v)));
            command
        }
        None => tongban(&envs),
    };
    let child = serve
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: base.clone(),
        dir,
    };
    for _ in 0..1200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (
        server,
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// The `p`-quantile (0–1) of `sorted` values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A client_credentials token request.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// `POST path` with a JSON `body` by `bearer`; the JSON answer (null for 204), after
/// asserting the request succeeded.
pub async fn post_json(
    http: &reqwest::Client,
    base: &str,
    bearer: &str,
    path: &str,
    body: Value,
) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if !status.is_success() {
        panic!("{path}: {status} {}", r.text().await.unwrap_or_default());
    }
    if r.status() == 204 {
        Value::Null
    } else {
        r.json().await.unwrap()
    }
}

/// A client_credentials access token.
pub async fn access_token(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let tokens: Value = token(http, base, id, secret).await.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// ring ES256 signatures per second on all cores, for `secs`.
pub fn raw_es256(secs: f64) -> f64 {
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let pkcs8 = pkcs8.as_ref();
                scope.spawn(move || {
                    let rng = ring::rand::SystemRandom::new();
                    let key =
                        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                            .unwrap();
                    let started = Instant::now();
                    let mut n = 0;
                    while started.elapsed().as_secs_f64() < secs {
                        key.sign(&rng, b"header.payload").unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / secs
}

/// ring ES256 verifications per second on all cores, for `secs`, of the compact JWS
/// `jws` with the key of its `x5c` leaf: the very signature a verification of it
/// checks, the SHA-256 of its signing input (a header with the chain, the payload)
/// included.
pub fn raw_es256_verify(secs: f64, jws: &str) -> f64 {
    use base64::Engine as _;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signing_input, signature) = jws.rsplit_once('.').unwrap();
    let signature = url.decode(signature).unwrap();
    let header = signing_input.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&url.decode(header).unwrap()).unwrap();
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(header["x5c"][0].as_str().unwrap())
        .unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let public = leaf.public_key().subject_public_key.data.to_vec();
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public.as_slice());
    key.verify(signing_input.as_bytes(), &signature)
        .expect("the credential's own signature verifies");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (key, signature) = (&key, signature.as_slice());
                scope.spawn(move || {
                    let started = Instant::now();
                    let mut n = 0;
                    while started.elapsed().as_secs_f64() < secs {
                        key.verify(signing_input.as_bytes(), signature).unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / secs
}

/// The machine's CPU time so far, from `/proc/stat`: (stolen by the hypervisor, all).
pub fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    (ticks.get(7).copied().unwrap_or(0), ticks.iter().sum())
}

/// The share of CPU time the hypervisor took between two [`cpu_ticks`] readings, in
/// per cent: latency figures rise with it (seen here: 2 % to 16 % from run to run).
pub fn stolen_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let all = after.1.saturating_sub(before.1).max(1);
    after.0.saturating_sub(before.0) as f64 * 100.0 / all as f64
}
