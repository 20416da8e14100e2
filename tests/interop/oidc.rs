//! OIDC interop: npm `openid-client` v6, unmodified, as a relying party of the real
//! server (tests/interop/oidc_rp.mjs). Run by `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::Arc;

use support::TestServer;
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson};

#[tokio::test]
#[ignore = "interop: run by tests/interop/run"]
async fn openid_client_logs_in_refreshes_and_gets_single_sign_on() {
    // openid-client checks the issuer exactly, so the server must know its own URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = TestServer::start_with(|c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = issuer.clone();
    })
    .await;
    let mut tx = server.store().begin().await.unwrap();
    let person = NewNaturalPerson {
        name: "李四",
        resident_id: "440308199901011234",
        email: None,
        phone: None,
    };
    let li = subjects::create_natural_person(&mut tx, &person, Timestamp::now())
        .await
        .unwrap();
    let hash = Arc::new(Passwords::new().unwrap())
        .hash("a long and unusual passphrase")
        .unwrap();
    sso::set_password_hash(&mut tx, li, &hash).await.unwrap();
    let mut envs = vec![
        ("ISSUER".to_owned(), issuer.clone()),
        ("LOGIN".to_owned(), "440308199901011234".to_owned()),
        (
            "PASSWORD".to_owned(),
            "a long and unusual passphrase".to_owned(),
        ),
    ];
    for (prefix, host) in [("A", "a.example.gov.cn"), ("B", "b.example.gov.cn")] {
        let redirect = format!("https://{host}/callback");
        let new = NewClient {
            name: format!("Portal {prefix}"),
            confidential: true,
            redirect_uris: vec![redirect.clone()],
            scopes: vec!["openid".into(), "profile".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            first_party: true,
            ..NewClient::default()
        };
        let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
            .await
            .unwrap();
        envs.push((format!("{prefix}_ID"), client.id));
        envs.push((format!("{prefix}_SECRET"), secret.unwrap()));
        envs.push((format!("{prefix}_REDIRECT"), redirect));
    }
    tx.commit().await.unwrap();
    let script = support::repo_root().join("tests/interop/oidc_rp.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .envs(envs)
            .output()
            .expect("node is installed")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    assert!(output.status.success(), "{text}");
    server.stop().await;
}
