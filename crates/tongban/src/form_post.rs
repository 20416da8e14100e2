//! What the background deliveries to other parties share (back-channel logout tokens,
//! signing callbacks): an HTTP client that follows no redirect and gives up after
//! `TIMEOUT`, and one form post whose only success is a 2xx answer. The queues and
//! their back-off belong to the domain crates.

use std::time::Duration;

/// How often a delivery queue is looked at.
pub const POLL: Duration = Duration::from_millis(500);
/// How long the other party gets to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The client deliveries are posted with. A redirect is not followed: the party
/// registered its URL, and a redirect could send the token elsewhere.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Posts `field=value` as a form to `url`; the error says why it was not delivered,
/// naming the other party as `party`.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    field: &str,
    value: &str,
    party: &str,
) -> Result<(), String> {
    let response = http
        .post(url)
        .form(&[(field, value)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{party} answered {}", response.status()))
    }
}
