//! Clients that hold a key, through the real router: a client authenticates with a
//! signed JWT (`private_key_jwt`, each `jti` once), and DPoP binds its tokens and codes
//! to its key, with server nonces and single-use proofs.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use serde_json::Value;
use support::sso_world::*;
use support::{PASSWORD, PKCE_VERIFIER, location, query_param, set_cookie};
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};

mod private_key_jwt {
    use super::*;
    use serde_json::json;
    use tongban_crypto::jose::{Jwk, sign_compact};
    use tongban_crypto::signer::{Algorithm, Signer, SoftwareKey};

    fn assertion(key: &SoftwareKey, client_id: &str, aud: &str, exp_in: i64, jti: &str) -> String {
        let now = Timestamp::now().unix_millis() / 1000;
        let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": jti,
                            "iat": now, "exp": now + exp_in});
        sign_compact(key, claims.to_string().as_bytes(), &serde_json::Map::new()).unwrap()
    }

    async fn with_assertion(
        w: &World,
        path: &str,
        form: &[(&str, &str)],
        jwt: &str,
    ) -> reqwest::Response {
        let mut fields = form.to_vec();
        fields.push((
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
        fields.push(("client_assertion", jwt));
        w.server
            .client
            .post(format!("{}{path}", w.server.base))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    async fn error_of(response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["error"].as_str().unwrap_or("").to_owned())
    }

    #[tokio::test]
    async fn a_client_authenticates_with_a_signed_jwt_once_per_jti() {
        let w = world().await;
        let key = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let mut tx = w.server.store().begin().await.unwrap();
        let new = NewClient {
            name: "Seal system".into(),
            confidential: true,
            scopes: vec!["seal:use".into()],
            grant_types: vec!["client_credentials".into()],
            jwks: Some(tongban_crypto::jose::Jwks {
                keys: vec![Jwk::from_public_key(key.public_key(), None)],
            }),
            ..NewClient::default()
        };
        let (client, secret) = clients::register(&mut tx, &new, Timestamp::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(secret.is_none(), "a key-authenticated client has no secret");
        let discovery: Value = w
            .server
            .get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .unwrap();
        let issuer = discovery["issuer"].as_str().unwrap().to_owned();
        let token_endpoint = format!("{issuer}/token");
        let grant = [("grant_type", "client_credentials")];

        let jwt = assertion(&key, &client.id, &token_endpoint, 60, "a-1");
        let ok = with_assertion(&w, "/token", &grant, &jwt).await;
        assert_eq!(ok.status(), 200);
        let access: Value = ok.json().await.unwrap();
        assert_eq!(access["scope"], "seal:use");
        assert_eq!(
            error_of(with_assertion(&w, "/token", &grant, &jwt).await).await,
            (401, "invalid_client".into()),
            "a replayed assertion"
        );
        // The issuer is an accepted audience too; other audiences, lifetimes beyond
        // five minutes, expired assertions and foreign keys are not.
        let by_issuer = assertion(&key, &client.id, &issuer, 60, "a-2");
        assert_eq!(
            with_assertion(&w, "/token", &grant, &by_issuer)
                .await
                .status(),
            200
        );
        let stranger = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let refused = [
            assertion(&key, &client.id, "https://other.example/token", 60, "a-3"),
            assertion(&key, &client.id, &token_endpoint, 3600, "a-4"),
            assertion(&key, &client.id, &token_endpoint, -120, "a-5"),
            assertion(&stranger, &client.id, &token_endpoint, 60, "a-6"),
            assertion(&key, "nobody", &token_endpoint, 60, "a-7"),
        ];
        for jwt in &refused {
            assert_eq!(
                error_of(with_assertion(&w, "/token", &grant, jwt).await).await,
                (401, "invalid_client".into())
            );
        }
        let unsigned = {
            let enc =
                |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let now = Timestamp::now().unix_millis() / 1000;
            format!(
                "{}.{}.",
                enc(json!({"alg": "none"})),
                enc(
                    json!({"iss": client.id, "sub": client.id, "aud": token_endpoint,
                           "jti": "a-8", "exp": now + 60})
                )
            )
        };
        assert_eq!(
            error_of(with_assertion(&w, "/token", &grant, &unsigned).await).await,
            (401, "invalid_client".into())
        );
        // No secret works for it.
        let secret_try = w
            .server
            .client
            .post(format!("{}/token", w.server.base))
            .basic_auth(&client.id, Some("guess"))
            .form(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(secret_try.status(), 401);
        // Introspection takes an assertion addressed to it.
        let introspect = format!("{issuer}/introspect");
        let jwt = assertion(&key, &client.id, &introspect, 60, "a-9");
        let info = with_assertion(
            &w,
            "/introspect",
            &[("token", access["access_token"].as_str().unwrap())],
            &jwt,
        )
        .await;
        assert_eq!(info.json::<Value>().await.unwrap()["active"], true);
        w.server.stop().await;
    }
}

mod dpop {
    use super::*;
    use serde_json::json;
    use tongban_crypto::jose::{Jwk, sign_compact};
    use tongban_crypto::signer::{Algorithm, Signer, SoftwareKey};

    fn proof(
        key: &SoftwareKey,
        method: &str,
        url: &str,
        nonce: Option<&str>,
        ath: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": tongban_identity::secrets::random_token(16).unwrap(),
            "htm": method,
            "htu": url,
            "iat": Timestamp::now().unix_millis() / 1000,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = ath {
            let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            claims["ath"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest));
        }
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert(
            "jwk".into(),
            serde_json::to_value(Jwk::from_public_key(key.public_key(), None)).unwrap(),
        );
        sign_compact(key, claims.to_string().as_bytes(), &header).unwrap()
    }

    /// The issuer's URL of `path` (proofs name the public URL, not the test socket).
    const ISSUER: &str = "http://localhost:8080";

    #[tokio::test]
    async fn dpop_binds_tokens_to_the_key_with_nonces_and_single_use_proofs() {
        let w = world().await;
        let key = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let (flow, csrf) = open_form(&w, &w.portal).await;
        let login = post_login(&w, &flow, Some(&csrf), PASSWORD).await;
        let code = query_param(&location(&login), "code").unwrap();
        let token_request = |proof: String| {
            w.server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret))
                .header("DPoP", proof)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", w.portal.redirect.as_str()),
                    ("code_verifier", PKCE_VERIFIER),
                ])
                .send()
        };
        // Without a nonce: use_dpop_nonce and the nonce to use (the code is not spent).
        let first = token_request(proof(&key, "POST", &format!("{ISSUER}/token"), None, None))
            .await
            .unwrap();
        assert_eq!(first.status(), 400);
        let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_eq!(
            first.json::<Value>().await.unwrap()["error"],
            "use_dpop_nonce"
        );
        // For another URL: refused.
        let elsewhere = token_request(proof(
            &key,
            "POST",
            "https://other.example/token",
            Some(&nonce),
            None,
        ))
        .await
        .unwrap();
        assert_eq!(
            elsewhere.json::<Value>().await.unwrap()["error"],
            "invalid_dpop_proof"
        );
        let tokens: Value = token_request(proof(
            &key,
            "POST",
            &format!("{ISSUER}/token"),
            Some(&nonce),
            None,
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(tokens["token_type"], "DPoP", "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(access.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["cnf"]["jkt"], key.public_key().thumbprint());
        assert_eq!(claims["acr"], "urn:tongban:acr:1");
        // Introspection tells a resource server of the binding (RFC 9449 §6.2).
        let introspected: Value = w
            .server
            .client
            .post(format!("{}/introspect", w.server.base))
            .basic_auth(&w.portal.id, Some(&w.portal.secret))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["token_type"], "DPoP");
        assert_eq!(introspected["cnf"]["jkt"], key.public_key().thumbprint());
        assert_eq!(introspected["acr"], "urn:tongban:acr:1");

        let userinfo = |scheme: &str, proof: Option<String>| {
            let mut request = w
                .server
                .client
                .get(format!("{}/userinfo", w.server.base))
                .header("authorization", format!("{scheme} {access}"));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request.send()
        };
        let url = format!("{ISSUER}/userinfo");
        // The bound token without its proof, or as a bearer token: refused.
        let bare = userinfo("Bearer", None).await.unwrap();
        assert_eq!(bare.status(), 401);
        assert!(
            bare.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("DPoP")
        );
        assert_eq!(userinfo("DPoP", None).await.unwrap().status(), 401);
        // With a proof by another key: refused.
        let stranger = SoftwareKey::ephemeral(Algorithm::Es256).unwrap();
        let foreign = userinfo(
            "DPoP",
            Some(proof(&stranger, "GET", &url, Some(&nonce), Some(&access))),
        )
        .await
        .unwrap();
        assert_eq!(foreign.status(), 401);
        // Without ath: refused.
        assert_eq!(
            userinfo("DPoP", Some(proof(&key, "GET", &url, Some(&nonce), None)))
                .await
                .unwrap()
                .status(),
            401
        );
        let good = proof(&key, "GET", &url, Some(&nonce), Some(&access));
        let ok = userinfo("DPoP", Some(good.clone())).await.unwrap();
        assert_eq!(ok.status(), 200);
        // The same proof twice: refused.
        assert_eq!(userinfo("DPoP", Some(good)).await.unwrap().status(), 401);

        // The refresh token is bound too: only a proof by the same key uses it.
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let refresh_with = |proof: Option<String>| {
            let mut request = w
                .server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ])
                .send()
        };
        let token_url = format!("{ISSUER}/token");
        assert_eq!(refresh_with(None).await.unwrap().status(), 400);
        assert_eq!(
            refresh_with(Some(proof(
                &stranger,
                "POST",
                &token_url,
                Some(&nonce),
                None
            )))
            .await
            .unwrap()
            .status(),
            400
        );
        let rotated: Value =
            refresh_with(Some(proof(&key, "POST", &token_url, Some(&nonce), None)))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(rotated["token_type"], "DPoP", "{rotated}");

        // A code bound to a key (dpop_jkt, RFC 9449 §10) is redeemed only with a proof
        // by that key.
        let jkt = key.public_key().thumbprint();
        let cookies = format!(
            "__Host-tongban-session={}",
            set_cookie(&login, "__Host-tongban-session").unwrap()
        );
        let bound_code = || async {
            let response = browser_get(
                &w,
                &authorize_url(&w.portal, &format!("&dpop_jkt={jkt}")),
                &cookies,
            )
            .await;
            query_param(&location(&response), "code").unwrap()
        };
        let redeem_with = |code: String, proof: Option<String>| {
            let mut request = w
                .server
                .client
                .post(format!("{}/token", w.server.base))
                .basic_auth(&w.portal.id, Some(&w.portal.secret));
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request
                .form(&[
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", w.portal.redirect.clone()),
                    ("code_verifier", PKCE_VERIFIER.to_owned()),
                ])
                .send()
        };
        let unproven = redeem_with(bound_code().await, None).await.unwrap();
        assert_eq!(
            unproven.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
        let foreign = redeem_with(
            bound_code().await,
            Some(proof(&stranger, "POST", &token_url, Some(&nonce), None)),
        )
        .await
        .unwrap();
        assert_eq!(
            foreign.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
        let proven = redeem_with(
            bound_code().await,
            Some(proof(&key, "POST", &token_url, Some(&nonce), None)),
        )
        .await
        .unwrap();
        assert_eq!(proven.status(), 200);
        w.server.stop().await;
    }
}
