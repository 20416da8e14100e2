//! People, clients and their logins: registering a person with a password (and an
//! authenticator), valid resident ID numbers, TOTP codes as an app computes them, and
//! the authorization-code login (with PKCE and the second step) that ends in a token.

use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_identity::resident_id::ResidentId;
use tongban_identity::totp;

use super::{TestServer, csrf_of, query_param, repo_root, set_cookie};

/// The TOTP code of base32 `secret` at the current time step plus `offset_steps`, as
/// an authenticator app computes it (the crate's HOTP over the decoded secret).
#[allow(dead_code)]
pub fn totp_now(secret: &str, offset_steps: i64) -> String {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("a base32 secret");
    let step = totp::step_of(Timestamp::now().unix_millis() / 1000) + offset_steps;
    format!("{:06}", totp::hotp(&bytes, step as u64, totp::DIGITS))
}

/// The PKCE verifier test logins use.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The password the people of the suites' worlds log in with.
pub const PASSWORD: &str = "green mountains and blue seas";

/// Logs a person in at `portal` (authorization code with PKCE); returns their access
/// token. With the base32 secret of their authenticator, the login passes its second
/// factor too (level 3 on a registry-verified identity, as sealing needs).
pub async fn login_token(
    server: &TestServer,
    portal: &(String, String),
    redirect_uri: &str,
    scope: &str,
    resident_id: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", portal.0.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        (
            "code_challenge",
            &tongban_identity::secrets::s256_challenge(PKCE_VERIFIER),
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let form = server.get(&format!("/authorize?{query}")).await;
    let (login, flow, csrf) = password_login(server, form, resident_id, password).await;
    let login = match totp_secret {
        None => login,
        Some(secret) => {
            assert_eq!(login.status(), 200, "the second-factor step");
            server
                .client
                .post(format!("{}/login/otp", server.base))
                .header("cookie", format!("__Host-tongban-flow={flow}"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("code", &totp_now(secret, 0)),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let code = query_param(login.headers()["location"].to_str().unwrap(), "code").unwrap();
    let tokens: Value = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(&portal.0, Some(&portal.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// A client system's access token (client_credentials).
pub async fn client_token(server: &TestServer, id: &str, secret: &str) -> String {
    let tokens: Value = server
        .client
        .post(format!("{}/token", server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The TOTP key of the development KEK, as the test server uses.
pub fn dev_totp_key() -> totp::TotpKey {
    let kek = std::fs::read_to_string(repo_root().join("keys-dev/kek")).unwrap();
    totp::TotpKey::derive(&tongban_crypto::kek::Kek::from_base64(kek.trim()).unwrap())
}

/// Registers a person with a password. With `totp`, they are also registry-verified
/// and have a confirmed authenticator, so their logins reach level 3; its base32
/// secret is returned.
pub async fn person_with_login(
    tx: &mut tongban_store::Tx,
    resident_id: &str,
    password_hash: &str,
    totp: Option<&totp::TotpKey>,
) -> (tongban_identity::subjects::SubjectId, Option<String>) {
    let (person, secret, _) = person_with_codes(tx, resident_id, password_hash, totp).await;
    (person, secret)
}

/// Like [`person_with_login`], with the authenticator's one-time recovery codes (each
/// passes a second step once, where a TOTP code passes once per 30-second step).
pub async fn person_with_codes(
    tx: &mut tongban_store::Tx,
    resident_id: &str,
    password_hash: &str,
    totp: Option<&totp::TotpKey>,
) -> (
    tongban_identity::subjects::SubjectId,
    Option<String>,
    Vec<String>,
) {
    use tongban_identity::{identity_registry, sso, subjects, totp as otp};
    let now = Timestamp::now();
    let person = subjects::create_natural_person(
        tx,
        &subjects::NewNaturalPerson {
            name: "职员",
            resident_id,
            email: None,
            phone: None,
        },
        now,
    )
    .await
    .unwrap();
    sso::set_password_hash(tx, person, password_hash)
        .await
        .unwrap();
    let Some(key) = totp else {
        return (person, None, Vec::new());
    };
    identity_registry::import_csv(tx, &format!("职员,{resident_id}\n"), now)
        .await
        .unwrap();
    let enrolment = otp::enrol(tx, key, person, "staff", now).await.unwrap();
    let codes = otp::confirm(tx, key, person, &totp_now(&enrolment.secret, -1), now)
        .await
        .unwrap();
    (person, Some(enrolment.secret), codes)
}

/// A valid resident ID number for each `i` (GB 11643: region, birth date, sequence,
/// check character); the check character is the one the crate's parser accepts.
pub fn resident_id(i: usize) -> String {
    let birth = time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap()
        + time::Duration::days(i64::try_from(i / 999).unwrap());
    let base = format!(
        "110101{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        i % 999 + 1
    );
    "0123456789X"
        .chars()
        .map(|check| format!("{base}{check}"))
        .find(|id| id.parse::<ResidentId>().is_ok())
        .expect("one check character fits")
}

/// Posts the login form that `page` shows (its flow cookie and CSRF token) with a
/// password; returns the answer, the flow cookie and the CSRF token.
pub async fn password_login(
    server: &TestServer,
    page: reqwest::Response,
    identifier: &str,
    password: &str,
) -> (reqwest::Response, String, String) {
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let login = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", format!("__Host-tongban-flow={flow}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", identifier),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (login, flow, csrf)
}

/// Signs in with a password through `base`'s account page, as a browser does (the
/// form, then its post with the flow cookie and CSRF token): the login's answer, 303
/// with the session cookie when it worked. For the benchmarks, which count failures.
#[allow(dead_code)]
pub async fn form_login(
    http: &reqwest::Client,
    base: &str,
    identifier: &str,
    password: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    let page = http.get(format!("{base}/account")).send().await?;
    let flow = set_cookie(&page, "__Host-tongban-flow").unwrap_or_default();
    let csrf = csrf_of(&page.text().await?);
    http.post(format!("{base}/login"))
        .header("cookie", format!("__Host-tongban-flow={flow}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", identifier),
            ("password", password),
        ])
        .send()
        .await
}

/// Signs in with a password through the account page; returns the session cookie
/// (`__Host-tongban-session=…`).
pub async fn account_session(server: &TestServer, identifier: &str, password: &str) -> String {
    let page = server.get("/account").await;
    let (login, _, _) = password_login(server, page, identifier, password).await;
    assert_eq!(login.status(), 303);
    format!(
        "__Host-tongban-session={}",
        set_cookie(&login, "__Host-tongban-session").unwrap()
    )
}

/// What `tests/interop/oidc_rp.mjs` needs, made in `tx`: 李四 with a password (`LOGIN`,
/// `PASSWORD`) and two first-party portals A and B (`A_ID`, `A_SECRET`, `A_REDIRECT`,
/// `A_LOGGED_OUT`, the same for B), whose back-channel logout URIs are on the loopback
/// port the script listens on (`BACKCHANNEL_PORT`), as environment variables.
pub async fn relying_party_env(tx: &mut tongban_store::Conn) -> Vec<(String, String)> {
    use tongban_identity::clients::{self, NewClient};
    use tongban_identity::subjects::{self, NewNaturalPerson};
    const LOGIN: &str = "440308199901011234";
    const PASSWORD: &str = "a long and unusual passphrase";
    let person = NewNaturalPerson {
        name: "李四",
        resident_id: LOGIN,
        email: None,
        phone: None,
    };
    let li = subjects::create_natural_person(tx, &person, Timestamp::now())
        .await
        .unwrap();
    let hash = tongban_identity::password::Passwords::new()
        .unwrap()
        .hash(PASSWORD)
        .unwrap();
    tongban_identity::sso::set_password_hash(tx, li, &hash)
        .await
        .unwrap();
    let backchannel_port = super::free_port();
    let mut env = vec![
        ("LOGIN".to_owned(), LOGIN.to_owned()),
        ("PASSWORD".to_owned(), PASSWORD.to_owned()),
        ("BACKCHANNEL_PORT".to_owned(), backchannel_port.to_string()),
    ];
    for (prefix, host) in [("A", "a.example.gov.cn"), ("B", "b.example.gov.cn")] {
        let redirect = format!("https://{host}/callback");
        let logged_out = format!("https://{host}/logged-out");
        let new = NewClient {
            name: format!("Portal {prefix}"),
            confidential: true,
            redirect_uris: vec![redirect.clone()],
            post_logout_redirect_uris: vec![logged_out.clone()],
            backchannel_logout_uri: Some(format!(
                "http://127.0.0.1:{backchannel_port}/{prefix}/backchannel"
            )),
            scopes: vec!["openid".into(), "profile".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            first_party: true,
            ..NewClient::default()
        };
        let (client, secret) = clients::register(tx, &new, Timestamp::now()).await.unwrap();
        env.push((format!("{prefix}_ID"), client.id));
        env.push((format!("{prefix}_SECRET"), secret.unwrap()));
        env.push((format!("{prefix}_REDIRECT"), redirect));
        env.push((format!("{prefix}_LOGGED_OUT"), logged_out));
    }
    env
}
