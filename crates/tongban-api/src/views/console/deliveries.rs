//! Back-channel logout deliveries in the console: which portals were told of a logout,
//! which are still being retried, which were given up (with a button to try again).

use tongban_core::time::Timestamp;
use tongban_identity::backchannel::DeliveryRecord;

use super::*;

struct DeliveryRow {
    id: String,
    client: String,
    failed: bool,
    state: String,
    attempts: i64,
    queued: String,
    next: String,
    error: String,
    retry_label: String,
}

struct StateOption {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console_deliveries.html")]
struct DeliveriesPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    chosen: &'a str,
    states: Vec<StateOption>,
    message: Option<Message>,
    rows: Vec<DeliveryRow>,
}

/// The deliveries (those in state `chosen` when not empty), newest first, each with
/// its portal's name from `names` (client id → name).
pub fn deliveries(
    prefs: Prefs,
    (csrf, chosen): (&str, &str),
    found: &[DeliveryRecord],
    names: &std::collections::HashMap<String, String>,
    message: Option<Message>,
) -> Response {
    let l = prefs.lang;
    let states = ["", "pending", "delivered", "failed"]
        .into_iter()
        .map(|value| StateOption {
            value,
            label: l.t(&format!(
                "deliveries-state-{}",
                if value.is_empty() { "any" } else { value }
            )),
            selected: value == chosen,
        })
        .collect();
    let rows = found
        .iter()
        .map(|d| {
            let client = names
                .get(&d.client_id)
                .cloned()
                .unwrap_or_else(|| d.client_id.clone());
            DeliveryRow {
                id: d.id.clone(),
                retry_label: l.t1("deliveries-retry-named", "client", &client),
                client,
                failed: d.state == "failed",
                state: l.t(&format!("deliveries-state-{}", d.state)),
                attempts: d.attempts,
                queued: when(Timestamp::from_unix_millis(d.created_at)),
                next: d
                    .next_attempt_at
                    .map(|at| when(Timestamp::from_unix_millis(at)))
                    .unwrap_or_default(),
                error: d.last_error.clone().unwrap_or_default(),
            }
        })
        .collect();
    let page = DeliveriesPage {
        l,
        shell: Shell::new(prefs, "/console/deliveries", "deliveries-title").wide(),
        csrf,
        chosen,
        states,
        message,
        rows,
    };
    render(StatusCode::OK, &page)
}
