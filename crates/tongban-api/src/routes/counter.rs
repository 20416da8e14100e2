//! The counter (线下窗口协办): a clerk's page for a person at the counter — the ID card
//! checked, a one-time code printed — and `/enrol`, where the person types it with their
//! ID number on their own phone and adds their first passkey (no session is made).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::counter::{self, CounterError};
use tongban_identity::{passkeys, sso};

use crate::extract::{ClientIp, PageForm};
use crate::problem::{ApiError, ProblemType};
use crate::routes::session_form::{CsrfProtected, SessionForm, signed_in};
use crate::state::AppState;
use crate::views::counter as view;
use crate::views::esign::Message;

use super::web::{self, set_cookie, store_page};

/// The counter page; without a session, to the account page's login.
#[utoipa::path(get, path = "/counter", tag = "account",
    responses(
        (status = 200, description = "the clerk's form", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page, which asks to sign in"),
        (status = 403, description = "not a counter clerk", content_type = "text/html"),
    ))]
pub async fn counter_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let prefs = web::prefs(&headers, None);
    let (session, cookie) = match signed_in(&state, &headers, Timestamp::now()).await {
        Ok(Some(found)) => found,
        Ok(None) => return web::see_other("/account"),
        Err(page) => return page,
    };
    let mut conn = match state.store.conn().await {
        Ok(conn) => conn,
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(&cookie);
    match counter::is_clerk(&mut conn, &session).await {
        Ok(true) => web::no_store(view::counter(
            prefs,
            (&csrf, true),
            "",
            None,
            StatusCode::OK,
        )),
        Ok(false) => {
            let message = Some(Message::error("counter-not-clerk"));
            let page = view::counter(prefs, (&csrf, false), "", message, StatusCode::FORBIDDEN);
            web::no_store(page)
        }
        Err(error) => store_page(error),
    }
}

/// The clerk's form.
#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf_token: String,
    hall: String,
    resident_id: String,
    name: String,
    #[serde(default)]
    method: String,
}

impl CsrfProtected for VerifyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The person's ID card was checked: recorded, and their one-time code printed.
#[utoipa::path(post, path = "/counter/verify", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, resident_id, name, method=id-card-seen|id-card-reader"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the slip with the person's one-time code", content_type = "text/html"),
        (status = 403, description = "not a counter clerk at level 3; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "no such registered person, or a field is invalid", content_type = "text/html"),
    ))]
pub async fn verify_in_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<VerifyForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let now = Timestamp::now();
    let done = state
        .store
        .transaction(async |tx| {
            let clerk = counter::clerk(tx, &session, &form.hall).await?;
            counter::verify_in_person(tx, &clerk, &form.resident_id, &form.name, &form.method, now)
                .await
        })
        .await;
    let (message, status) = match done {
        Ok(verified) => {
            let slip = view::counter_code(prefs, &verified, &state.public_url);
            return web::no_store(slip);
        }
        Err(CounterError::NotClerk) => ("counter-not-clerk", StatusCode::FORBIDDEN),
        Err(CounterError::UnknownPerson) => ("counter-unknown", StatusCode::UNPROCESSABLE_ENTITY),
        Err(CounterError::Protected) => ("counter-protected", StatusCode::FORBIDDEN),
        Err(CounterError::Invalid { .. }) => ("counter-invalid", StatusCode::UNPROCESSABLE_ENTITY),
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(&cookie);
    let clerk = message != "counter-not-clerk";
    let message = Some(Message::error(message));
    let page = view::counter(prefs, (&csrf, clerk), &form.hall, message, status);
    web::no_store(page)
}

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

/// Spends a counter code (with the person's ID number) and opens the enrolment of
/// their first passkey, on a page naming whose account it is. No session is made.
#[utoipa::path(post, path = "/enrol", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, resident_id, code"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "the passkey enrolment page", content_type = "text/html"),
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
    let person = counter::enrolment_of(&mut conn, &form.csrf_token, false, now)
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
    Ok(super::passkeys::options_response(ceremony))
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
            let person = counter::enrolment_of(tx, &form.csrf_token, true, now).await?;
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
        Ok(()) => web::no_store(view::enrol_done(prefs)),
        Err(CounterError::Code | CounterError::HasCredential) => web::expired_form(),
        Err(error) => store_page(error),
    }
}

/// The form for an authority set up at the counter.
#[derive(Deserialize)]
pub struct AuthorityForm {
    #[serde(default)]
    csrf_token: String,
    hall: String,
    principal_id: String,
    principal_name: String,
    delegate_id: String,
    delegate_name: String,
    #[serde(default)]
    matter_sign_in: String,
    #[serde(default)]
    matter_certificates: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    legal_basis: String,
}

impl CsrfProtected for AuthorityForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Sets up a relative's authority or a guardianship with both people at the counter.
#[utoipa::path(post, path = "/counter/authority", tag = "account",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, hall, principal_id, principal_name, delegate_id, delegate_name, matter_sign_in=yes, matter_certificates=yes, days, legal_basis"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed): an error page", content_type = "text/html"),
        (status = 200, description = "set up: the counter page with a notice", content_type = "text/html"),
        (status = 403, description = "not a counter clerk at level 3, or the person acted for is staff; or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "no such registered people, no matter, or a guardianship for an adult", content_type = "text/html"),
    ))]
pub async fn set_up_authority(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<AuthorityForm>,
) -> Response {
    use tongban_identity::delegation::DelegationError;
    use tongban_identity::delegation::at_counter::{self, CounterAuthority, Present};
    let prefs = web::prefs(&headers, None);
    let matters = super::relatives::ticked_matters(&form.matter_sign_in, &form.matter_certificates);
    let basis = form.legal_basis.trim();
    let authority = CounterAuthority {
        principal: Present {
            id_number: &form.principal_id,
            name: &form.principal_name,
        },
        delegate: Present {
            id_number: &form.delegate_id,
            name: &form.delegate_name,
        },
        matters: &matters,
        days: form.days.trim().parse().unwrap_or(0),
        legal_basis: (!basis.is_empty()).then_some(basis),
    };
    let now = Timestamp::now();
    let done = state
        .store
        .transaction(async |tx| {
            let clerk = counter::clerk(tx, &session, &form.hall)
                .await
                .map_err(|e| match e {
                    CounterError::Store(store) => DelegationError::Store(store),
                    _ => DelegationError::Level,
                })?;
            at_counter::set_up(tx, &clerk, &authority, now).await
        })
        .await;
    let (message, status) = match done {
        Ok(_) => (Message::news("counter-authority-done"), StatusCode::OK),
        Err(DelegationError::Level) => (Message::error("counter-not-clerk"), StatusCode::FORBIDDEN),
        Err(DelegationError::Staff) => (Message::error("counter-protected"), StatusCode::FORBIDDEN),
        Err(DelegationError::Store(error)) => return store_page(error),
        Err(_) => (
            Message::error("counter-authority-invalid"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let csrf = sso::session_csrf(&cookie);
    let clerk = message.id != "counter-not-clerk";
    let page = view::counter(prefs, (&csrf, clerk), &form.hall, Some(message), status);
    web::no_store(page)
}
