//! Routers by area, assembled with the middleware stack into the one application router.

mod account;
mod admin;
pub(crate) mod assets;
mod audit;
mod console;
mod counter;
mod docs;
mod document_verification;
mod ecerts;
mod esign;
mod health;
mod log;
mod logout;
mod oidc;
mod passkeys;
mod pki;
mod relatives;
mod reports;
mod seals;
mod session_form;
mod system;
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

use crate::middleware::{
    log_promise, observe, page_prefs, problem_fallback, request_id, security_headers, timeout,
};
use crate::openapi::{self, ApiDoc};
use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;
use utoipa::OpenApi;

/// Every documented route. The OpenAPI document is generated from this, so a route
/// cannot exist without its documentation. `document_limit` bounds the uploads of the
/// verification page (API routes that take documents read their bodies themselves).
pub(crate) fn documented(document_limit: usize) -> OpenApiRouter<AppState> {
    let (schemas, paths, verify_page) =
        routes!(document_verification::form, document_verification::upload);
    let verify_page = verify_page.layer(DefaultBodyLimit::max(document_limit));
    // Tile paths hold slashes: the route is a wildcard, which the documented path
    // cannot spell, so the tile route's documentation is merged in separately.
    OpenApiRouter::with_openapi(ApiDoc::openapi().merge_from(log::TileDoc::openapi()))
        .route("/log/tile/{*path}", axum::routing::get(log::tile))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(system::status))
        .routes(routes!(reports::csp))
        .routes(routes!(pki::ca_certificate))
        .routes(routes!(pki::crl))
        .routes(routes!(pki::timestamp))
        .routes(routes!(pki::jwks))
        .routes(routes!(oidc::discovery::discovery))
        .routes(routes!(oidc::authorize::authorize))
        .routes(routes!(oidc::login::login, oidc::login::login_page))
        .routes(routes!(oidc::consent::consent))
        .routes(routes!(oidc::acting::choose_actor))
        .routes(routes!(oidc::flow_time::time_left))
        .routes(routes!(oidc::flow_time::more_time))
        .routes(routes!(oidc::second_factor::second_factor))
        .routes(routes!(passkeys::passkey_login_options))
        .routes(routes!(passkeys::passkey_login))
        .routes(routes!(passkeys::passkey_enrol_options))
        .routes(routes!(passkeys::passkey_enrol))
        .routes(routes!(passkeys::passkey_remove))
        .routes(routes!(account::totp_enrol))
        .routes(routes!(account::totp_confirm))
        .routes(routes!(logout::start, logout::confirm))
        .routes(routes!(account::page))
        .routes(routes!(account::end_session))
        .routes(routes!(account::end_all))
        .routes(routes!(account::withdraw_consent))
        .routes(routes!(
            relatives::relatives_page,
            relatives::offer_relative
        ))
        .routes(routes!(relatives::answer_relative))
        .routes(routes!(relatives::end_relative))
        .routes(routes!(console::desk_page))
        .routes(routes!(console::audit::audit_page))
        .routes(routes!(console::audit::audit_export))
        .routes(routes!(console::people::people_page))
        .routes(routes!(console::people::console_deactivate_person))
        .routes(routes!(console::people::console_reactivate_person))
        .routes(routes!(console::people::console_reset_password))
        .routes(routes!(console::deliveries::deliveries_page))
        .routes(routes!(console::deliveries::console_retry_delivery))
        .routes(routes!(
            console::registry::registry_page,
            console::registry::console_preview_registry
        ))
        .routes(routes!(console::registry::console_import_registry))
        .routes(routes!(
            console::departments::departments_page,
            console::departments::console_create_department
        ))
        .routes(routes!(console::departments::staff_page))
        .routes(routes!(console::departments::console_add_staff))
        .routes(routes!(console::departments::console_remove_staff))
        .routes(routes!(
            console::seals::seals_page,
            console::seals::console_create_seal
        ))
        .routes(routes!(console::overview::overview_page))
        .routes(routes!(console::seals::seal_page))
        .routes(routes!(console::seals::usage_export))
        .routes(routes!(
            console::seal_image::seal_image,
            console::seal_image::console_seal_image
        ))
        // Their forms upload documents (a PDF to seal, a CSV batch).
        .routes(
            routes!(
                console::seal_pdf::seal_pdf_page,
                console::seal_pdf::console_seal_pdf
            )
            .layer(DefaultBodyLimit::max(document_limit)),
        )
        .routes(routes!(console::seals::console_grant_seal))
        .routes(routes!(console::seals::console_revoke_grant))
        .routes(routes!(console::seals::console_seal_status))
        .routes(routes!(
            console::clients::clients_page,
            console::clients::console_create_client
        ))
        .routes(routes!(console::certificates::certificates_page))
        .routes(routes!(
            console::certificates::issue_page,
            console::certificates::console_issue_certificate
        ))
        .routes(routes!(
            console::certificate_changes::console_certificate_status
        ))
        .routes(routes!(
            console::certificate_changes::reissue_page,
            console::certificate_changes::console_reissue_certificate
        ))
        .routes(routes!(console::certificate_types::type_page))
        .routes(routes!(console::certificate_types::console_define_type))
        // Their forms upload documents (a PDF to seal, a CSV batch).
        .routes(
            routes!(
                console::certificate_batches::batch_page,
                console::certificate_batches::console_submit_batch
            )
            .layer(DefaultBodyLimit::max(document_limit)),
        )
        .routes(routes!(console::certificate_batches::batch_template))
        .routes(routes!(console::certificate_batches::job_page))
        .routes(routes!(console::certificate_batches::job_progress))
        .routes(routes!(console::certificate_batches::job_errors))
        .routes(routes!(console::clients::console_rotate_secret))
        .routes(routes!(console::clients::console_disable_client))
        .routes(routes!(console::clients::console_enable_client))
        .routes(routes!(counter::counter_page))
        .routes(routes!(counter::verify_in_person))
        .routes(routes!(counter::set_up_authority))
        .routes(routes!(
            counter::enrol::enrol_page,
            counter::enrol::enrol_with_code
        ))
        .routes(routes!(counter::enrol::enrol_passkey_options))
        .routes(routes!(counter::enrol::enrol_passkey))
        .routes(routes!(counter::enrol::enrol_password))
        .routes(routes!(counter::assist::request_assist))
        .routes(routes!(counter::assist::assist_status))
        .routes(routes!(counter::assist::confirm_assist))
        .routes(routes!(ecerts::account::account_share))
        .routes(routes!(ecerts::account::account_pdf))
        .routes(routes!(ecerts::account::account_ofd))
        .routes(routes!(account::change_password))
        .routes(routes!(account::prefs))
        .routes(routes!(oidc::token::token))
        .routes(routes!(oidc::par::pushed_request))
        .routes(routes!(oidc::userinfo::userinfo))
        .routes(routes!(oidc::introspect::introspect))
        .routes(routes!(oidc::revoke::revoke))
        .routes(routes!(admin::create_department, admin::departments))
        .routes(routes!(admin::add_staff))
        .routes(routes!(admin::remove_staff))
        .routes(routes!(admin::end_agent))
        .routes(routes!(admin::create_person, admin::search_persons))
        .routes(routes!(admin::deactivate_person))
        .routes(routes!(admin::reactivate_person))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::create_legal_person))
        .routes(routes!(admin::link_agent))
        .routes(routes!(admin::create_client, admin::clients))
        .routes(routes!(admin::rotate_client_secret))
        .routes(routes!(admin::disable_client))
        .routes(routes!(admin::enable_client))
        .routes(routes!(admin::import_registry))
        .routes(routes!(admin::logout_deliveries))
        .routes(routes!(admin::retry_logout_delivery))
        .routes(routes!(audit::audit_events))
        .routes(routes!(audit::export_audit_events))
        .routes(routes!(seals::registry::create, seals::registry::list))
        .routes(routes!(seals::registry::set_status))
        .routes(routes!(seals::registry::history))
        .routes(routes!(seals::grants::grant, seals::grants::grants))
        .routes(routes!(seals::grants::revoke_grant))
        .routes(routes!(seals::sealing::cades_digests))
        .routes(routes!(seals::sealing::cades_file))
        .routes(routes!(seals::sealing::jws))
        .routes(routes!(seals::sealing::pades))
        .routes(routes!(seals::ses::eseal))
        .routes(routes!(seals::ses::digests))
        .routes(routes!(seals::ses::file))
        .routes(routes!(seals::ses::pdf))
        .routes(routes!(seals::ofd::seal))
        .routes(routes!(seals::registry::set_image, seals::registry::image))
        .routes(routes!(document_verification::api))
        .routes((schemas, paths, verify_page))
        .routes(routes!(seals::usage::usages))
        .routes(routes!(seals::usage::seal_log))
        .routes(routes!(ecerts::catalogue::define_type))
        .routes(routes!(ecerts::catalogue::types))
        .routes(routes!(ecerts::catalogue::add_issuer))
        .routes(routes!(ecerts::catalogue::choose_seal))
        .routes(routes!(ecerts::catalogue::choose_ofd_seal))
        .routes(routes!(ecerts::copies::department_copy))
        .routes(routes!(ecerts::issuance::issue, ecerts::lookup::lookup))
        .routes(routes!(ecerts::lookup::lookup_one))
        .routes(routes!(ecerts::lifecycle::set_certificate_status))
        .routes(routes!(ecerts::lifecycle::reissue))
        .routes(routes!(ecerts::status_lists::status_list))
        .routes(routes!(ecerts::wallet::my_certificates))
        .routes(routes!(
            ecerts::wallet::create_share,
            ecerts::wallet::shares
        ))
        .routes(routes!(ecerts::wallet::revoke_share))
        .routes(routes!(ecerts::wallet::accesses))
        .routes(routes!(ecerts::verification::verify_certificate))
        .routes(routes!(
            ecerts::verification::share_page,
            ecerts::verification::share_page_verify
        ))
        .routes(routes!(ecerts::jobs::submit_job))
        .routes(routes!(ecerts::jobs::job))
        .routes(routes!(ecerts::jobs::job_rows))
        .routes(routes!(ecerts::wallet::my_certificate_pdf))
        .routes(routes!(ecerts::wallet::my_certificate_ofd))
        .routes(routes!(ecerts::verification::status_page))
        .routes(routes!(log::checkpoint))
        .routes(routes!(log::key))
        .routes(routes!(log::checkpoint_at))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::consistency))
        .routes(routes!(log::cosign))
        .routes(routes!(esign::requests::create_signing_request))
        .routes(routes!(esign::requests::signing_request))
        .routes(routes!(esign::requests::signed_document))
        .routes(routes!(esign::requests::signing_request_collected))
        .routes(routes!(esign::csc::csc_info))
        .routes(routes!(esign::csc::csc_credentials_list))
        .routes(routes!(esign::csc::csc_credentials_info))
        .routes(routes!(esign::csc::csc_credentials_authorize))
        .routes(routes!(esign::csc::csc_sign_hash))
        .routes(routes!(
            esign::pages::signing_certificate_page,
            esign::pages::enrol_signing_certificate
        ))
        .routes(routes!(esign::pages::revoke_signing_certificate))
        .routes(routes!(
            esign::pages::sign_page_get,
            esign::pages::sign_or_decline
        ))
        .routes(routes!(esign::pages::sign_document))
        .routes(routes!(esign::pages::sign_passkey_options))
        .routes(routes!(esign::pages::sign_with_passkey))
        .routes(routes!(
            esign::certificates::admin_revoke_signing_certificate
        ))
}

/// The complete OpenAPI document as JSON.
pub fn openapi() -> serde_json::Value {
    let limit = tongban_core::config::HttpConfig::default().document_limit_bytes;
    let (_, api) = documented(limit).split_for_parts();
    openapi::finish(api)
}

/// The whole application: documented routes, the docs page, the fallback, and the
/// middleware stack.
pub fn router(state: AppState) -> Router {
    let (routes, api) = documented(state.http.document_limit_bytes).split_for_parts();
    let api = openapi::finish(api);
    routes
        .merge(docs::router(api))
        .route(
            "/static/tongban.css",
            axum::routing::get(assets::stylesheet),
        )
        .route(
            "/static/passkey.js",
            axum::routing::get(assets::passkey_script),
        )
        .route(
            "/static/timeout.js",
            axum::routing::get(assets::timeout_script),
        )
        .route(
            "/static/console.js",
            axum::routing::get(assets::console_script),
        )
        .route(
            "/static/seal-place.js",
            axum::routing::get(assets::seal_place_script),
        )
        .route(assets::PDFJS, axum::routing::get(assets::pdfjs))
        .route(
            assets::PDFJS_WORKER,
            axum::routing::get(assets::pdfjs_worker),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http.body_limit_bytes))
        .layer(from_fn_with_state(state.clone(), timeout::layer))
        .layer(from_fn_with_state(state.clone(), log_promise::layer))
        .layer(from_fn(problem_fallback::layer))
        .layer(from_fn(page_prefs::layer))
        .layer(from_fn(security_headers::layer))
        .layer(from_fn_with_state(state.metrics.clone(), observe::layer))
        .layer(from_fn(request_id::layer))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ProblemType::NotFound, "no resource at this path")
}
