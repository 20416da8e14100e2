//! A department's seals in the console, for its seal users (to see) and its seal and
//! department administrators (to manage): the seals, a new one, a seal's grants (given
//! to the department's seal users, taken back after a confirmation), its status
//! (suspended, resumed, revoked after a confirmation) and its usage log. Every act goes
//! through the seal domain's functions and checks, as the API's do.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_crypto::Algorithm;
use tongban_identity::console::{self, Desk};
use tongban_identity::sso;
use tongban_identity::subjects::DepartmentId;
use tongban_seal::SealError;
use tongban_seal::grants::{self, Grantee};
use tongban_seal::image;
use tongban_seal::permissions::{self, Actor};
use tongban_seal::registry::{self, SealId, SealKind, SealStatus};
use tongban_seal::sign::{self, UsageFilter};

use super::audit::day_start;
use super::{form_desk, open_desk, refused, refused_as};
use crate::extract::PageQuery;
use crate::prefs::Prefs;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{self as view, SealView, UsageFilters};
use crate::views::esign::Message;

/// The page for a refused seal act.
pub(crate) fn seal_refusal(prefs: Prefs, desk: &Desk, error: SealError) -> Response {
    let (id, status) = match &error {
        SealError::Denied(_) => ("console-not-allowed", StatusCode::FORBIDDEN),
        SealError::NotFound(_) => ("seals-unknown", StatusCode::NOT_FOUND),
        SealError::Invalid { .. } => ("seals-invalid", StatusCode::UNPROCESSABLE_ENTITY),
        SealError::Conflict(_) => ("seals-conflict", StatusCode::CONFLICT),
        _ => return store_page(error),
    };
    refused_as(prefs, Some(desk), id, status)
}

/// The seal an address names (`/console/seals/{id}…`). No page links to a malformed
/// id, so it is answered with the not-found page before the desk is looked up.
pub(crate) struct SealPath(pub SealId);

impl<S: Send + Sync> FromRequestParts<S> for SealPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        id.parse().map(Self).map_err(|_| {
            let prefs = web::prefs(&parts.headers, None);
            refused_as(prefs, None, "seals-unknown", StatusCode::NOT_FOUND)
        })
    }
}

/// The seals page's query.
#[derive(Deserialize, Default)]
pub struct SealsQuery {
    #[serde(default)]
    department: String,
    #[serde(default)]
    done: String,
}

/// A department's seals (the first of the person's departments unless one is named),
/// with the form for a new seal for those who manage them.
#[utoipa::path(get, path = "/console/seals", tag = "console",
    params(("department" = Option<String>, Query, description = "one of the person's departments")),
    responses(
        (status = 200, description = "the seals", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "no seal role in that department", content_type = "text/html"),
    ))]
pub async fn seals_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<SealsQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let posts = desk.seal_posts();
    let chosen = if query.department.is_empty() {
        posts.first().map(|p| p.department.id)
    } else {
        query.department.parse::<DepartmentId>().ok()
    };
    let Some(department) = chosen else {
        return refused(prefs, Some(&desk), &console::ConsoleError::NotAllowed);
    };
    let actor = Actor::console(session.subject, &session.acr);
    let seals = match registry::of_department(&mut conn, &actor, department).await {
        Ok(seals) => seals,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let message = (query.done == "created").then(|| Message::news("seals-done-created"));
    let csrf = sso::session_csrf(&cookie);
    let departments: Vec<_> = posts.iter().map(|p| &p.department).collect();
    let manages = desk.manages_seals_of(department);
    web::no_store(view::seals(
        prefs,
        (&csrf, manages),
        (&departments, department),
        &seals,
        message,
    ))
}

/// A new seal, as posted.
#[derive(Deserialize)]
pub struct NewSealForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    algorithm: String,
}

impl CsrfProtected for NewSealForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Creates a seal of the department: a new key and a certificate naming it.
#[utoipa::path(post, path = "/console/seals", tag = "console",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, department, kind, name, algorithm=ES256|SM2"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 303, description = "created: to the seal's page"),
        (status = 403, description = "not a seal or department administrator there, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "a field is invalid", content_type = "text/html"),
    ))]
pub async fn console_create_seal(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm { session, form, .. }: SessionForm<NewSealForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    let invalid = || SealError::Invalid {
        field: "form",
        reason: "kind, algorithm or department".into(),
    };
    let parsed = (
        form.department.parse::<DepartmentId>().ok(),
        SealKind::parse(&form.kind),
        match form.algorithm.as_str() {
            "SM2" => Some(Algorithm::Sm2),
            "ES256" | "" => Some(Algorithm::Es256),
            _ => None,
        },
    );
    let (Some(department), Some(kind), Some(algorithm)) = parsed else {
        return seal_refusal(prefs, &desk, invalid());
    };
    let actor = Actor::console(session.subject, &session.acr);
    let name = form.name.as_str();
    let created = state
        .store
        .transaction(async |tx| {
            registry::create(tx, &state.pki, &actor, department, kind, name, algorithm).await
        })
        .await;
    match created {
        Ok(seal) => web::see_other(&format!("/console/seals/{}?done=created", seal.id)),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}

/// What the last form on a seal's page did, and the usage log's filters.
#[derive(Deserialize, Default)]
pub struct SealQuery {
    #[serde(default)]
    done: String,
    /// Only this actor's uses (`subject:…` or `client:…`).
    #[serde(default)]
    actor: String,
    /// First day, `YYYY-MM-DD` (Beijing time).
    #[serde(default)]
    from: String,
    /// Last day, `YYYY-MM-DD` (Beijing time), included.
    #[serde(default)]
    until: String,
}

impl SealQuery {
    fn typed(&self) -> UsageFilters {
        UsageFilters {
            actor: self.actor.trim().to_owned(),
            from: self.from.trim().to_owned(),
            until: self.until.trim().to_owned(),
        }
    }
}

/// The usage log's filter from the days typed; `None` when a day is not one.
fn usage_filter(typed: &UsageFilters, limit: Option<i64>) -> Option<UsageFilter> {
    let day = |text: &str, next| -> Option<Option<Timestamp>> {
        if text.is_empty() {
            return Some(None);
        }
        Timestamp::parse_rfc3339(&day_start(text, next)).map(Some)
    };
    Some(UsageFilter {
        actor: (!typed.actor.is_empty()).then(|| typed.actor.clone()),
        from: day(&typed.from, false)?,
        until: day(&typed.until, true)?,
        limit,
        offset: None,
    })
}

/// The filters' query string.
fn usage_query(typed: &UsageFilters) -> String {
    let pairs = [
        ("actor", &typed.actor),
        ("from", &typed.from),
        ("until", &typed.until),
    ];
    let present: Vec<_> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}

/// A seal: its state, grants (with the form for a new one), status changes and usage
/// log.
#[utoipa::path(get, path = "/console/seals/{id}", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    responses(
        (status = 200, description = "the seal", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not of the seal's department", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
    ))]
pub async fn seal_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
    PageQuery(query): PageQuery<SealQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, cookie, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let actor = Actor::console(session.subject, &session.acr);
    let seal = match registry::find(&mut conn, seal_id).await {
        Ok(seal) => seal,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let grants = match grants::of_seal(&mut conn, &actor, seal_id).await {
        Ok(grants) => grants,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let typed = query.typed();
    let (usages, usage_error) = match usage_filter(&typed, Some(50)) {
        Some(filter) => match sign::usages(&mut conn, &actor, seal_id, &filter).await {
            Ok(usages) => (usages, false),
            Err(error) => return seal_refusal(prefs, &desk, error),
        },
        None => (Vec::new(), true),
    };
    let manages = desk.manages_seals_of(seal.department_id);
    let candidates = if manages {
        match grants::candidates(&mut conn, &actor, seal_id).await {
            Ok(found) => found,
            Err(error) => return seal_refusal(prefs, &desk, error),
        }
    } else {
        Vec::new()
    };
    // The grants above checked that the person may see the seal.
    let has_image = match image::uploaded(&mut conn, seal_id).await {
        Ok(uploaded) => uploaded,
        Err(error) => return seal_refusal(prefs, &desk, error),
    };
    let message = match query.done.as_str() {
        _ if usage_error => Some(Message::error("audit-invalid")),
        "image" => Some(Message::news("seals-done-image")),
        "created" => Some(Message::news("seals-done-created")),
        "granted" => Some(Message::news("seals-done-granted")),
        "ungranted" => Some(Message::news("seals-done-ungranted")),
        "status" => Some(Message::news("seals-done-status")),
        _ => None,
    };
    let csrf = sso::session_csrf(&cookie);
    let seal_view = SealView {
        seal: &seal,
        grants: &grants,
        candidates: &candidates,
        usages: &usages,
        usage_filters: &typed,
        export_href: format!(
            "/console/seals/{seal_id}/usages/export?{}",
            usage_query(&typed)
        ),
        manages,
        has_image,
        message,
    };
    web::no_store(view::seal(prefs, &csrf, seal_view))
}

/// A grant to a seal user of the department.
#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    staff_id: String,
    #[serde(default)]
    purpose_required: String,
}

impl CsrfProtected for GrantForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Grants the seal to a seal user of its department.
#[utoipa::path(post, path = "/console/seals/{id}/grants", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, staff_id, purpose_required=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 303, description = "granted: back to the seal"),
        (status = 403, description = "not a manager of the seal, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
        (status = 422, description = "not a seal user of the department", content_type = "text/html"),
    ))]
pub async fn console_grant_seal(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal): SealPath,
    SessionForm { session, form, .. }: SessionForm<GrantForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    drop(conn);
    let actor = Actor::console(session.subject, &session.acr);
    let grantee = Grantee::Staff(form.staff_id.trim().to_owned());
    let purpose = form.purpose_required == "yes";
    let granted = state
        .store
        .transaction(async |tx| grants::grant(tx, &actor, seal, &grantee, purpose, None).await)
        .await;
    match granted {
        Ok(()) => web::see_other(&format!("/console/seals/{seal}?done=granted")),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}

/// Taking a grant back (asked first).
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    confirm: String,
    /// For a status change: `active`, `suspended` or `revoked`.
    #[serde(default)]
    status: String,
    /// For a status change: why.
    #[serde(default)]
    reason: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Takes the seal back from a staff member (after a confirmation page): their next
/// use is refused.
#[utoipa::path(post, path = "/console/seals/{id}/grants/{staff_id}/revoke", tag = "console",
    params(
        ("id" = String, Path, description = "the seal's id"),
        ("staff_id" = String, Path, description = "the grantee's subject id"),
    ),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the seal"),
        (status = 403, description = "not a manager of the seal, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such seal or grant", content_type = "text/html"),
    ))]
pub async fn console_revoke_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, staff_id)): Path<(String, String)>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ConfirmForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(seal) = id.parse::<SealId>() else {
        return seal_refusal(prefs, &desk, SealError::NotFound("seal"));
    };
    let actor = Actor::console(session.subject, &session.acr);
    let grantee = Grantee::Staff(staff_id.clone());
    if form.confirm != "yes" {
        let found = match registry::find(&mut conn, seal).await {
            Ok(found) => found,
            Err(error) => return seal_refusal(prefs, &desk, error),
        };
        let candidates = match grants::candidates(&mut conn, &actor, seal).await {
            Ok(candidates) => candidates,
            Err(error) => return seal_refusal(prefs, &desk, error),
        };
        let name = candidates
            .iter()
            .find(|c| c.subject.to_string() == staff_id)
            .map_or(staff_id.as_str(), |c| c.name.as_str());
        let csrf = sso::session_csrf(&cookie);
        let action = format!("/console/seals/{seal}/grants/{staff_id}/revoke");
        let back = format!("/console/seals/{seal}");
        let page = view::confirm_ungrant(prefs, (&csrf, &action, &back), name, &found.name);
        return web::no_store(page);
    }
    drop(conn);
    let revoked = state
        .store
        .transaction(async |tx| grants::revoke(tx, &actor, seal, &grantee).await)
        .await;
    match revoked {
        Ok(()) => web::see_other(&format!("/console/seals/{seal}?done=ungranted")),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}

/// Suspends, resumes or revokes the seal (after a confirmation page). Revoking revokes
/// its certificate and is final.
#[utoipa::path(post, path = "/console/seals/{id}/status", tag = "console",
    params(("id" = String, Path, description = "the seal's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, status=active|suspended|revoked, reason, confirm=yes"),
    responses(
        (status = 400, description = "a form no page sends (a field missing or malformed, a path that is no id): an error page", content_type = "text/html"),
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the seal"),
        (status = 403, description = "not a manager of the seal, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
        (status = 409, description = "the seal is revoked", content_type = "text/html"),
        (status = 422, description = "no such status", content_type = "text/html"),
    ))]
pub async fn console_seal_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal): SealPath,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ConfirmForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, desk) = match form_desk(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(status) = SealStatus::parse(&form.status) else {
        let invalid = SealError::Invalid {
            field: "status",
            reason: "active, suspended or revoked".into(),
        };
        return seal_refusal(prefs, &desk, invalid);
    };
    let actor = Actor::console(session.subject, &session.acr);
    if form.confirm != "yes" {
        let found = match registry::find(&mut conn, seal).await {
            Ok(found) => found,
            Err(error) => return seal_refusal(prefs, &desk, error),
        };
        // The question names the seal: only for those who may change it.
        let allowed = permissions::may_manage(&mut conn, &actor, found.department_id).await;
        if let Err(error) = allowed {
            return seal_refusal(prefs, &desk, error);
        }
        let csrf = sso::session_csrf(&cookie);
        let action = format!("/console/seals/{seal}/status");
        let back = format!("/console/seals/{seal}");
        let page = view::confirm_seal_status(
            prefs,
            (&csrf, &action, &back),
            &found.name,
            (status, &form.reason),
        );
        return web::no_store(page);
    }
    drop(conn);
    let reason = (!form.reason.trim().is_empty()).then_some(form.reason.trim());
    let changed = state
        .store
        .transaction(async |tx| {
            registry::set_status(tx, &state.pki, &actor, seal, status, reason).await
        })
        .await;
    match changed {
        Ok(_) => web::see_other(&format!("/console/seals/{seal}?done=status")),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}

/// A seal's usage log as CSV, with the seal page's filters.
#[utoipa::path(get, path = "/console/seals/{id}/usages/export", tag = "console",
    params(
        ("id" = String, Path, description = "the seal's id"),
        ("actor" = Option<String>, Query, description = "only this actor's uses"),
        ("from" = Option<String>, Query, description = "first day, YYYY-MM-DD (Beijing time)"),
        ("until" = Option<String>, Query, description = "last day, YYYY-MM-DD (Beijing time), included"),
    ),
    responses(
        (status = 200, description = "the uses as CSV", content_type = "text/csv"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not of the seal's department", content_type = "text/html"),
        (status = 404, description = "no such seal", content_type = "text/html"),
        (status = 422, description = "a day is not a date, or too many uses match", content_type = "text/html"),
    ))]
pub async fn usage_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    SealPath(seal_id): SealPath,
    PageQuery(query): PageQuery<SealQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, session, _, desk) = match open_desk(&state, &headers, prefs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let Some(filter) = usage_filter(&query.typed(), None) else {
        let invalid = SealError::Invalid {
            field: "from",
            reason: "a day as YYYY-MM-DD".into(),
        };
        return seal_refusal(prefs, &desk, invalid);
    };
    let actor = Actor::console(session.subject, &session.acr);
    match sign::usages_csv(&mut conn, &actor, seal_id, &filter).await {
        Ok(csv) => web::no_store(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"seal-usages.csv\"",
                    ),
                ],
                csv,
            )
                .into_response(),
        ),
        Err(error) => seal_refusal(prefs, &desk, error),
    }
}
