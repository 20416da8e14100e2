//! OIDC interop: npm `openid-client` v6, unmodified, as a relying party of the real
//! server (tests/interop/oidc_rp.mjs). Run by `tests/interop/run`.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

use std::process::Command;

use support::TestServer;

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
    let mut envs = support::relying_party_env(&mut tx).await;
    envs.push(("ISSUER".to_owned(), issuer.clone()));
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
