//! A Rust relying party, the `openidconnect` crate (4.1, unmodified), against the real
//! server: discovery, authorization code + PKCE through the real login form, token
//! exchange, ID token validation against our JWKS, userinfo, refresh rotation and
//! reuse refusal, revocation, and single sign-on at a second client with another redirect URI.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use support::{TestServer, csrf_of, query_param, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::password::Passwords;
use tongban_identity::sso;
use tongban_identity::subjects::{self, NewNaturalPerson};

const PASSWORD: &str = "a long and unusual passphrase";

/// openidconnect's HTTP interface over our test client (no redirects followed).
async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(out.body(body).unwrap())
}

#[tokio::test]
async fn the_openidconnect_crate_logs_in_refreshes_revokes_and_gets_sso() {
    // The crate checks the issuer exactly, so the server must know its own URL.
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
        name: "王五",
        resident_id: "440308199901011234",
        email: None,
        phone: None,
    };
    let wang = subjects::create_natural_person(&mut tx, &person, Timestamp::now())
        .await
        .unwrap();
    let hash = Arc::new(Passwords::new().unwrap()).hash(PASSWORD).unwrap();
    sso::set_password_hash(&mut tx, wang, &hash).await.unwrap();
    let mut portals = Vec::new();
    for host in ["a.example.gov.cn", "b.example.gov.cn"] {
        let redirect = format!("https://{host}/callback");
        let new = NewClient {
            name: host.into(),
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
        portals.push((client.id, secret.unwrap(), redirect));
    }
    tx.commit().await.unwrap();

    let http = support::client();
    let http_client = |request| send(http.clone(), request);
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http_client)
            .await
            .unwrap();
    let rp = |index: usize| {
        let (id, secret, redirect) = &portals[index];
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(id.clone()),
            Some(ClientSecret::new(secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).unwrap())
    };
    let start = |client: &CoreClient<_, _, _, _, _, _>| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        (url.to_string(), state, nonce, verifier)
    };

    // Portal A: the login form, posted as a browser would.
    let portal_a = rp(0);
    let (url, state, nonce, verifier) = start(&portal_a);
    let form = http.get(&url).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let flow = set_cookie(&form, "__Host-tongban-flow").unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let signed_in = http
        .post(format!("{issuer}/login"))
        .header("cookie", format!("__Host-tongban-flow={flow}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("identifier", "440308199901011234"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = set_cookie(&signed_in, "__Host-tongban-session").unwrap();
    let back = signed_in.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query_param(&back, "code").unwrap();

    let tokens = portal_a
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let verifier_es256 = portal_a
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&verifier_es256, &nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.subject().as_str(), wang.to_string());
    assert_eq!(
        claims.auth_context_ref().map(|acr| acr.as_str()),
        Some("urn:tongban:acr:1")
    );
    // The checks are real: a verifier allowing only RS256, or another nonce, refuses.
    let rs256_only = portal_a
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let id_token = tokens.id_token().unwrap();
    assert!(id_token.claims(&rs256_only, &nonce).is_err());
    assert!(
        id_token
            .claims(&verifier_es256, &Nonce::new("another".into()))
            .is_err()
    );

    let info: CoreUserInfoClaims = portal_a
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());

    // Refresh rotates; the old refresh token is then refused; revocation ends the new
    // one.
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let rotated = portal_a
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http_client)
        .await
        .unwrap();
    let second_refresh = rotated.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert!(
        portal_a
            .exchange_refresh_token(&first_refresh)
            .unwrap()
            .request_async(&http_client)
            .await
            .is_err(),
        "a reused refresh token is refused"
    );
    let fresh_family = {
        let (url, _, _, verifier) = start(&portal_a);
        let sso = http
            .get(&url)
            .header("cookie", format!("__Host-tongban-session={session}"))
            .send()
            .await
            .unwrap();
        let code = query_param(sso.headers()["location"].to_str().unwrap(), "code").unwrap();
        portal_a
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http_client)
            .await
            .unwrap()
    };
    let to_revoke = fresh_family.refresh_token().unwrap().clone();
    // The crate sends revocation only over https (RFC 7009 §2); this server speaks
    // plain http in tests, so the request is made as the crate would make it.
    let (id, secret, _) = &portals[0];
    let revoked = http
        .post(format!("{issuer}/revoke"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("token", to_revoke.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(
        portal_a
            .exchange_refresh_token(&to_revoke)
            .unwrap()
            .request_async(&http_client)
            .await
            .is_err(),
        "a revoked refresh token is refused"
    );

    // Portal B, another redirect URI: the session alone yields a code (SSO).
    let portal_b = rp(1);
    let (url, state, nonce, verifier) = start(&portal_b);
    let sso = http
        .get(&url)
        .header("cookie", format!("__Host-tongban-session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sso.status(), 303);
    let back = sso.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("https://b.example.gov.cn/callback?"));
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let tokens_b = portal_b
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let verifier_b = portal_b
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims_b = tokens_b
        .id_token()
        .unwrap()
        .claims(&verifier_b, &nonce)
        .unwrap();
    assert_eq!(claims_b.subject(), claims.subject());
    server.stop().await;
}
