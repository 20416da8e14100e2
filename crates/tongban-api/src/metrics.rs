//! Prometheus metrics: requests by method, route template and status, with a latency
//! histogram; database pool figures. Rendered in the text exposition format at
//! `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use tongban_store::PoolStats;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// Request metrics of this process.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<SeriesKey, Series>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let key = SeriesKey {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        // A poisoned lock only means another request panicked while counting; the
        // counts are still usable.
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        entry.buckets[slot] += 1;
    }

    /// The exposition text: request series, then the pool gauges and counters.
    pub fn render(&self, pool: &PoolStats, engine: &str) -> String {
        let mut out = String::new();
        let series = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        out.push_str("# HELP tongban_http_requests_total HTTP requests by method, route template and status.\n");
        out.push_str("# TYPE tongban_http_requests_total counter\n");
        for (key, s) in &series {
            let _ = writeln!(
                out,
                "tongban_http_requests_total{{{}}} {}",
                labels(key),
                s.count
            );
        }
        out.push_str("# HELP tongban_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE tongban_http_request_duration_seconds histogram\n");
        for (key, s) in &series {
            let labels = labels(key);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(s.buckets.iter()) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "tongban_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        let engine = format!("engine=\"{engine}\"");
        let gauges: [(&str, &str, &str, String); 6] = [
            (
                "tongban_db_pool_connections",
                "gauge",
                "Open database connections, idle or in use.",
                pool.size.to_string(),
            ),
            (
                "tongban_db_pool_idle_connections",
                "gauge",
                "Idle database connections.",
                pool.idle.to_string(),
            ),
            (
                "tongban_db_pool_max_connections",
                "gauge",
                "Configured pool size limit.",
                pool.max.to_string(),
            ),
            (
                "tongban_db_pool_acquires_total",
                "counter",
                "Connections or transactions handed out.",
                pool.acquired.to_string(),
            ),
            (
                "tongban_db_pool_wait_seconds_total",
                "counter",
                "Time spent waiting for a connection or transaction.",
                pool.wait_seconds.to_string(),
            ),
            (
                "tongban_db_pool_timeouts_total",
                "counter",
                "Waits for a connection that failed or timed out.",
                pool.timeouts.to_string(),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{engine}}} {value}"
            );
        }
        out
    }
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape(&key.method),
        escape(&key.route),
        key.status
    )
}

/// Label values escape backslash, double quote and newline (exposition format).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe_request("GET", "/healthz", 200, Duration::from_micros(500));
        m.observe_request("GET", "/healthz", 200, Duration::from_millis(30));
        m.observe_request("GET", "/healthz", 200, Duration::from_secs(20));
        let text = m.render(
            &PoolStats {
                size: 1,
                idle: 1,
                max: 5,
                acquired: 0,
                wait_seconds: 0.0,
                timeouts: 0,
            },
            "sqlite",
        );
        let l = "method=\"GET\",route=\"/healthz\",status=\"200\"";
        assert!(text.contains(&format!("tongban_http_requests_total{{{l}}} 3")));
        assert!(text.contains(&format!("_bucket{{{l},le=\"0.001\"}} 1")));
        assert!(text.contains(&format!("_bucket{{{l},le=\"0.05\"}} 2")));
        assert!(text.contains(&format!("_bucket{{{l},le=\"10\"}} 2")));
        assert!(text.contains(&format!("_bucket{{{l},le=\"+Inf\"}} 3")));
        assert!(text.contains("tongban_db_pool_max_connections{engine=\"sqlite\"} 5"));
    }
}
