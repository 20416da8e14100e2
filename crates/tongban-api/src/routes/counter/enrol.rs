//! `/enrol`: on their own phone, the person types the code printed at the counter with
//! their ID number, and adds their first passkey or sets a new password. No session is
//! made: the code opens that one thing.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::counter::{self, CounterError, Purpose};
use tongban_identity::passkeys;

use crate::extract::{ClientIp, PageForm};
use crate::problem::{ApiError, ProblemType};
use crate::routes::web::{self, set_cookie, store_page};
use crate::state::AppState;
use crate::views::counter as view;
use crate::views::esign::Message;

/// The cookie the `/enrol` form's token must match (no session exists there).
const ENROL_COOKIE: &str = "__Host-tongban-enrol";

/// Where the person types their ID number and the code from the counter.
#[utoipa::path(get, path = "/enrol", tag = "account",
    responses(
        (status = 200, description = "the code form", content_type = "text/html"),
    ))]
pub async fn enrol_page(headers: HeaderMap) -> Response {
    let prefs = web::prefs(&headers, None);
    let Ok(token) = tongban_identity::secrets::random_token(16) else {
        return store_page("no randomness");
    };
    let mut page = web::no_store(view::enrol(prefs, &token, None, StatusCode::OK));
    let cookie = set_cookie(ENROL_COOKIE, &token, counter::ENROLMENT_LIFETIME_MS / 1000);
    page.headers_mut().append(header::SET_COOKIE, cookie);
    page
}

/// The code form.
#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf_token: String,
    resident_id: String,
    code: String,
}

/// Spends a counter code (with the person's ID number) and opens what it is for — the
/// enrolment of their first passkey, or a new password — on a page naming whose
/// account it is. No session is made.
#[utoipa::path(post, path = "/enrol", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, resident_id, code"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the passkey enrolment page, or the new password form", content_type = "text/html"),
        (status = 401, description = "the code is wrong, used or expired, or not this ID number's", content_type = "text/html"),
        (status = 403, description = "the form's token does not match this browser's", content_type = "text/html"),
        (status = 409, description = "the account has a passkey or an authenticator already", content_type = "text/html"),
        (status = 429, description = "too many wrong codes for this ID number or from this address", content_type = "text/html"),
    ))]
pub async fn enrol_with_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<EnrolForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let ours = web::cookie(&headers, ENROL_COOKIE).is_some_and(|c| {
        !form.csrf_token.is_empty()
            && tongban_identity::secrets::constant_time_eq(&c, &form.csrf_token)
    });
    if !ours {
        return web::expired_form();
    }
    let mut tx = match state.store.begin().await {
        Ok(tx) => tx,
        Err(error) => return store_page(error),
    };
    let now = Timestamp::now();
    let opened = counter::start_enrolment(&mut tx, &form.resident_id, &form.code, ip, now).await;
    // A wrong code's count must stay: refusals commit too.
    if let Err(error) = tx.commit().await {
        return store_page(error);
    }
    let refused = |id, status| {
        let page = view::enrol(prefs, &form.csrf_token, Some(Message::error(id)), status);
        web::no_store(page)
    };
    match opened {
        Ok(enrolment) if enrolment.purpose == Purpose::Password => {
            web::no_store(view::enrol_password(
                prefs,
                &enrolment.name,
                &enrolment.token,
                None,
                StatusCode::OK,
            ))
        }
        Ok(enrolment) => web::no_store(view::enrol_passkey(
            prefs,
            &enrolment.name,
            &enrolment.token,
            StatusCode::OK,
        )),
        Err(CounterError::Code) => refused("enrol-wrong", StatusCode::UNAUTHORIZED),
        Err(CounterError::HasCredential) => refused("enrol-has-credential", StatusCode::CONFLICT),
        Err(CounterError::Throttled(throttled)) => web::with_retry_after(
            refused("enrol-too-many", StatusCode::TOO_MANY_REQUESTS),
            throttled.retry_after_secs,
        ),
        Err(error) => store_page(error),
    }
}

/// The enrolment page's form: its token.
#[derive(Deserialize)]
pub struct EnrolmentForm {
    #[serde(default)]
    csrf_token: String,
}

/// Passkey creation options for the person of an open enrolment.
#[utoipa::path(post, path = "/enrol/passkey/options", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token: the enrolment's token"),
    responses(
        (status = 200, description = "`ceremony` and WebAuthn `publicKey` creation options", body = Object),
        (status = 403, description = "no open enrolment with this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "passkeys are not available on this server", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol_passkey_options(
    State(state): State<AppState>,
    axum::Form(form): axum::Form<EnrolmentForm>,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let mut conn = state.store.conn().await?;
    let closed = || {
        ApiError::new(
            ProblemType::Forbidden,
            "the enrolment is closed: ask the counter for a new code",
        )
    };
    let person = counter::enrolment_of(&mut conn, &form.csrf_token, Purpose::Passkey, false, now)
        .await
        .map_err(|_| closed())?;
    let profile = tongban_identity::subjects::profile_of(&mut conn, &person.to_string())
        .await?
        .ok_or_else(closed)?;
    let user_name = profile
        .email
        .clone()
        .unwrap_or_else(|| profile.name.clone());
    let ceremony = passkeys::start_registration(
        &mut conn,
        &state.passkeys,
        person,
        &user_name,
        &profile.name,
        now,
    )
    .await?;
    Ok(crate::routes::passkeys::options_response(ceremony))
}

/// The enrolment page's passkey.
#[derive(Deserialize)]
pub struct EnrolPasskeyForm {
    #[serde(default)]
    csrf_token: String,
    ceremony: String,
    name: String,
    credential: String,
}

/// Adds the person's first passkey and closes the enrolment.
#[utoipa::path(post, path = "/enrol/passkey", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token (the enrolment's token), ceremony, name, credential"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "added: sign in with it", content_type = "text/html"),
        (status = 401, description = "the authenticator's answer did not verify", content_type = "text/html"),
        (status = 403, description = "no open enrolment with this token", content_type = "text/html"),
    ))]
pub async fn enrol_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<EnrolPasskeyForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let now = Timestamp::now();
    let added = state
        .store
        .transaction(async |tx| {
            let person =
                counter::enrolment_of(tx, &form.csrf_token, Purpose::Passkey, true, now).await?;
            let credential =
                serde_json::from_str(&form.credential).map_err(|_| CounterError::Code)?;
            passkeys::finish_registration(
                tx,
                &state.passkeys,
                person,
                &form.ceremony,
                &form.name,
                &credential,
                now,
            )
            .await
            .map_err(|_| CounterError::Code)?;
            Ok::<_, CounterError>(())
        })
        .await;
    match added {
        Ok(()) => web::no_store(view::enrol_done(prefs, Purpose::Passkey)),
        Err(CounterError::Code | CounterError::HasCredential) => web::expired_form(),
        Err(error) => store_page(error),
    }
}

/// The new password form.
#[derive(Deserialize)]
pub struct EnrolPasswordForm {
    #[serde(default)]
    csrf_token: String,
    new_password: String,
    confirm_password: String,
}

/// Sets the new password of the person of an open password enrolment, closes it and
/// signs the person out everywhere.
#[utoipa::path(post, path = "/enrol/password", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token (the enrolment's token), new_password, confirm_password"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "changed: sign in with it", content_type = "text/html"),
        (status = 403, description = "no open password enrolment with this token", content_type = "text/html"),
        (status = 422, description = "the new password breaks the policy or differs from its confirmation", content_type = "text/html"),
    ))]
pub async fn enrol_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<EnrolPasswordForm>,
) -> Response {
    use crate::views::Notice;
    use tongban_identity::account::AccountError;
    let prefs = web::prefs(&headers, None);
    let now = Timestamp::now();
    let token = form.csrf_token.as_str();
    let set = state
        .store
        .transaction(async |tx| {
            let (new, confirm) = (&form.new_password, &form.confirm_password);
            counter::reset_password(tx, &state.passwords, token, new, confirm, now).await
        })
        .await;
    let notice = match set {
        Ok(_) => return web::no_store(view::enrol_done(prefs, Purpose::Password)),
        Err(CounterError::Password(AccountError::Mismatch)) => Notice::Mismatch,
        Err(CounterError::Password(AccountError::Policy(reason))) => Notice::Policy(reason),
        Err(CounterError::Code) => return web::expired_form(),
        Err(error) => return store_page(error),
    };
    // The token is still open (nothing was written): the form again, with why.
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let name = match counter::enrolment_of(&mut conn, token, Purpose::Password, false, now).await {
        Ok(person) => tongban_identity::subjects::profile_of(&mut conn, &person.to_string())
            .await
            .ok()
            .flatten()
            .map(|p| p.name)
            .unwrap_or_default(),
        Err(_) => return web::expired_form(),
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    web::no_store(view::enrol_password(
        prefs,
        &name,
        token,
        Some(notice),
        status,
    ))
}
