//! The OpenAPI 3.1 document, generated from the routes and schemas in this crate.
//!
//! `tongban openapi` prints it (`crate::openapi()`), `/openapi.json` serves it, and a test compares it with
//! the checked-in `openapi/openapi.json`, so the contract cannot drift from the code.

use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::problem::{PROBLEM_JSON, ProblemType};

/// The static part of the document: metadata, tags, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tongban",
        description = "Public trust platform for digital government: unified identity \
            (OpenID Connect), e-certificates (电子证照) and e-seals (电子印章).\n\n\
            Every error is `application/problem+json` (RFC 9457) with a stable `type`; \
            the `Problem` schema lists them all.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "operations", description = "Health, readiness and metrics for operators."),
        (name = "system", description = "Facts about the instance; browser reports."),
        (name = "oidc", description = "OpenID Connect provider: discovery, authorize, login, token, userinfo."),
        (name = "account", description = "The account page for people (HTML forms with CSRF tokens): sessions, consents, password, language and care mode."),
        (name = "admin", description = "Platform administration (bearer token with scope `admin`): departments, persons, agents, staff, clients, registry entries."),
        (name = "console", description = "The console for department staff and platform administrators (HTML pages and forms with CSRF tokens, on the single sign-on session)."),
        (name = "audit", description = "The audit trail: all of it for platform administrators (scope `admin`), their departments' part for department administrators (scope `audit:read`)."),
        (name = "seals", description = "E-seals (电子印章): a department's seals, grants, sealing (CAdES B-T over digests or files, detached JWS) and the usage log."),
        (name = "ecerts", description = "E-certificates (电子证照): the catalogue, issuance (VC-JWT with Bitstring Status Lists), lifecycle, the holder's wallet and shares, verification, and department lookup with a stated purpose."),
        (name = "pki", description = "CA certificates, CRLs, the RFC 3161 time-stamp authority and the token signing keys (JWKS)."),
        (name = "signing", description = "Personal e-signatures (个人电子签名): signing requests from department systems and portals (scope `sign:request`), and the pages where a person reads and approves them."),
        (name = "csc", description = "Cloud Signature Consortium API v2 for signing applications acting for a person (their access token with scope `service`): credentials/list, credentials/info, credentials/authorize (password as PIN and authenticator code as OTP, bound to the hashes), signatures/signHash."),
        (name = "log", description = "The public transparency log of every issuance, status change, seal change and seal use: C2SP tlog-tiles (checkpoint, tiles, entry bundles), its note verifier key, and inclusion and consistency proofs (RFC 9162)."),
    ),
    components(schemas(crate::problem::Problem))
)]
pub(crate) struct ApiDoc;

/// A body of raw bytes (a PDF, a certificate, a time-stamp query): OpenAPI's
/// `type: string, format: binary`, not an array of numbers.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

/// Adds what the derive cannot express: the list of problem types on the `Problem`
/// schema, and a `default` problem+json response on every operation (any status an
/// operation does not list, such as 404, 405, 413, 500 or 503, comes as a problem).
pub(crate) fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    let types: Vec<Value> = ProblemType::ALL
        .iter()
        .map(|p| Value::String(p.uri()))
        .collect();
    let listing: String = ProblemType::ALL
        .iter()
        .map(|p| format!("\n- `{}` ({}): {}", p.uri(), p.status().as_u16(), p.title()))
        .collect();
    if let Some(type_property) = doc.pointer_mut("/components/schemas/Problem/properties/type") {
        *type_property = json!({
            "type": "string",
            "format": "uri",
            "description": format!(
                "Stable URI naming the kind of problem. New kinds may be added; \
                 existing ones never change meaning.{listing}"
            ),
            "examples": types,
        });
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| json!({}));
        if let Some(schemes) = schemes.as_object_mut() {
            schemes.insert(
                "bearer".to_owned(),
                json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "An access token from /token (RFC 9068 JWT)." }),
            );
        }
        let responses = components.entry("responses").or_insert_with(|| json!({}));
        if let Some(responses) = responses.as_object_mut() {
            responses.insert(
                "Problem".to_owned(),
                json!({
                    "description": "An error, as RFC 9457 problem details. 503 answers carry `Retry-After`.",
                    "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
                }),
            );
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                if let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                {
                    responses
                        .entry("default")
                        .or_insert_with(|| json!({ "$ref": "#/components/responses/Problem" }));
                }
            }
        }
    }
    doc
}
